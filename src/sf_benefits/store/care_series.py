"""One series per area and measure (children looked after at 31 March, by placement, starts,
ceases, population aged 0-17), stitched from every published source that covers a year.

Sources, in order of preference where two cover the same year: the explore-education-statistics
files (the latest release), the 2010-2017 releases as first published, the LAIT counts, and last
counts derived from the LAIT placement percentages. Every value keeps its source file and basis;
where two sources give a figure for the same year they are compared, and a difference larger than
their rounding is a disagreement, listed beside the series. Local government reorganisations
follow `ingest/boundaries.yaml`: a renamed LA's series runs on from its predecessor, a split or
merged LA's starts at formation and its predecessor's stops there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from sf_benefits.store.tidy import TOTAL_VALUES, continuous_series, parse_breakdown

ALL_PLACEMENTS = "all"
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
CLA, STARTS, CEASES, POPULATION = "cla_31_march", "starts", "ceases", "population_0_17"
MEASURE_LABELS = {CLA: re.compile(r"looked after (at|on) 31 march", re.IGNORECASE),
                  STARTS: re.compile(r"starting", re.IGNORECASE),
                  CEASES: re.compile(r"ceasing", re.IGNORECASE)}
"""The EES `population_count` / `population_type` wording of each measure."""
MEASURE_FILTERS = ("population_count", "population_type")
EES_COUNTS = ("number", "children_count")
POPULATION_ESTIMATE = "population_estimate"
ONS_AGE_0_17 = re.compile(r"0 to 17|0-17", re.IGNORECASE)
LAIT_COUNTS = {"LACnum": CLA, "LACnum_Start": STARTS, "LACceased": CEASES}
LAIT_PLACEMENT_PERCENTAGES = {
    "LAC_Foster_Placements": "foster",
    "LAC_SecHome_And_ChildHome": "childrens_homes_secure",
    "LAC_Other_Res_Settings": "other_residential",
    "LAC_Parents_OR_Others": "placed_with_parents",
    "LAC_Ind_SInd_Liv_Arr": "independent_living",
}
"""LAIT's percentages of CLA at 31 March by placement that match one placement type. LAIT gives
no share placed for adoption, and its 'other placements' (1% of England in 2023, against 4% for
adoption, residential schools and other placements in the EES file) is not one of ours."""
SOURCE_INDICATORS = (CLA, STARTS, CEASES, POPULATION, POPULATION_ESTIMATE, *EES_COUNTS,
                     *LAIT_COUNTS, *LAIT_PLACEMENT_PERCENTAGES)
EES_PLACEMENT_DATASET = "31_march"
"""Part of the name of DfE's file of CLA at 31 March by characteristics (placement among them)."""

PUBLISHED, FIRST_PUBLISHED, LAIT, DERIVED = 0, 1, 2, 3
KEYS = ["area_code", "year", "measure", "placement"]
CANDIDATE_COLUMNS = ["area_code", "geographic_level", "year", "measure", "placement", "value",
                     "status", "dataset", "basis", "rank", "tolerance"]
PARTIAL = "partial"
"""Status of a placement figure summed from published cells some of which are suppressed."""


@dataclass(frozen=True)
class CareSeries:
    """The stitched series (area_code, geographic_level, year, measure, placement, value, status,
    source, basis) and every comparison of two sources for the same figure."""

    series: pd.DataFrame
    comparisons: pd.DataFrame

    @property
    def disagreements(self) -> pd.DataFrame:
        """Comparisons whose difference is larger than the two sources' rounding allows."""
        return self.comparisons[~self.comparisons["agrees"]].reset_index(drop=True)


def stitch_care_series(observations: pd.DataFrame, sources: dict[str, str],
                       changes: pd.DataFrame) -> CareSeries:
    """Stitch observations (the store's shape) into one series per area, measure and placement.
    `sources` maps each dataset to its file; `changes` are the boundary changes."""
    frame = observations[observations["indicator"].isin(SOURCE_INDICATORS)]
    frame = frame.assign(value=frame["value"].astype(float))
    filters = {b: parse_breakdown(b) for b in frame["breakdown"].unique()}
    parts = [_ees_totals(frame, filters), _ees_placements(frame, filters), _release_counts(frame),
             _lait_counts(frame), _population(frame, filters)]
    candidates = pd.concat([p for p in parts if not p.empty] or [_empty()], ignore_index=True)
    candidates = pd.concat([candidates, _lait_placements(frame, candidates)], ignore_index=True)
    candidates = _within_boundaries(candidates, changes)
    candidates["source"] = candidates["dataset"].map(
        lambda d: Path(sources[d]).name if d in sources else d)
    ordered = candidates.assign(_missing=candidates["value"].isna()).sort_values(
        KEYS + ["_missing", "rank", "source"], kind="stable")
    chosen = ordered.drop_duplicates(KEYS, keep="first")
    series = _trimmed(pd.concat([chosen, _interpolated_population(chosen)], ignore_index=True))
    series = series[["area_code", "geographic_level", "year", "measure", "placement", "value",
                     "status", "source", "basis"]].sort_values(KEYS).reset_index(drop=True)
    return CareSeries(series, _comparisons(ordered, chosen))


def _trimmed(series: pd.DataFrame) -> pd.DataFrame:
    """Population only for years an area has children looked after figures (mid-2009, kept to
    interpolate mid-2010 and mid-2011, is dropped), or every year for an area with none."""
    counted = series[series["measure"] != POPULATION]
    keys = pd.MultiIndex.from_frame(series[["area_code", "year"]])
    keep = ((series["measure"] != POPULATION)
            | keys.isin(pd.MultiIndex.from_frame(counted[["area_code", "year"]]))
            | ~series["area_code"].isin(counted["area_code"]))
    return series[keep]


def _interpolated_population(chosen: pd.DataFrame) -> pd.DataFrame:
    """Mid-years with no estimate between two that have one (mid-2010 and mid-2011, between the
    2010 release's mid-2009 figure and the ONS series from mid-2012), interpolated linearly."""
    known = chosen[(chosen["measure"] == POPULATION) & chosen["value"].notna()]
    if known.empty:
        return _empty()
    wide = known.pivot(index="area_code", columns="year", values="value")
    wide = wide.reindex(columns=range(int(wide.columns.min()), int(wide.columns.max()) + 1))
    years = pd.DataFrame(np.where(wide.notna(), wide.columns.to_numpy()[None, :], np.nan),
                         index=wide.index, columns=wide.columns)
    parts = {"value": wide.interpolate(axis=1, limit_area="inside"),
             "previous": years.ffill(axis=1), "following": years.bfill(axis=1)}
    gaps = wide.isna() & parts["value"].notna()
    out = pd.DataFrame({k: v.where(gaps).stack() for k, v in parts.items()}).reset_index()
    if out.empty:
        return _empty()
    level = known.drop_duplicates("area_code").set_index("area_code")["geographic_level"]
    return out.assign(
        geographic_level=out["area_code"].map(level), measure=POPULATION,
        placement=ALL_PLACEMENTS, status=None, source="interpolated",
        basis=[f"interpolated between the mid-{a:.0f} and mid-{b:.0f} estimates"
               for a, b in zip(out["previous"], out["following"], strict=True)],
    ).drop(columns=["previous", "following"])


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "tolerance") else object)
                         for c in CANDIDATE_COLUMNS})


def _rounding(level: pd.Series) -> np.ndarray:
    """Half the rounding unit of a published count: DfE rounds national and regional figures to
    the nearest 10 and publishes LA figures unrounded."""
    return np.where(level == "Local authority", 0.0, 5.0)


def _candidates(rows: pd.DataFrame, measure: pd.Series | str, placement: pd.Series | str,
                basis: str, rank: int, tolerance: np.ndarray | float) -> pd.DataFrame:
    return pd.DataFrame({
        "area_code": rows["area_code"].to_numpy(), "geographic_level": rows["geographic_level"]
        .to_numpy(), "year": rows["year"].astype(int).to_numpy(),
        "measure": measure if isinstance(measure, str) else measure.to_numpy(),
        "placement": placement if isinstance(placement, str) else placement.to_numpy(),
        "value": rows["value"].to_numpy(), "status": rows["status"].to_numpy(),
        "dataset": rows["dataset"].to_numpy(), "basis": basis, "rank": rank,
        "tolerance": tolerance})


def _others_total(filters: dict[str, str], named: tuple[str, ...]) -> bool:
    return all(TOTAL_VALUES.match(v) for k, v in filters.items() if k not in named)


def _measure_of(filters: dict[str, str]) -> str | None:
    """The measure an EES breakdown names in its population_count/population_type filter."""
    label = next((filters[k] for k in MEASURE_FILTERS if k in filters), None)
    if label is None or not _others_total(filters, MEASURE_FILTERS):
        return None
    return next((m for m, pattern in MEASURE_LABELS.items() if pattern.search(label)), None)


def _ees_totals(frame: pd.DataFrame, filters: dict[str, dict[str, str]]) -> pd.DataFrame:
    rows = frame[frame["indicator"].isin(EES_COUNTS)]
    measure = rows["breakdown"].map({b: _measure_of(filters[b]) for b in rows["breakdown"].unique()})
    rows, measure = rows[measure.notna()], measure[measure.notna()]
    return _candidates(rows, measure, ALL_PLACEMENTS, "published count", PUBLISHED,
                       _rounding(rows["geographic_level"]))


@cache
def placement_of(label: str) -> str | None:
    """The placement type of a published placement label (EES characteristic or release column)."""
    text = label.strip().lower()
    return next((p for p, prefixes in PLACEMENT_CHARACTERISTICS.items()
                 if text.startswith(prefixes)), None)


def _summed(rows: pd.DataFrame, placement: pd.Series, measure: str, basis: str, rank: int
            ) -> pd.DataFrame:
    """Placement labels summed to placement types; a sum with suppressed parts is 'partial'."""
    rows = rows.assign(placement=placement, _suppressed=rows["value"].isna())
    keys = ["area_code", "geographic_level", "year", "dataset", "placement"]
    sums = rows.groupby(keys, as_index=False).agg(
        value=("value", lambda v: v.sum(min_count=1)), parts=("value", "size"),
        suppressed=("_suppressed", "sum"), status=("status", "first"))
    partial = sums["value"].notna() & (sums["suppressed"] > 0)
    sums["status"] = sums["status"].where(sums["value"].isna() | partial)
    sums.loc[partial, "status"] = PARTIAL
    out = _candidates(sums, measure, sums["placement"], basis, rank,
                      _rounding(sums["geographic_level"]) * sums["parts"].to_numpy())
    out.loc[sums["parts"].to_numpy() > 1, "basis"] = f"{basis}: cells summed"
    out.loc[partial.to_numpy(), "basis"] += ", suppressed ones left out"
    return out


def _ees_placements(frame: pd.DataFrame, filters: dict[str, dict[str, str]]) -> pd.DataFrame:
    rows = frame[(frame["indicator"] == "number")
                 & frame["dataset"].str.contains(EES_PLACEMENT_DATASET, regex=False)]
    kept = {b: placement_of(f.get("characteristic", "")) for b, f in filters.items()
            if f.get("cla_group", "").lower() == "placement"
            and _others_total(f, ("cla_group", "characteristic"))}
    placement = rows["breakdown"].map(kept)
    rows = rows[placement.notna()]
    if rows.empty:
        return _empty()
    return _summed(rows, placement[placement.notna()], CLA, "published count", PUBLISHED)


def _release_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """The 2010-2017 releases (`ingest.history`): totals, and placements summed to types."""
    rows = frame[frame["indicator"].isin([CLA, STARTS, CEASES])]
    if rows.empty:
        return _empty()
    national = rows["geographic_level"] == "National"
    tolerance = np.where(national & (rows["value"] >= 1000), 50.0,
                         _rounding(rows["geographic_level"]))
    totals = rows["breakdown"] == ""
    total = _candidates(rows[totals], rows.loc[totals, "indicator"], ALL_PLACEMENTS,
                        "published count, first release", FIRST_PUBLISHED, tolerance[totals])
    by_placement = rows[~totals]
    placement = by_placement["breakdown"].str.removeprefix("placement=").map(placement_of)
    by_placement = by_placement[placement.notna()]
    if by_placement.empty:
        return total
    placed = _summed(by_placement, placement[placement.notna()], CLA,
                     "published count, first release", FIRST_PUBLISHED)
    return pd.concat([total, placed], ignore_index=True)


def _lait_counts(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[frame["indicator"].isin(list(LAIT_COUNTS))]
    out = _candidates(rows, rows["indicator"].map(LAIT_COUNTS), ALL_PLACEMENTS, "", LAIT,
                      _rounding(rows["geographic_level"]))
    out["basis"] = "published count (LAIT " + rows["indicator"].to_numpy() + ")"
    return out


def _lait_placements(frame: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Counts by placement from LAIT's percentages × the total CLA at 31 March the series uses
    (itself chosen by preference); tolerance is the percentage's rounding to a whole number."""
    rows = frame[frame["indicator"].isin(list(LAIT_PLACEMENT_PERCENTAGES))]
    totals = candidates[(candidates["measure"] == CLA) & (candidates["placement"] == ALL_PLACEMENTS)
                        & candidates["value"].notna()].sort_values("rank").drop_duplicates(
        ["area_code", "year"])
    rows = rows.merge(totals[["area_code", "year", "value"]].rename(columns={"value": "total"}),
                      on=["area_code", "year"])
    if rows.empty:
        return _empty()
    out = _candidates(rows.assign(value=(rows["value"] / 100 * rows["total"]).round()),
                      CLA, rows["indicator"].map(LAIT_PLACEMENT_PERCENTAGES), "", DERIVED,
                      (0.005 * rows["total"] + 0.5).to_numpy())
    out["basis"] = ("derived: LAIT % (" + rows["indicator"].to_numpy()
                    + ") × total at 31 March")
    return out


def _population(frame: pd.DataFrame, filters: dict[str, dict[str, str]]) -> pd.DataFrame:
    """Children aged 0-17 by mid-year: the ONS estimate (the 2010 release's copy is rounded to
    100), else DfE's denominator beside its CLA rates (the previous mid-year's estimate)."""
    estimates = frame[frame["indicator"] == POPULATION_ESTIMATE]
    breakdowns = estimates["breakdown"].unique()
    beside_rates = estimates["breakdown"].map(
        {b: _measure_of(filters[b]) == CLA for b in breakdowns}).astype(bool)
    aged_0_17 = estimates["breakdown"].map(
        {b: bool(ONS_AGE_0_17.search(b)) and _others_total(filters[b], ("age_group",))
         for b in breakdowns}).astype(bool)
    ons = pd.concat([estimates[aged_0_17], frame[frame["indicator"] == POPULATION]])
    releases = frame.loc[frame["indicator"].isin([CLA, STARTS, CEASES]), "dataset"].unique()
    rounded = ons["dataset"].isin(releases)
    out = pd.concat([
        _candidates(ons, POPULATION, ALL_PLACEMENTS, "ONS mid-year estimate", PUBLISHED,
                    np.where(rounded, 50.0, 0.0)),
        _candidates(estimates[beside_rates].assign(year=lambda f: f["year"] - 1), POPULATION,
                    ALL_PLACEMENTS, "ONS mid-year estimate, as DfE uses it",
                    FIRST_PUBLISHED, 0.0),
    ], ignore_index=True)
    out.loc[np.flatnonzero(rounded.to_numpy()), "basis"] = (
        "ONS mid-year estimate, rounded to 100")
    return out


def _within_boundaries(candidates: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """Renamed LAs take their predecessor's figures, whichever year a publisher still used the old
    code for (the LAIT writes Buckinghamshire's 2021-2023 figures under the county's); an LA
    formed by a split or merge has no figure before its first year and its predecessor none from
    then on."""
    renamed = changes["kind"] == "rename"
    out = continuous_series(candidates, changes.assign(
        first_year=changes["first_year"].where(~renamed, np.iinfo(np.int32).max)))
    for change in changes[changes["kind"] != "rename"].itertuples():
        drop = (((out["area_code"] == change.successor_code) & (out["year"] < change.first_year))
                | ((out["area_code"] == change.predecessor_code)
                   & (out["year"] >= change.first_year)))
        out = out[~drop]
    return out.reset_index(drop=True)


def _comparisons(ordered: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Every other source's figure beside the chosen one, with the difference and whether it is
    within the two sources' rounding. Partial sums (suppressed parts left out) are not compared."""
    valued = ordered[ordered["value"].notna() & (ordered["status"] != PARTIAL)]
    best = chosen[chosen["value"].notna() & (chosen["status"] != PARTIAL)]
    others = valued.drop(index=best.index, errors="ignore")
    pairs = best[KEYS + ["geographic_level", "value", "source", "basis", "tolerance"]].merge(
        others[KEYS + ["value", "source", "basis", "tolerance"]], on=KEYS,
        suffixes=("", "_other"))
    difference = pairs["value_other"] - pairs["value"]
    tolerance = pairs["tolerance"] + pairs["tolerance_other"]
    return pd.DataFrame({
        **{k: pairs[k] for k in KEYS}, "geographic_level": pairs["geographic_level"],
        "value": pairs["value"], "source": pairs["source"], "basis": pairs["basis"],
        "other_value": pairs["value_other"], "other_source": pairs["source_other"],
        "other_basis": pairs["basis_other"], "difference": difference, "tolerance": tolerance,
        "agrees": difference.abs() <= tolerance + 1e-9,
    }).sort_values(KEYS).reset_index(drop=True)
