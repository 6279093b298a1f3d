"""Read tidy tables back out of the store for the engines; every suppressed value comes back NaN."""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import select

from sf_benefits.store.db import Store
from sf_benefits.store.schema import (
    boundary_change,
    local_authority,
    observation,
    statistical_neighbour,
)

TOTAL_VALUES = re.compile(r"^(total|all( .*)?|england)$", re.IGNORECASE)

CLA_COUNT = ("children_count", "population_type")
"""DfE's CLA numbers file: the count column and the filter naming which population it counts."""
CLA_POPULATION_COUNTS = {
    "cla_31_march": "Children looked after on 31 March each year",
    "starts": "Children starting to be looked after each year",
    "ceases": "Children ceasing to be looked after each year",
}
CLA_31_MARCH_DATASET = "31_march"
"""Part of the name of DfE's file of CLA at 31 March by characteristics (placement among them),
preferred over other files (e.g. starts) that also break counts down by placement."""
PLACEMENT_CHARACTERISTICS: dict[str, tuple[str, ...]] = {
    "foster": ("foster placements",),
    "childrens_homes_secure": ("secure units, children's homes", "secure homes and children's homes",
                               "secure units and children's homes"),
    "other_residential": ("other residential settings",),
    "placed_with_parents": ("placed with parents",),
    "independent_living": ("independent and semi-independent living", "independent living",
                           "semi-independent living", "supported accommodation",
                           "other placements in the community"),
    "placed_for_adoption": ("placed for adoption",),
    "other": ("residential schools", "other placements", "placement details not known",
              "missing", "other placement"),
}
"""DfE `characteristic` values (lower-case prefixes) of the `Placement` group, by placement type."""


def local_authorities(store: Store) -> pd.DataFrame:
    """Every LA in the store with codes, name, region and the years it appears in the data."""
    with store.engine.connect() as conn:
        return pd.read_sql(select(local_authority).order_by(local_authority.c.la_name), conn)


def boundary_changes(store: Store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        return pd.read_sql(select(boundary_change), conn)


def statistical_neighbours(store: Store, la_code: str, model: str | None = None) -> tuple[str, list[str]]:
    """The LA's neighbours in rank order under `model` (default: the newest model loaded)."""
    with store.engine.connect() as conn:
        frame = pd.read_sql(select(statistical_neighbour).where(
            statistical_neighbour.c.la_code == la_code), conn)
    if frame.empty:
        return model or "", []
    model = model or sorted(frame["model"].unique())[-1]
    chosen = frame[frame["model"] == model].sort_values("rank")
    return model, list(chosen["neighbour_code"])


def neighbour_models(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(pd.read_sql(select(statistical_neighbour.c.model).distinct(), conn)["model"])


def observations(store: Store, indicators: list[str]) -> pd.DataFrame:
    """All stored observations of the named indicator columns, with breakdowns parsed to dicts."""
    query = select(observation.c.dataset, observation.c.year, observation.c.geographic_level,
                   observation.c.area_code, observation.c.breakdown, observation.c.indicator,
                   observation.c.value, observation.c.status).where(
        observation.c.indicator.in_(indicators))
    with store.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["value"] = frame["value"].astype(float)
    return frame


def parse_breakdown(breakdown: str) -> dict[str, str]:
    if not breakdown:
        return {}
    return dict(part.split("=", 1) for part in breakdown.split("|"))


def select_rows(frame: pd.DataFrame, names: list[str], where: dict[str, str] | None = None,
                any_of: dict[str, list[str]] | None = None,
                datasets: tuple[str, ...] = (),
                contains: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of the first indicator name present whose breakdown matches `where`/`any_of`/
    `contains` and whose other filters are at their total; one value per year and area. Where
    files whose names contain one of `datasets` carry the indicator, only those are read."""
    where = {k: v.lower() for k, v in (where or {}).items()}
    any_of = {k: [v.lower() for v in vs] for k, vs in (any_of or {}).items()}
    contains = {k: v.lower() for k, v in (contains or {}).items()}
    named = where.keys() | any_of.keys() | contains.keys()

    def matches(breakdown: str) -> bool:
        filters = {k: v.lower() for k, v in parse_breakdown(breakdown).items()}
        return all(filters.get(k) == v for k, v in where.items()) and all(
            filters.get(k) in vs for k, vs in any_of.items()) and all(
            v in filters.get(k, "") for k, v in contains.items()) and all(
            bool(TOTAL_VALUES.match(v)) for k, v in filters.items() if k not in named)

    for name in names:
        rows = frame[frame["indicator"] == name]
        if rows.empty:
            continue
        preferred = rows[rows["dataset"].map(lambda d: any(part in d for part in datasets))]
        rows = preferred if not preferred.empty else rows
        verdict = {b: matches(b) for b in rows["breakdown"].unique()}
        matched = rows[rows["breakdown"].map(verdict).astype(bool)]
        if not matched.empty:
            return matched.sort_values("dataset").drop_duplicates(
                ["year", "geographic_level", "area_code"], keep="last")
    return frame.iloc[0:0]


DFE_POPULATION = ("population_estimate", CLA_POPULATION_COUNTS["cla_31_march"])
"""The 0–17 population DfE publishes beside its CLA rates (ONS mid-year estimate, year before)."""
ONS_CHILDREN = ("population_estimate", "age_group", "Children aged 0 to 17 years", "ons_mid-year")
"""The ONS mid-year estimate of children aged 0–17 as DfE republishes it (indicator, filter,
value, part of the file name)."""


def child_population(frame: pd.DataFrame) -> pd.DataFrame:
    """Children aged 0–17 behind each 31 March's per-10,000 rates: the ONS mid-year estimate of
    the year before, as DfE uses; DfE's own published figure where ONS has none (e.g. counties
    when only district-level ONS files are loaded)."""
    keys = ["year", "geographic_level", "area_code"]
    published = select_rows(frame, [DFE_POPULATION[0]], {CLA_COUNT[1]: DFE_POPULATION[1]})
    ons = pd.concat([frame[frame["indicator"] == "population_0_17"], select_rows(
        frame, [ONS_CHILDREN[0]], {ONS_CHILDREN[1]: ONS_CHILDREN[2]}, datasets=(ONS_CHILDREN[3],))]
                    ).assign(year=lambda f: f["year"] + 1)
    both = pd.concat([ons[keys + ["value"]], published[keys + ["value"]]], ignore_index=True)
    both = both.dropna(subset=["value"]).drop_duplicates(keys, keep="first")
    return both.rename(columns={"value": "population"})


def care_history(store: Store, la_codes: list[str] | None = None) -> pd.DataFrame:
    """CLA at 31 March (total and by placement), starts, ceases and population aged 0–17 per LA
    and year, as the projection engines expect: la_code, year, measure, placement, value.
    A renamed LA's series runs on from its predecessor; a split or merged LA's starts at formation."""
    frame = observations(store, ["number", CLA_COUNT[0], "population_0_17", DFE_POPULATION[0]])
    frame = frame[frame["geographic_level"] == "Local authority"]
    frame = continuous_series(frame, boundary_changes(store))
    if la_codes is not None:
        frame = frame[frame["area_code"].isin(la_codes)]
    parts = []
    for measure, count in CLA_POPULATION_COUNTS.items():
        rows = select_rows(frame, [CLA_COUNT[0]], {CLA_COUNT[1]: count})
        parts.append(rows.assign(measure=measure, placement="all"))
    placement_rows = frame[(frame["indicator"] == "number")
                           & frame["breakdown"].str.contains("cla_group=Placement", regex=False)]
    at_31_march = placement_rows[placement_rows["dataset"].str.contains(CLA_31_MARCH_DATASET)]
    placement_rows = at_31_march if not at_31_march.empty else placement_rows
    if not placement_rows.empty:
        characteristic = placement_rows["breakdown"].map(
            lambda b: parse_breakdown(b).get("characteristic", "").lower())
        placement = characteristic.map(_placement_of)
        mapped = placement_rows.assign(placement=placement).dropna(subset=["placement"])
        summed = (mapped.groupby(["area_code", "year", "placement"])["value"]
                  .sum(min_count=1).reset_index())
        parts.append(summed.assign(measure="cla_31_march"))
    population = child_population(frame).assign(year=lambda f: f["year"] - 1)
    parts.append(population.rename(columns={"population": "value"}).assign(
        measure="population_0_17", placement="all"))
    history = pd.concat(parts, ignore_index=True).rename(columns={"area_code": "la_code"})
    return (history[["la_code", "year", "measure", "placement", "value"]]
            .sort_values(["la_code", "measure", "placement", "year"]).reset_index(drop=True))


def _placement_of(characteristic: str) -> str | None:
    for placement, prefixes in PLACEMENT_CHARACTERISTICS.items():
        if characteristic.startswith(prefixes):
            return placement
    return None


class BoundaryChangeError(ValueError):
    """A series was asked to cross a reorganisation that changed the area, so it cannot be joined."""


def continuous_series(values: pd.DataFrame, changes: pd.DataFrame,
                      code_column: str = "area_code") -> pd.DataFrame:
    """Relabel a renamed LA's predecessor rows with the successor's code, so its series joins up;
    where a publisher already gives the successor a figure for that year, that figure wins.
    Splits and merges are left apart: their earlier years describe a different area."""
    renames = changes[changes["kind"] == "rename"]
    if renames.empty:
        return values
    out = values.copy()
    out["_relabelled"] = False
    for change in renames.itertuples():
        before = (out[code_column] == change.predecessor_code) & (out["year"] < change.first_year)
        out.loc[before, code_column] = change.successor_code
        out.loc[before, "_relabelled"] = True
    keys = [c for c in out.columns if c not in {"value", "status", "_relabelled"}]
    out = out.sort_values("_relabelled", kind="stable").drop_duplicates(keys, keep="first")
    return out.sort_index().drop(columns="_relabelled")


def series_break(changes: pd.DataFrame, la_code: str) -> str | None:
    """Why the LA's series cannot go back before its formation, or None if nothing stops it."""
    rows = changes[(changes["successor_code"] == la_code) & (changes["kind"] != "rename")]
    if rows.empty:
        return None
    first = int(rows["first_year"].min())
    return (f"series starts in {first}: {rows['note'].iloc[0]}; earlier figures describe a "
            "different area and are not joined")


def require_continuous(changes: pd.DataFrame, la_code: str, from_year: int) -> None:
    """Refuse a request for years before an LA existed when its area changed at formation."""
    rows = changes[(changes["successor_code"] == la_code) & (changes["kind"] != "rename")]
    if not rows.empty and from_year < int(rows["first_year"].min()):
        raise BoundaryChangeError(series_break(changes, la_code))
