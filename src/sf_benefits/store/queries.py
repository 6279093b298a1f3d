"""Read tidy tables back out of the store for the engines; every suppressed value comes back NaN."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Select, and_, exists, or_, select

from sf_benefits.store.care_series import SOURCE_INDICATORS, CareSeries, stitch_care_series
from sf_benefits.store.db import Store
from sf_benefits.store.embedded import data_version as data_version
from sf_benefits.store.embedded import series_break_in
from sf_benefits.store.embedded import statistical_neighbours as statistical_neighbours
from sf_benefits.store.schema import (
    boundary_change,
    data_load,
    local_authority,
    observation,
    observation_series,
    statistical_neighbour,
)
from sf_benefits.store.tidy import TOTAL_VALUES, parse_breakdown
from sf_benefits.store.tidy import continuous_series as continuous_series

CLA_COUNT = ("children_count", "population_type")
"""DfE's CLA numbers file: the count column and the filter naming which population it counts."""
CLA_POPULATION_COUNTS = {
    "cla_31_march": "Children looked after on 31 March each year",
    "starts": "Children starting to be looked after each year",
    "ceases": "Children ceasing to be looked after each year",
}


SERIES = observation_series.c
OBSERVATION_COLUMNS = (SERIES.dataset, observation.c.year, SERIES.geographic_level,
                       observation.c.area_code, SERIES.breakdown, SERIES.indicator,
                       observation.c.value, observation.c.status)
"""An observation as the engines read it: its series' dataset, level, breakdown and indicator
beside its own area, year, value and status."""
OBSERVATIONS = observation.join(observation_series, observation.c.series_id == SERIES.id)


def local_authorities(store: Store) -> pd.DataFrame:
    """Every LA in the store with codes, name, region and the years it appears in the data."""
    with store.engine.connect() as conn:
        return pd.read_sql(select(local_authority).order_by(local_authority.c.la_name), conn)


def boundary_changes(store: Store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        return pd.read_sql(select(boundary_change), conn)


def neighbour_models(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(pd.read_sql(select(statistical_neighbour.c.model).distinct(), conn)["model"])


def observations(store: Store, indicators: list[str]) -> pd.DataFrame:
    """All stored observations of the named indicator columns."""
    return _observations(store, SERIES.indicator.in_(indicators))


def stored_series(store: Store, indicators: list[str]) -> pd.DataFrame:
    """Every series of the named indicator columns that holds an observation (series_id, dataset,
    geographic_level, breakdown, indicator): what `select_rows` chooses among, without the rows."""
    query = select(SERIES.id.label("series_id"), SERIES.dataset, SERIES.geographic_level,
                   SERIES.breakdown, SERIES.indicator).where(
        SERIES.indicator.in_(indicators),
        exists().where(observation.c.series_id == SERIES.id)).order_by(SERIES.id)
    with store.engine.connect() as conn:
        return read_frame(conn, query)


def series_observations(store: Store, series_ids: list[int]) -> pd.DataFrame:
    """The stored observations of the given series, as `observations` reads them (in its order),
    each with its series_id."""
    return _observations(store, SERIES.id.in_(series_ids), SERIES.id.label("series_id"))


def _observations(store: Store, which: ColumnElement[bool],
                  *more: ColumnElement[Any]) -> pd.DataFrame:
    """The observations of the series `which` picks, with `more` columns, in one order whatever
    is asked, so that the rows of some series come in the order they have among all."""
    query = select(*OBSERVATION_COLUMNS, *more).select_from(OBSERVATIONS).where(which).order_by(
        SERIES.indicator, observation.c.area_code, observation.c.year, SERIES.dataset,
        SERIES.geographic_level, SERIES.breakdown)
    with store.engine.connect() as conn:
        frame = read_frame(conn, query)
    frame["value"] = frame["value"].astype(float)
    return frame


def read_frame(conn: Connection, query: Select[Any]) -> pd.DataFrame:
    """The query's rows as `pd.read_sql` gives them, fetched from the driver's own cursor:
    SQLAlchemy's row objects and pandas' SQL reader cost more than the query itself."""
    result = conn.execute(query)
    return pd.DataFrame.from_records(result.cursor.fetchall(), columns=list(result.keys()),
                                     coerce_float=True)


def select_rows(frame: pd.DataFrame, names: list[str], where: dict[str, str] | None = None,
                any_of: dict[str, list[str]] | None = None,
                datasets: tuple[str, ...] = (),
                contains: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of the first indicator name present whose breakdown matches `where`/`any_of`/
    `contains` and whose other filters are at their total; one value per year and area. Where
    files whose names contain one of `datasets` carry the indicator, only those are read."""
    return one_per_year_and_area(matching_rows(frame, names, where, any_of, datasets, contains))


def one_per_year_and_area(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with one per year, level and area: the last file's (by name) where several are."""
    return rows.sort_values("dataset").drop_duplicates(["year", "geographic_level", "area_code"],
                                                       keep="last")


def matching_rows(frame: pd.DataFrame, names: list[str], where: dict[str, str] | None = None,
                  any_of: dict[str, list[str]] | None = None,
                  datasets: tuple[str, ...] = (),
                  contains: dict[str, str] | None = None) -> pd.DataFrame:
    """Every row `select_rows` reads, before it keeps one per year and area. On `stored_series`,
    the series it reads: the choice depends only on each row's indicator, dataset and breakdown."""
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
        is_preferred = {d: any(part in d for part in datasets) for d in rows["dataset"].unique()}
        preferred = rows[rows["dataset"].map(is_preferred).astype(bool)]
        rows = preferred if not preferred.empty else rows
        verdict = {b: matches(b) for b in rows["breakdown"].unique()}
        matched = rows[rows["breakdown"].map(verdict).astype(bool)]
        if not matched.empty:
            return matched
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


def care_series(store: Store, la_codes: list[str] | None = None,
                levels: tuple[str, ...] = ("Local authority",)) -> CareSeries:
    """CLA at 31 March (total and by placement), starts, ceases and population aged 0–17 per area
    and year, stitched from every source in the store, with each value's source and basis and
    every comparison of two sources (see `care_series.stitch_care_series`). An LA asked for by its
    code before a rename (North Yorkshire's E10000023) gets the joined series under that code."""
    changes = boundary_changes(store)
    wanted = or_(SERIES.indicator.in_([i for i in SOURCE_INDICATORS if i != "number"]),
                 and_(SERIES.indicator == "number",
                      or_(SERIES.dataset.like("%31_march%"), SERIES.dataset.like("%cla_number%"))))
    query = select(*OBSERVATION_COLUMNS).select_from(OBSERVATIONS).where(
        wanted, SERIES.geographic_level.in_(levels))
    if la_codes is not None:
        related = changes[changes["successor_code"].isin(la_codes)
                          | changes["predecessor_code"].isin(la_codes)]
        codes = set(la_codes) | set(related["predecessor_code"]) | set(related["successor_code"])
        query = query.where(observation.c.area_code.in_(sorted(codes)))
    with store.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
        sources = dict(conn.execute(select(data_load.c.dataset, data_load.c.source_file)).all())
    stitched = stitch_care_series(frame, sources, changes)
    if la_codes is None:
        return stitched
    renamed = changes[(changes["kind"] == "rename") & changes["predecessor_code"].isin(la_codes)
                      & ~changes["successor_code"].isin(la_codes)]
    asked = dict(zip(renamed["successor_code"], renamed["predecessor_code"], strict=True))
    return CareSeries(*(f.assign(area_code=f["area_code"].replace(asked)).pipe(
        lambda g: g[g["area_code"].isin(la_codes)]).reset_index(drop=True)
        for f in (stitched.series, stitched.comparisons)))


def care_history(store: Store, la_codes: list[str] | None = None) -> pd.DataFrame:
    """Each LA's stitched series as the projection engines read them: la_code, year, measure,
    placement, value, plus status, source and basis. A renamed LA's series runs on from its
    predecessor; a split or merged LA's starts at formation."""
    series = care_series(store, la_codes).series
    return (series.drop(columns="geographic_level").rename(columns={"area_code": "la_code"})
            .sort_values(["la_code", "measure", "placement", "year"]).reset_index(drop=True))


UPSTREAM_INDICATORS = {"at31_episodes": "children_in_need", "cpp_at31": "child_protection_plans"}
"""EES indicator columns (as stored, lower case) of the children-in-need publication (files B1 and
D5) read as the LA's upstream flow into care: children in need and child protection plans at
31 March. Each file's one `category` value names the whole file, so it is not a breakdown."""


def upstream_flow(store: Store, la_codes: list[str] | None = None) -> pd.DataFrame:
    """Children in need and on child protection plans at 31 March per LA and year, in the tidy
    shape of `care_history` (measure children_in_need / child_protection_plans, placement 'all')."""
    frame = observations(store, list(UPSTREAM_INDICATORS))
    frame = frame[frame["geographic_level"] == "Local authority"]
    frame = continuous_series(frame, boundary_changes(store))
    if la_codes is not None:
        frame = frame[frame["area_code"].isin(la_codes)]
    parts = [select_rows(frame, [indicator], contains={"category": ""}).assign(
        measure=measure, placement="all") for indicator, measure in UPSTREAM_INDICATORS.items()]
    flow = pd.concat(parts, ignore_index=True).rename(columns={"area_code": "la_code"})
    return (flow[["la_code", "year", "measure", "placement", "value"]]
            .sort_values(["la_code", "measure", "year"]).reset_index(drop=True))


def demand_history(store: Store, la_codes: list[str] | None = None) -> pd.DataFrame:
    """`care_history` with the upstream flow beside it: everything the demand models read."""
    return pd.concat([care_history(store, la_codes), upstream_flow(store, la_codes)],
                     ignore_index=True)


class BoundaryChangeError(ValueError):
    """A series was asked to cross a reorganisation that changed the area, so it cannot be joined."""


def series_break(changes: pd.DataFrame, la_code: str) -> str | None:
    """Why the LA's series cannot go back before its formation, or None if nothing stops it."""
    return series_break_in(changes.to_dict("records"), la_code)


def require_continuous(changes: pd.DataFrame, la_code: str, from_year: int) -> None:
    """Refuse a request for years before an LA existed when its area changed at formation."""
    rows = changes[(changes["successor_code"] == la_code) & (changes["kind"] != "rename")]
    if not rows.empty and from_year < int(rows["first_year"].min()):
        raise BoundaryChangeError(series_break(changes, la_code))
