"""One LA's care history as the demand models read it: CLA at 31 March (total and by placement),
starts, ceases, population aged 0–17 and the upstream flow (children in need, child protection
plans at 31 March) on a complete run of years, NaN where not recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS, MEASURES, PLACEMENTS

CLA = "cla_31_march"
STARTS = "starts"
CEASES = "ceases"
POPULATION = "population_0_17"
CHILDREN_IN_NEED = "children_in_need"
PROTECTION_PLANS = "child_protection_plans"
HISTORY_COLUMNS: tuple[str, ...] = ("la_code", "year", "measure", "placement", "value")
PER_10K = 10_000.0

SeriesKey = tuple[str, str]
TOTAL_KEY: SeriesKey = (CLA, ALL_PLACEMENTS)


class DemandModelError(ValueError):
    """The history cannot support the model (wrong shape, too short, a needed measure missing)."""


@dataclass(frozen=True)
class CareHistory:
    """One LA's history on a complete run of years; NaN marks a missing or suppressed value."""

    la_code: str
    years: np.ndarray
    cla_total: np.ndarray
    cla_by_placement: np.ndarray
    starts: np.ndarray
    ceases: np.ndarray
    population: np.ndarray
    children_in_need: np.ndarray
    protection_plans: np.ndarray

    @classmethod
    def from_frame(cls, history: pd.DataFrame) -> CareHistory:
        """Parse the tidy history (la_code, year, measure, placement, value) of exactly one LA."""
        frame = _validated(history)
        codes = frame["la_code"].unique()
        if len(codes) != 1:
            raise DemandModelError(f"expected the history of one LA, got {len(codes)}")
        return _parse_one(str(codes[0]), frame)

    @property
    def observed_cla_years(self) -> np.ndarray:
        """Years with a known total CLA at 31 March."""
        return self.years[np.isfinite(self.cla_total)]

    @property
    def origin(self) -> int:
        """The last year with a known total CLA: projections start the year after."""
        observed = self.observed_cla_years
        if observed.size == 0:
            raise DemandModelError(f"{self.la_code}: no year has a known total CLA at 31 March")
        return int(observed[-1])

    def up_to(self, year: int) -> CareHistory:
        """The history as it stood at 31 March of `year` (later years dropped)."""
        keep = self.years <= year
        return CareHistory(self.la_code, self.years[keep], self.cla_total[keep],
                           self.cla_by_placement[keep], self.starts[keep], self.ceases[keep],
                           self.population[keep], self.children_in_need[keep],
                           self.protection_plans[keep])

    def value(self, measure: str, year: int, placement: str = ALL_PLACEMENTS) -> float:
        """One recorded value (NaN when the year is outside the history or the value is missing)."""
        index = np.searchsorted(self.years, year)
        if index >= self.years.size or self.years[index] != year:
            return float("nan")
        if measure == CLA:
            if placement == ALL_PLACEMENTS:
                return float(self.cla_total[index])
            return float(self.cla_by_placement[index, PLACEMENTS.index(placement)])
        series = {STARTS: self.starts, CEASES: self.ceases, POPULATION: self.population,
                  CHILDREN_IN_NEED: self.children_in_need,
                  PROTECTION_PLANS: self.protection_plans}[measure]
        return float(series[index])


def split_histories(history: pd.DataFrame, la_codes: Sequence[str] | None = None
                    ) -> dict[str, CareHistory]:
    """Parse a panel of many LAs into one CareHistory per LA (optionally only `la_codes`)."""
    frame = _validated(history)
    if la_codes is not None:
        frame = frame[frame["la_code"].isin(list(la_codes))]
    return {str(code): _parse_one(str(code), group)
            for code, group in frame.groupby("la_code", sort=True)}


def _validated(history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise DemandModelError(
            f"history lacks column(s) {missing}; expected {list(HISTORY_COLUMNS)}")
    frame = history.loc[:, list(HISTORY_COLUMNS)].copy()
    bad_measures = sorted(set(frame["measure"]) - set(MEASURES))
    if bad_measures:
        raise DemandModelError(f"unknown measure(s) {bad_measures}; expected {list(MEASURES)}")
    bad_places = sorted(set(frame["placement"]) - set(PLACEMENTS) - {ALL_PLACEMENTS})
    if bad_places:
        raise DemandModelError(f"unknown placement(s) {bad_places}; expected {list(PLACEMENTS)}")
    frame["la_code"] = frame["la_code"].astype(str)
    frame["year"] = frame["year"].astype(int)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    if (frame["value"] < 0).any():
        raise DemandModelError("history holds negative counts")
    keys = ["la_code", "year", "measure", "placement"]
    frame = frame.drop_duplicates()
    duplicated = frame.duplicated(keys)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise DemandModelError(
            f"conflicting values for {first['la_code']} {first['year']} {first['measure']} "
            f"{first['placement']}")
    return frame


def _parse_one(la_code: str, frame: pd.DataFrame) -> CareHistory:
    if frame.empty:
        raise DemandModelError(f"{la_code}: empty history")
    years = np.arange(int(frame["year"].min()), int(frame["year"].max()) + 1)
    offset = frame["year"].to_numpy() - years[0]
    measures = frame["measure"].to_numpy()
    placements = frame["placement"].to_numpy()
    values = frame["value"].to_numpy()

    def series(measure: str, placement: str = ALL_PLACEMENTS) -> np.ndarray:
        """One measure on the full run of years, NaN where not recorded."""
        out = np.full(years.size, np.nan)
        hit = (measures == measure) & (placements == placement)
        out[offset[hit]] = values[hit]
        return out

    by_placement = np.column_stack([series(CLA, p) for p in PLACEMENTS])
    return CareHistory(la_code, years, series(CLA), by_placement, series(STARTS), series(CEASES),
                       series(POPULATION), series(CHILDREN_IN_NEED), series(PROTECTION_PLANS))



def placement_counts(history: CareHistory) -> np.ndarray:
    """CLA by placement (Y × P) with suppressed cells filled so each year sums to the total.

    A year's unexplained remainder (total minus recorded placements) is shared among its missing
    placements in proportion to their average recorded share; years without a total stay NaN."""
    counts = history.cla_by_placement.copy()
    total = history.cla_total.copy()
    complete = np.isfinite(counts).all(axis=1)
    total = np.where(np.isfinite(total), total, np.where(complete, counts.sum(axis=1), np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / total[:, None]
    recorded = np.isfinite(shares)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_share = np.where(recorded, shares, 0.0).sum(axis=0) / recorded.sum(axis=0)
    mean_share = np.where(np.isfinite(mean_share), mean_share, 0.0)
    for row in np.flatnonzero(np.isfinite(total)):
        gaps = ~np.isfinite(counts[row])
        if not gaps.any():
            continue
        remainder = max(total[row] - np.nansum(counts[row]), 0.0)
        weights = mean_share[gaps]
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(gaps.sum(),
                                                                            1 / gaps.sum())
        counts[row, gaps] = remainder * weights
    counts[~np.isfinite(total)] = np.nan
    if not np.isfinite(counts).any():
        raise DemandModelError(f"{history.la_code}: no year has CLA by placement")
    return counts


def naive_mae(values: np.ndarray, years: np.ndarray) -> float:
    """Mean absolute one-year change over consecutive recorded years (the MASE scale)."""
    keep = np.isfinite(values)
    x, y = years[keep], values[keep]
    consecutive = np.diff(x) == 1
    changes = np.abs(np.diff(y))[consecutive]
    return float(changes.mean()) if changes.size else float("nan")
