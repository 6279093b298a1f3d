"""Multi-state model of children in care, fitted to an LA's own SSDA903 episodes.

States are placement categories and time since the period of care began (first three months, rest
of the first year, a year or more: children move and leave most in their first weeks and months in
care, so one rate for all would send too many long-stayers out and too few newcomers); out of care
is absorbing. Transition hazards by age band and time in care are occurrence/exposure rates (moves
per child-year) over a reference window, each pooled towards its age band's rate over all times in
care with a weight in child-years chosen by the likelihood of the returns' counts (empirical Bayes:
near full pooling when they show no difference by time in care, a few child-years when they do, so
sparse cells of a small LA borrow strength). Entries per year are the number in the last year of
the window (entries trend; moves need more exposure: both windows chosen by the backtest in
benchmarks/ssda903_vs_cs_demand_model.py), spread over months of age and first placements as in the
whole window. The projection ages children step by step (quarterly by default, ages and the first
year in care tracked to the same step), moves them with competing-risk probabilities chained over
short sub-steps (children who reach the next age band, or 18, within a step take half a step at
each band's rates), takes every child out of care on their 18th birthday and adds entries
(as many of each age reaching the next age step by the end of the step they enter in as did in
the returns: babies who enter at birth stay under 1 for a year, and where dates of birth are the
1st of the month every child turns a month older on the 1st).

Uncertainty combines rate uncertainty (a Gamma posterior draw of every age band's pooled rate, of
every rate by time in care around it, and of the entry level per draw); random walks from year to
year, as wide as the returns' own year-on-year changes beyond chance, of the entry level and the
rate of leaving care (`entry_drift`, `exit_drift`), and of each move's rate and each age band's
entries by first placement beyond the change they share (`move_drift`, `entry_mix_drift`); the
model's own misfit of the mix by age band and placement, measured by rerunning it a year earlier on
the same returns (`mix_misfit`); and chance: each draw's expected path is exact for its rates, and
one path of whole children is drawn around it (Poisson starts; each step's ceases binomial among
the children in care, so children in care change by starts less ceases; on each date spread over
cells as expected, which makes the jump-off's children each in one cell or out of care and later
entrants in a cell Poisson). Everything is vectorised over draws, ages, times in care and
placements.

The interface follows the project's models: the constructor stores settings, `fit` returns self,
`predict(horizon, level)` gives a tidy frame of mean and intervals (`projection`, the same as
arrays), `sample(horizon, n_draws, seed)` gives DemandDraws that the LA-level scenario and money
engine consumes. Fitted to `EpisodeColumns` and asked for a `projection`, the model imports no
pandas (a second of start-up on a slow machine).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sf_benefits.project.categories import ALL_PLACEMENTS, MEASURES, PLACEMENTS
from sf_benefits.project.childlevel.ages import (
    AGE_BANDS,
    CARE_ENDS_AT_YEARS,
    DAYS_PER_YEAR,
    MONTHS_IN_CARE_AGE,
    age_band_index,
    band_of_month_of_age,
)
from sf_benefits.project.childlevel.histories import (
    EXIT,
    CareColumns,
    CareHistories,
    build_histories,
    care_histories,
    exposure_days_by_age_and_time_in_care,
    history_columns,
)
from sf_benefits.ssda903_data import EpisodeColumns, Ssda903Data

if TYPE_CHECKING:
    import pandas as pd

    from sf_benefits.project.demand import DemandDraws

ALL_AGES = "all"
CLA, STARTS, CEASES = MEASURES[0], MEASURES[1], MEASURES[2]
FloatArray = npt.NDArray[np.float64]

TIME_IN_CARE_BANDS: tuple[str, ...] = ("first_3_months", "3_to_12_months", "1_year_or_more")
TIME_IN_CARE_LOWER_YEARS: tuple[float, ...] = (0.0, 0.25, 1.0)
SUBSTEP_HALVINGS = 4
"""Moves are worked out over 1/16 of a step (under a week for quarterly steps) and chained."""
POOLING_YEARS = 1.0
"""Prior weight (child-years) pulling each rate by time in care towards its age band's rate over
all times in care, when it is not estimated: negligible where a cell has years of exposure,
decisive where it has days."""
POOLING_YEARS_CHOICES: tuple[float, ...] = tuple(2.0 ** np.arange(-2, 17))
"""Prior weights tried by `pooling_weight` (a quarter of a child-year to all but full pooling)."""


@dataclass(frozen=True)
class RateScenario:
    """An innovation expressed as changes to the child-level rates, phased in linearly.

    `entry_multiplier` scales entries (one factor, or one per age band); `transition_multiplier`
    scales the hazard of a move (from placement, to placement or 'exit'); both reach full effect
    `years_to_full_effect` years after the jump-off (0: at once).
    """

    name: str
    entry_multiplier: float | Mapping[str, float] = 1.0
    transition_multiplier: Mapping[tuple[str, str], float] = field(default_factory=dict)
    years_to_full_effect: float = 0.0

    def entry_factors(self) -> FloatArray:
        """Full-effect multiplier of entries per age band."""
        if isinstance(self.entry_multiplier, Mapping):
            unknown = set(self.entry_multiplier) - set(AGE_BANDS)
            if unknown:
                raise ValueError(f"unknown age band(s) {sorted(unknown)}; use {AGE_BANDS}")
            return np.array([float(self.entry_multiplier.get(b, 1.0)) for b in AGE_BANDS])
        return np.full(len(AGE_BANDS), float(self.entry_multiplier))

    def hazard_factors(self, placements: Sequence[str]) -> FloatArray:
        """Full-effect multiplier of each hazard, shape (placements, placements + exit)."""
        factors = np.ones((len(placements), len(placements) + 1))
        targets = [*placements, EXIT]
        for (source, target), value in self.transition_multiplier.items():
            if source not in placements or target not in targets:
                raise ValueError(f"unknown move {source!r} -> {target!r}")
            factors[list(placements).index(source), targets.index(target)] = float(value)
        return factors

    def ramp(self, years_since_jump_off: float) -> float:
        """Share of the full effect reached at a time after the jump-off."""
        if self.years_to_full_effect <= 0:
            return 1.0
        return float(min(1.0, max(0.0, years_since_jump_off / self.years_to_full_effect)))


@dataclass(frozen=True)
class FittedRates:
    """Counts and exposure behind every rate, from the reference window."""

    reference_start: datetime
    reference_end: datetime
    placements: tuple[str, ...]
    events: FloatArray  # (bands, times in care, placements, placements + exit)
    exposure_years: FloatArray  # (bands, times in care, placements)
    entries: FloatArray  # (216 whole months of age, placements) over the window
    window_years: float
    entry_window_years: float
    """Length of the last part of the window whose number of entries gives the entry level (the
    mix of ages and first placements comes from the whole window)."""
    recent_entries: float
    """Entries in that last part."""
    entry_drift: float = 0.0
    """Year-to-year spread (sd of the log) of the entry level beyond chance, from the returns."""
    exit_drift: float = 0.0
    """The same for the rate of leaving care."""
    move_drift: float = 0.0
    """The same for each move's rate by age band, beyond the change all moves share."""
    entry_mix_drift: float = 0.0
    """The same for entries by age band and first placement, beyond the change all share."""
    pooling_years: float = POOLING_YEARS
    """Prior weight (child-years) of the age band's pooled rate in each rate by time in care."""
    entry_step_ageing: FloatArray | None = None
    """Share of each month of age's entrants (216) who were an age step (of the fitting model)
    older at the end of the step they entered in than on entering (None: as if ages and entry
    days spread evenly)."""
    mix_misfit: float = 0.0
    """Spread (sd of the log) beyond chance of children in care by age band and placement
    around the model's expectation one year ahead, relative to the total, when the model is run
    a year earlier on the same returns: how far its mix misses for reasons it does not model."""

    @property
    def pooled_hazards(self) -> FloatArray:
        """Moves per child-year over all times in care, (bands, from, to/exit); zero where there
        was no exposure."""
        exposure = self.exposure_years.sum(axis=1)[:, :, None]
        events = self.events.sum(axis=1)
        return np.divide(events, exposure, out=np.zeros_like(events), where=exposure > 0)

    @property
    def posterior(self) -> tuple[FloatArray, FloatArray]:
        """Gamma posterior (shape, rate) of every hazard, (bands, times in care, from, to/exit):
        events and exposure plus `pooling_years` child-years at the age band's pooled rate."""
        shape = self.events + self.pooling_years * self.pooled_hazards[:, None]
        rate = np.broadcast_to(self.exposure_years[..., None] + self.pooling_years, shape.shape)
        return shape, rate

    @property
    def hazards(self) -> FloatArray:
        """Moves per child-year (posterior means), (bands, times in care, from, to/exit)."""
        shape, rate = self.posterior
        return shape / rate

    @property
    def entries_per_year(self) -> FloatArray:
        """Entries per year by month of age and first placement."""
        return (self.entries / max(self.entries.sum(), 1.0) * self.recent_entries
                / self.entry_window_years)


@dataclass
class _Paths:
    """Simulated stock at every step by age band and placement, and flows in each step."""

    dates: npt.NDArray[np.datetime64]
    stock: FloatArray  # (draws, steps + 1, bands, placements)
    starts: FloatArray  # (draws, steps)
    ceases: FloatArray  # (draws, steps); per draw, stock totals change by starts less ceases


@dataclass(frozen=True)
class CareArrays:
    """The columns of care histories that rates are counted from, as arrays (made once a fit):
    per placement period its start, end (NaT while open), date of birth, the day its period of
    care began, placement, what came next (a placement's index, K for out of care, -1 while
    open) and whether it ended on turning 18; per period of care its start, month of age at
    entry, date of birth and first placement."""

    start: npt.NDArray[np.datetime64]
    end: npt.NDArray[np.datetime64]
    dob: npt.NDArray[np.datetime64]
    began: npt.NDArray[np.datetime64]
    place: npt.NDArray[np.intp]
    target: npt.NDArray[np.intp]
    aged_out: npt.NDArray[np.bool_]
    spell_start: npt.NDArray[np.datetime64]
    entry_month: npt.NDArray[np.intp]
    entry_dob: npt.NDArray[np.datetime64]
    entry_place: npt.NDArray[np.intp]
    placements: int

    @classmethod
    def of(cls, histories: CareHistories | CareColumns) -> CareArrays:
        """The arrays of `histories`."""
        periods, spells = histories.periods, histories.spells
        placements = list(histories.placements)
        row = np.searchsorted(np.asarray(spells["spell"]), np.asarray(periods["spell"]))
        spell_start = np.asarray(spells["start"], dtype="datetime64[ns]")
        if isinstance(histories, CareColumns):
            def codes(column: npt.ArrayLike, categories: list[str]) -> npt.NDArray[np.intp]:
                lookup = [categories.index(v) if v in categories else -1
                          for v in histories.labels]
                return np.asarray(lookup, dtype=np.intp)[np.asarray(column)]
        else:
            import pandas as pd

            def codes(column: npt.ArrayLike, categories: list[str]) -> npt.NDArray[np.intp]:
                return np.asarray(pd.Categorical(np.asarray(column), categories=categories).codes,
                                  dtype=np.intp)
        return cls(
            np.asarray(periods["start"], dtype="datetime64[ns]"),
            np.asarray(periods["end"], dtype="datetime64[ns]"),
            np.asarray(periods["dob"], dtype="datetime64[ns]"), spell_start[row],
            codes(periods["placement"], placements), codes(periods["next"], [*placements, EXIT]),
            np.asarray(periods["aged_out"], dtype=bool),
            spell_start,
            np.clip(np.floor(np.asarray(spells["age_at_start"]) * 12), 0,
                    MONTHS_IN_CARE_AGE - 1).astype(np.intp),
            np.asarray(spells["dob"], dtype="datetime64[ns]"),
            codes(spells["entry_placement"], placements),
            len(placements))


def count_moves(arrays: CareArrays, start: np.datetime64, end: np.datetime64,
                time_in_care_lower_years: Sequence[float] = TIME_IN_CARE_LOWER_YEARS
                ) -> tuple[FloatArray, FloatArray]:
    """Moves (bands, times in care, K, K+1) and child-years of exposure (bands, times in care, K)
    in [start, end); a move's age and time in care are those on its last day in the placement."""
    n_bands, n_stages, k = len(AGE_BANDS), len(time_in_care_lower_years), arrays.placements
    overlaps = np.flatnonzero((arrays.start < end)
                              & (np.isnat(arrays.end) | (arrays.end >= start)))
    raw_end = arrays.end[overlaps]
    first = np.maximum(arrays.start[overlaps], start)
    last = np.minimum(np.where(np.isnat(raw_end), end, raw_end), end)
    dob, began, place = arrays.dob[overlaps], arrays.began[overlaps], arrays.place[overlaps]
    exposure = np.zeros((n_bands, n_stages, k))
    # days are multiples of 1/16, so these sums are exact whichever intervals they leave out
    for band, stage, rows, days in exposure_days_by_age_and_time_in_care(
            dob, began, first, last, time_in_care_lower_years):
        exposure[band, stage] = np.bincount(place[rows], weights=days, minlength=k)

    target = arrays.target[overlaps]
    counted = ((~np.isnat(raw_end)) & (raw_end >= start) & (raw_end < end) & (target >= 0)
               & ~arrays.aged_out[overlaps])
    day = np.timedelta64(1, "D")
    end_age = np.floor((raw_end[counted] - dob[counted]) / day) / DAYS_PER_YEAR
    in_care_days = (raw_end[counted] - began[counted]) / day
    lower = np.asarray(time_in_care_lower_years, dtype=float)
    stage_at_end = np.clip(np.searchsorted(lower, (in_care_days - 0.5) / DAYS_PER_YEAR,
                                           side="right") - 1, 0, n_stages - 1)
    events = tally((n_bands, n_stages, k, k + 1), (age_band_index(end_age - 0.5 / DAYS_PER_YEAR),
                                                    stage_at_end, place[counted], target[counted]))
    return events, exposure / DAYS_PER_YEAR


def tally(shape: tuple[int, ...], cells: tuple[npt.NDArray[np.integer], ...]) -> FloatArray:
    """How many times each cell of an array of `shape` is named in `cells` (one index array per
    axis; -1 is the last, as in indexing): `np.add.at` of ones, counted in one pass."""
    flat = np.ravel_multi_index(cells, shape, mode="wrap")
    return np.bincount(flat, minlength=math.prod(shape)).reshape(shape).astype(float)


def count_entries(arrays: CareArrays, start: np.datetime64, end: np.datetime64) -> FloatArray:
    """Periods of care begun in [start, end) by whole month of age and first placement (many
    children enter care at birth: a year of age is too coarse for the under-1s)."""
    entering = (arrays.spell_start >= start) & (arrays.spell_start < end)
    return tally((MONTHS_IN_CARE_AGE, arrays.placements),
                 (arrays.entry_month[entering], arrays.entry_place[entering]))


def evenly_spread_ageing(steps_per_year: int) -> FloatArray:
    """Share of each whole month of age's entrants (216) who end the step they enter in an age
    step older when ages and entry days spread evenly: the share of the step already lived."""
    months_per_step = 12 // steps_per_year
    return (np.arange(MONTHS_IN_CARE_AGE) % months_per_step + 0.5) / months_per_step


def entry_step_ageing(arrays: CareArrays, start: np.datetime64, end: np.datetime64,
                      steps_per_year: int) -> FloatArray:
    """Share of the children entering care in [start, end) at each whole month of age who are an
    age step older at the end of their step (steps of 12 / `steps_per_year` months back from
    `end`) than on entering, by month of age at entry (`evenly_spread_ageing` where none
    entered). Babies who enter at birth grow up later than entrants spread over the step, and
    where dates of birth are kept as the 1st of the month every child turns a month older on the
    1st: counting, not assuming, holds for both."""
    entering = np.flatnonzero((arrays.spell_start >= start) & (arrays.spell_start < end))
    months_per_step = 12 // steps_per_year
    last = end.astype("datetime64[us]").item()
    step_ends = np.asarray([np.datetime64(_months_later(last, -months_per_step * k), "ns")
                            for k in range(int((end - start) / np.timedelta64(1, "D")
                                               / DAYS_PER_YEAR * steps_per_year) + 2)][::-1])
    started = arrays.spell_start[entering]
    at = step_ends[np.minimum(np.searchsorted(step_ends, started), len(step_ends) - 1)]
    day = np.timedelta64(1, "D")
    dob = arrays.entry_dob[entering]

    def step_of_age(when: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
        return np.floor(np.floor((when - dob) / day) / DAYS_PER_YEAR * steps_per_year)

    aged = np.clip(step_of_age(at) - step_of_age(started), 0.0, 1.0)
    months = arrays.entry_month[entering]
    counts = np.bincount(months, minlength=MONTHS_IN_CARE_AGE)
    return np.divide(np.bincount(months, weights=aged, minlength=MONTHS_IN_CARE_AGE), counts,
                     out=evenly_spread_ageing(steps_per_year), where=counts > 0)


def pooling_weight(events: FloatArray, exposure_years: FloatArray,
                   choices: Sequence[float] = POOLING_YEARS_CHOICES) -> float:
    """The prior weight (child-years) of each age band's pooled rate in its rates by time in care
    that makes the counts most likely (empirical Bayes: each count is negative binomial, Poisson
    with a Gamma(w x pooled rate, w) rate): large when the returns show no difference by time in
    care, small when they show one. `events` (bands, times in care, K, K+1), `exposure_years`
    (bands, times in care, K)."""
    pooled_exposure = exposure_years.sum(axis=1)[:, None, :, None]
    pooled = events.sum(axis=1)[:, None] / np.where(pooled_exposure > 0, pooled_exposure, 1.0)
    exposure = np.broadcast_to(exposure_years[..., None], events.shape)
    used = (pooled > 0) & (exposure > 0) & np.broadcast_to(pooled_exposure > 0, events.shape)
    n, x, rate = events[used], exposure[used], np.broadcast_to(pooled, events.shape)[used]
    log_gamma = np.frompyfunc(math.lgamma, 1, 1)

    def log_likelihood(w: float) -> float:
        a = w * rate
        return float(np.sum(log_gamma(n + a).astype(float) - log_gamma(a).astype(float)
                            + a * np.log(w) - (n + a) * np.log(w + x) + n * np.log(x)))

    if not n.size:
        return POOLING_YEARS
    return max(choices, key=log_likelihood)


def _spread_beyond_chance(counts: FloatArray, exposure: FloatArray, least: float = 5.0,
                          first_counted: bool = True) -> float:
    """The sd of the year-on-year change in the log rate of each cell (counts / exposure, with
    years on the first axis) beyond chance (1/n + 1/n' for counts n, n'; only 1/n' when the
    first year holds expected numbers rather than counts, `first_counted` False) and beyond the
    change all cells share that year, weighted by each change's precision; cells with fewer than
    `least` counts in either year are left out, and zero without two such years."""
    total = weights = 0.0
    for n0, n1, x0, x1 in zip(counts[:-1], counts[1:], exposure[:-1], exposure[1:], strict=True):
        used = (n0 >= least) & (n1 >= least) & (x0 > 0) & (x1 > 0)
        if used.sum() < 2:
            continue
        change = np.log(n1[used] / x1[used]) - np.log(n0[used] / x0[used])
        chance = 1.0 / n1[used] + (1.0 / n0[used] if first_counted else 0.0)
        weight = 1.0 / chance
        change -= float(np.sum(weight * change) / weight.sum())
        total += float(np.sum(weight * (change ** 2 - chance)))
        weights += float(weight.sum())
    return float(np.sqrt(max(total / weights, 0.0))) if weights > 0 else 0.0


def cell_drifts(arrays: CareArrays, collection_years: Sequence[int], until: datetime
                ) -> tuple[float, float]:
    """How much single rates move from one collection year to the next beyond chance and beyond
    the change they share: each move's rate by age band, and entries by age band and first
    placement (see `_spread_beyond_chance`), over the collection years up to `until`."""
    moves, exposure, entries = [], [], []
    entry_band = band_of_month_of_age()
    for year in collection_years:
        if datetime(year, 3, 31) > until:
            continue
        start = np.datetime64(datetime(year - 1, 4, 1), "ns")
        end = np.datetime64(datetime(year, 4, 1), "ns")
        events, years = count_moves(arrays, start, end, (0.0,))
        moves.append(events[:, 0].reshape(-1))
        exposure.append(np.broadcast_to(years[:, 0, :, None], events[:, 0].shape).reshape(-1))
        by_band = np.zeros((len(AGE_BANDS), arrays.placements))
        np.add.at(by_band, entry_band, count_entries(arrays, start, end))
        entries.append(by_band.reshape(-1))
    if len(moves) < 2:
        return 0.0, 0.0
    return (_spread_beyond_chance(np.asarray(moves), np.asarray(exposure)),
            _spread_beyond_chance(np.asarray(entries), np.ones((len(entries), len(entries[0])))))


def band_crossing_groups(band_starts: npt.NDArray[np.intp], slots: int
                         ) -> list[tuple[int, int, int]]:
    """Age slots moved together in a step, as (rates, first slot, end slot): rates b < B (the
    number of bands) are age band b's, B + b the mean of band b's hazards and the next band's
    (none after the last: care ends at 18). The last slot of a band holds children who cross
    into the next band half-way through the step on average, so it takes the mean of both (with
    its own band's rates alone, moves that begin at an age, such as into semi-independent
    living at 16, would start half a step late, and children would move for a whole step after
    leaving care at 18)."""
    n_bands = len(band_starts)
    groups = []
    for band, (first, end) in enumerate(zip(band_starts, [*band_starts[1:], slots],
                                            strict=True)):
        if end - 1 > first:
            groups.append((band, int(first), int(end) - 1))
        groups.append((n_bands + band, int(end) - 1, int(end)))
    return groups


def time_in_care_band(years: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into TIME_IN_CARE_BANDS for each time since the period of care began (years)."""
    lower = np.asarray(TIME_IN_CARE_LOWER_YEARS, dtype=float)
    index = np.searchsorted(lower, np.asarray(years, dtype=float), side="right") - 1
    return np.clip(index, 0, len(lower) - 1).astype(np.int64)


def _yearly(histories: CareHistories | CareColumns, until: datetime
            ) -> tuple[list[int], list[int], list[int]]:
    """Per collection year up to `until`: periods of care started, ended, and open on 1 April."""
    spells = histories.spells
    starts = np.asarray(spells["start"], dtype="datetime64[ns]")
    ends = np.asarray(spells["end"], dtype="datetime64[ns]")
    began: list[int] = []
    ended: list[int] = []
    open_at_start: list[int] = []
    for year in histories.collection_years:
        year_end = datetime(year, 3, 31)
        if year_end > until:
            continue
        first = np.datetime64(datetime(year - 1, 4, 1), "ns")
        last = np.datetime64(year_end, "ns")
        began.append(int(((starts >= first) & (starts <= last)).sum()))
        ended.append(int(((ends >= first) & (ends <= last)).sum()))
        open_at_start.append(int(((starts < first) & (np.isnat(ends) | (ends >= first))).sum()))
    return began, ended, open_at_start


def _drift_beyond_chance(counts: list[int], exposure: list[float]) -> float:
    """The sd of the year-on-year change in log(count / exposure), less the part Poisson chance
    explains (2 / mean count); zero with fewer than three years."""
    if len(counts) < 3 or min(counts) == 0 or min(exposure) <= 0:
        return 0.0
    changes = np.diff(np.log(np.asarray(counts, dtype=float) / np.asarray(exposure)))
    beyond_chance = float(np.mean(changes ** 2)) - 2.0 / float(np.mean(counts))
    return float(np.sqrt(max(beyond_chance, 0.0)))


def entry_drift(histories: CareHistories | CareColumns, until: datetime) -> float:
    """How much the yearly number of entries moves from one year to the next beyond chance, over
    the collection years up to `until` (see `_drift_beyond_chance`)."""
    began, _, _ = _yearly(histories, until)
    return _drift_beyond_chance(began, [1.0] * len(began))


def exit_drift(histories: CareHistories | CareColumns, until: datetime) -> float:
    """How much the yearly rate of leaving care (periods ended per child in care at 1 April or
    entering in the year) moves from one year to the next beyond chance."""
    began, ended, open_at_start = _yearly(histories, until)
    return _drift_beyond_chance(ended, [float(b + o) for b, o in zip(began, open_at_start,
                                                                       strict=True)])


class ChildLevelModel:
    """Multi-state projection of children in care from SSDA903 episodes (see module docstring)."""

    def __init__(self, window_years: float = 3.0, placement_map: Mapping[str, str] | None = None,
                 placements: Sequence[str] = PLACEMENTS, steps_per_year: int = 4,
                 n_draws: int = 200, seed: int = 903, rate_uncertainty: bool = True,
                 entry_window_years: float = 1.0) -> None:
        if steps_per_year not in (1, 2, 3, 4, 6, 12):
            raise ValueError("steps_per_year must divide 12 (1, 2, 3, 4, 6 or 12)")
        self.window_years = window_years
        self.entry_window_years = entry_window_years
        self.placement_map = placement_map
        self.placements = tuple(placements)
        self.steps_per_year = steps_per_year
        self.n_draws = n_draws
        self.seed = seed
        self.rate_uncertainty = rate_uncertainty
        self.rates_: FittedRates | None = None
        self.histories_: CareHistories | CareColumns | None = None
        self._initial: FloatArray | None = None

    # ------------------------------------------------------------------------------ fitting

    def fit(self, data: Ssda903Data | EpisodeColumns | CareHistories | CareColumns,
            reference_start: datetime | str | None = None,
            reference_end: datetime | str | None = None) -> ChildLevelModel:
        """Estimate moves over [reference_start, reference_end) (default: the last
        `window_years` of the data) and entries over its last `entry_window_years` (entries
        trend, so the latest year says most about the next; moves need the longer window's
        exposure: both chosen by the backtest), and take the care population at reference_end.
        Given `EpisodeColumns` (or `CareColumns`), the fit imports no pandas."""
        histories: CareHistories | CareColumns
        if isinstance(data, CareHistories | CareColumns):
            histories = data
        elif isinstance(data, EpisodeColumns):
            histories = history_columns(data, self.placement_map, self.placements)
        else:
            histories = build_histories(data, self.placement_map, self.placements)
        if histories.placements != self.placements:
            raise ValueError("the histories use other placement categories than the model")
        end = _timestamp(reference_end) if reference_end is not None else histories.data_end
        if end > histories.data_end:
            raise ValueError(f"reference end {end:%d/%m/%Y} is after the data end "
                             f"{histories.data_end:%d/%m/%Y}")
        first_day = (datetime(min(histories.collection_years) - 1, 4, 1)
                     if histories.collection_years
                     else _timestamp(np.asarray(histories.periods["start"]).min()))
        if reference_start is not None:
            start = _timestamp(reference_start)
            if start < first_day:
                raise ValueError(f"the reference window starts ({start:%d/%m/%Y}) before the "
                                 f"returns do ({first_day:%d/%m/%Y}): children who left care "
                                 "earlier are not in the data")
        else:
            start = max(first_day,
                        end - timedelta(days=round(self.window_years * DAYS_PER_YEAR)))
        if start >= end:
            raise ValueError("the reference window is empty")
        self.histories_ = histories
        arrays = CareArrays.of(histories)
        self.rates_ = self._estimate(arrays, start, end, histories)
        self._initial = self._stock_at(arrays, end)
        misfit = self._mix_misfit(arrays, max(first_day, _months_later(start, -12)), end)
        self.rates_ = replace(self.rates_, mix_misfit=misfit)
        return self

    def _mix_misfit(self, arrays: CareArrays, start: datetime, end: datetime) -> float:
        """How far the model's mix of children by age band and placement missed, beyond chance,
        when run a year before `end` (rates from `start`) against the children in care at `end`
        (see `_spread_beyond_chance`); zero when that leaves less than a year of returns."""
        earlier = _months_later(end, -12)
        if earlier - start < timedelta(days=365):
            return 0.0
        rerun = ChildLevelModel(self.window_years, self.placement_map, self.placements,
                                self.steps_per_year, rate_uncertainty=False,
                                entry_window_years=self.entry_window_years)
        rerun.rates_ = rerun._estimate(arrays, start, earlier)
        rerun._initial = rerun._stock_at(arrays, earlier)
        expected = rerun._simulate(1, 1, 0, None, stochastic=False).stock[0, -1]
        assert self._initial is not None
        slot_band = age_band_index(np.arange(self._initial.shape[0]) / self.steps_per_year)
        actual = np.zeros_like(expected)
        np.add.at(actual, slot_band, self._initial.sum(axis=1))
        return _spread_beyond_chance(np.stack([expected.reshape(-1), actual.reshape(-1)]),
                                     np.ones((2, expected.size)), first_counted=False)

    def _estimate(self, arrays: CareArrays, start: datetime, end: datetime,
                  histories: CareHistories | CareColumns | None = None) -> FittedRates:
        """Rates over [start, end), and (given the histories) how they drift from year to year."""
        w0, w1 = np.datetime64(start, "ns"), np.datetime64(end, "ns")
        e0 = max(w0, w1 - np.timedelta64(round(self.entry_window_years * DAYS_PER_YEAR), "D"))
        events, exposure = count_moves(arrays, w0, w1)
        entries = count_entries(arrays, w0, w1)
        recent = float(count_entries(arrays, e0, w1).sum())

        def years(since: np.datetime64) -> float:
            return float((w1 - since) / np.timedelta64(1, "D")) / DAYS_PER_YEAR

        rates = FittedRates(start, end, self.placements, events,
                            exposure, entries, years(w0), years(e0), recent,
                            pooling_years=pooling_weight(events, exposure),
                            entry_step_ageing=entry_step_ageing(arrays, w0, w1,
                                                                self.steps_per_year))
        if histories is None:
            return rates
        move, mix = cell_drifts(arrays, histories.collection_years, end)
        return replace(rates, entry_drift=entry_drift(histories, end),
                       exit_drift=exit_drift(histories, end), move_drift=move,
                       entry_mix_drift=mix)

    def _stock_at(self, arrays: CareArrays, when: datetime) -> FloatArray:
        """Children in care at `when` by age slot (steps_per_year per year of age), time in care
        (steps of the first year, then a year or more) and placement."""
        stamp = np.datetime64(when, "ns")
        in_care = np.flatnonzero((arrays.start <= stamp)
                                 & (np.isnat(arrays.end) | (arrays.end > stamp)))
        spy = self.steps_per_year
        day = np.timedelta64(1, "D")
        ages = np.floor((stamp - arrays.dob[in_care]) / day) / DAYS_PER_YEAR
        slots = spy * CARE_ENDS_AT_YEARS
        slot = np.clip(np.floor(ages * spy), 0, slots - 1).astype(int)
        in_care_years = (stamp - arrays.began[in_care]) / day / DAYS_PER_YEAR
        care_slot = np.clip(np.rint(in_care_years * spy), 0, spy).astype(int)
        return tally((slots, spy + 1, len(self.placements)), (slot, care_slot, arrays.place[in_care]))

    def opening_stock(self) -> FloatArray:
        """Children in care at the jump-off date (the reference end) by placement."""
        if self._initial is None:
            raise RuntimeError("ChildLevelModel is not fitted: call fit(data) first")
        return np.asarray(self._initial.sum(axis=(0, 1)))

    @property
    def rates(self) -> FittedRates:
        """The fitted rates (raises when `fit` has not been called)."""
        if self.rates_ is None:
            raise RuntimeError("ChildLevelModel is not fitted: call fit(data) first")
        return self.rates_

    def transition_rates(self) -> pd.DataFrame:
        """Tidy table of every move: age_band, from, to, events, exposure_years, rate_per_year
        (over all times in care)."""
        rates = self.rates
        hazards = rates.pooled_hazards
        events, exposure = rates.events.sum(axis=1), rates.exposure_years.sum(axis=1)
        targets = [*self.placements, EXIT]
        import pandas as pd

        rows = [(band, source, target, events[b, i, j], exposure[b, i], hazards[b, i, j])
                for b, band in enumerate(AGE_BANDS) for i, source in enumerate(self.placements)
                for j, target in enumerate(targets) if target != source]
        return pd.DataFrame(rows, columns=["age_band", "from", "to", "events", "exposure_years",
                                           "rate_per_year"])

    def entry_rates(self) -> pd.DataFrame:
        """Entries per year by age band and first placement (tidy)."""
        rates = self.rates
        bands = band_of_month_of_age()
        rows = []
        for b, band in enumerate(AGE_BANDS):
            per_year = rates.entries_per_year[bands == b].sum(axis=0)
            counts = rates.entries[bands == b].sum(axis=0)
            rows += [(band, p, counts[k], per_year[k]) for k, p in enumerate(self.placements)]
        import pandas as pd

        return pd.DataFrame(rows, columns=["age_band", "placement", "entries", "entries_per_year"])

    # ------------------------------------------------------------------------------ projection

    def _draw_parameters(self, rng: np.random.Generator, n_draws: int, uncertain: bool
                         ) -> tuple[FloatArray, FloatArray]:
        """Hazards (draws, bands, times in care, K, K+1) and entries per year (draws, months of
        age, K) for each draw: posterior draws when `uncertain`, else the posterior means. Each
        draw takes every age band's pooled rate from its Gamma posterior, then each rate by time
        in care from Gamma(events + w x that pooled rate, exposure + w) (so with heavy pooling the
        rates share their pooled rate's uncertainty rather than lose it); the entry level is
        Gamma and the entries' mix Dirichlet."""
        rates = self.rates
        shape, rate = rates.posterior
        shapes = np.broadcast_to(shape, (n_draws, *shape.shape))
        if not uncertain:
            return ((shapes / rate).copy(),
                    np.broadcast_to(rates.entries_per_year, (n_draws, *rates.entries.shape)))
        pooled_events = rates.events.sum(axis=1)
        pooled = np.broadcast_to(pooled_events, (n_draws, *pooled_events.shape))
        pooled = np.where(pooled > 0, rng.gamma(np.where(pooled > 0, pooled, 1.0)), 0.0) / (
            np.maximum(rates.exposure_years.sum(axis=1), 1e-12)[..., None])
        shapes = rates.events + rates.pooling_years * pooled[:, :, None]
        hazards = np.where(shapes > 0, rng.gamma(np.where(shapes > 0, shapes, 1.0)), 0.0) / rate
        counts = np.broadcast_to(rates.entries, (n_draws, *rates.entries.shape))
        mix = np.where(counts > 0, rng.gamma(np.where(counts > 0, counts, 1.0)), 0.0)
        mix /= np.maximum(mix.sum(axis=(1, 2), keepdims=True), 1e-12)
        level = (rng.gamma(rates.recent_entries, size=n_draws) if rates.recent_entries > 0
                 else np.zeros(n_draws))
        return hazards, mix * (level / rates.entry_window_years)[:, None, None]

    def _step_probabilities(self, hazards: FloatArray) -> FloatArray:
        """Chance of each move in one step, (..., K, K+1) with rows summing to 1: over each
        2**-SUBSTEP_HALVINGS of a step a child leaves their placement with probability
        1 - exp(-total hazard x time), for each destination in proportion to its hazard
        (competing risks), and those short steps are chained, so a child can move several
        times in a step (into a placement that seldom lasts a quarter, and out again)."""
        k = hazards.shape[-2]
        index = np.arange(k)
        moves = hazards.copy()
        moves[..., index, index] = 0.0
        total = moves.sum(axis=-1, keepdims=True)
        leave = -np.expm1(-total / (self.steps_per_year * 2 ** SUBSTEP_HALVINGS))
        step = np.zeros((*hazards.shape[:-2], k + 1, k + 1))
        step[..., :k, :] = np.divide(moves * leave, total, out=np.zeros_like(moves),
                                     where=total > 0)
        step[..., index, index] = 1.0 - leave[..., 0]
        step[..., k, k] = 1.0
        for _ in range(SUBSTEP_HALVINGS):
            step = np.matmul(step, step)
        return step[..., :k, :]

    def _simulate(self, horizon: int, n_draws: int, seed: int, scenario: RateScenario | None,
                  stochastic: bool = True) -> _Paths:
        if self._initial is None:
            raise RuntimeError("ChildLevelModel is not fitted: call fit(data) first")
        if horizon < 1:
            raise ValueError("horizon must be at least one year")
        rng = np.random.default_rng(seed)
        spy = self.steps_per_year
        steps = horizon * spy
        k = len(self.placements)
        slots = spy * CARE_ENDS_AT_YEARS
        slot_band = age_band_index(np.arange(slots) / spy)
        band_starts = np.flatnonzero(np.r_[True, slot_band[1:] != slot_band[:-1]])
        move_groups = band_crossing_groups(band_starts, slots)
        slot_stage = time_in_care_band(np.arange(spy + 1) / spy)
        uncertain = stochastic and self.rate_uncertainty
        hazards, entries_per_year = self._draw_parameters(rng, n_draws, uncertain)
        entry_factor = np.ones(len(AGE_BANDS))
        hazard_factor = np.ones((k, k + 1))
        if scenario is not None:
            entry_factor = scenario.entry_factors()
            hazard_factor = scenario.hazard_factors(self.placements)

        # (draws, time-in-care slots, age slots, cohort, placements); cohort 0 is the children in
        # care at the jump-off, cohort 1 those who enter later. Age slots and cohorts are
        # adjacent, so each draw and time in care moves a band's children in one matrix product.
        pop = np.zeros((n_draws, spy + 1, slots, 2, k))
        pop[:, :, :, 0] = self._initial.swapaxes(0, 1)
        expected = np.zeros((n_draws, steps + 1, 2, len(AGE_BANDS), k))
        starts = np.zeros((n_draws, steps))
        ceases = np.zeros((n_draws, steps, 2))
        base_entries = entries_per_year.reshape(n_draws, slots, -1, k).sum(axis=2) / spy
        first_in_care, entering_aged, entering_unmoved, entering_unaged = self._entry_step_shares(
            entries_per_year, base_entries)
        rates = self.rates
        level, exit_level = (self._random_walk(rng, drift if uncertain else 0.0, n_draws, horizon)
                             for drift in (rates.entry_drift, rates.exit_drift))
        move_level = self._random_walk(rng, rates.move_drift if uncertain else 0.0, n_draws,
                                       horizon, (len(AGE_BANDS), k, k + 1))
        mix_level = self._random_walk(rng, rates.entry_mix_drift if uncertain else 0.0, n_draws,
                                      horizon, (len(AGE_BANDS), k))[:, :, slot_band]
        last_effect, last_year = -1.0, -1
        step = arriving = moving_in = unaged = aged = unmoved = np.empty(0)
        moved = np.empty((*pop.shape[:-1], k + 1))
        unaged_moved = np.empty((n_draws, slots, k + 1))
        rows = pop.reshape(n_draws, spy + 1, -1, k)
        moved_rows = moved.reshape(n_draws, spy + 1, -1, k + 1)
        for t in range(steps):
            expected[:, t] = np.add.reduceat(pop.sum(axis=1), band_starts, axis=1).swapaxes(1, 2)
            effect = scenario.ramp((t + 0.5) / spy) if scenario is not None else 0.0
            if effect != last_effect or t // spy != last_year:
                factor = 1.0 + (hazard_factor - 1.0) * effect
                drifted = hazards * factor * move_level[:, t // spy, :, None]
                drifted[..., k] *= exit_level[:, t // spy, None, None, None]
                crossing = np.concatenate([drifted[:, 1:], np.zeros_like(drifted[:, :1])],
                                          axis=1)
                crossing = (drifted + crossing) / 2
                step = self._step_probabilities(np.concatenate([drifted, crossing], axis=1))[
                    :, :, slot_stage]
                arriving = (base_entries * (1.0 + (entry_factor - 1.0) * effect)[slot_band][
                    None, :, None] * level[:, t // spy, None, None] * mix_level[:, t // spy]) / 2
                moving_in, unaged = arriving * first_in_care, arriving * entering_unaged
                aged, unmoved = arriving * entering_aged, arriving * entering_unmoved
                last_effect, last_year = effect, t // spy
            pop[:, 0, :, 1] += moving_in
            for rates_of, first, last in move_groups:
                np.matmul(rows[:, :, 2 * first:2 * last], step[:, rates_of],
                          out=moved_rows[:, :, 2 * first:2 * last])
                np.matmul(unaged[:, first:last], step[:, rates_of, 0],
                          out=unaged_moved[:, first:last])
            # summed by age, then time in care, as before the axes were swapped (same figures)
            ceases[:, t] = (np.ascontiguousarray(moved[..., k].swapaxes(1, 2)).sum(axis=(1, 2))
                            + moved[:, :, -1, :, :k].sum(axis=(1, 3)))
            ceases[:, t, 1] += unaged_moved[..., k].sum(axis=1) + aged[:, -1].sum(axis=1)
            pop[:] = 0.0
            pop[:, 1:, 1:] = moved[:, :-1, :-1, :, :k]
            pop[:, -1, 1:] += moved[:, -1, :-1, :, :k]
            pop[:, 1, :, 1] += unaged_moved[..., :k]
            pop[:, 0, :, 1] += unmoved
            pop[:, 0, 1:, 1] += aged[:, :-1]
            starts[:, t] = 2 * arriving.sum(axis=(1, 2))
        expected[:, steps] = np.add.reduceat(pop.sum(axis=1), band_starts, axis=1).swapaxes(1, 2)
        stock = expected.sum(axis=2)
        if stochastic:
            stock[:, 1:], starts, ceases = self._chance(rng, expected, starts, ceases)
            if uncertain and rates.mix_misfit > 0:
                stock[:, 1:] = self._mix_noise(rng, stock[:, 1:], rates.mix_misfit,
                                               np.arange(1, steps + 1) / spy)
        else:
            ceases = ceases.sum(axis=2)
        jump_off = self.rates.reference_end
        dates = np.asarray([np.datetime64(_months_later(jump_off, 12 // spy * i), "ns")
                            for i in range(steps + 1)])
        return _Paths(dates, stock, starts, ceases)

    def _entry_step_shares(self, entries_per_year: FloatArray, base_entries: FloatArray
                           ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """How a step's entrants (draws, age slots, K) are tracked, as shares of half of them:
        moved over the step and aged a slot; aged but not moved; neither; moved but not aged.
        Entrants spend half the step in care on average, so half are moved; the share that ends
        the step an age slot older is the one counted in the returns (`entry_step_ageing`), not
        a half whatever the age (which grows babies who enter at birth up half a step early)."""
        months_per_slot = MONTHS_IN_CARE_AGE // base_entries.shape[1]
        ageing = self.rates.entry_step_ageing
        if ageing is None:
            ageing = evenly_spread_ageing(self.steps_per_year)
        aged_entries = (entries_per_year * ageing[:, None]).reshape(
            *base_entries.shape[:2], months_per_slot, -1).sum(axis=2) / self.steps_per_year
        twice = 2 * np.divide(aged_entries, base_entries, out=np.full_like(base_entries, 0.5),
                              where=base_entries > 0)
        return (np.minimum(twice, 1.0), np.maximum(twice - 1.0, 0.0),
                1.0 - np.maximum(twice - 1.0, 0.0), np.maximum(1.0 - twice, 0.0))

    @staticmethod
    def _chance(rng: np.random.Generator, expected: FloatArray, starts: FloatArray,
                ceases: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """One path of whole children around each draw's expected numbers (draws, dates, cohort,
        bands, K), expected starts (draws, steps) and ceases (draws, steps, cohort): starts are
        Poisson, and each step every child in care or entering leaves with the step's expected
        share of their cohort leaving (binomial), so children in care on each date are the last
        date's plus starts less ceases. On each date a cohort's children are spread over cells
        as expected (multinomial): the jump-off's children are each in one cell or out of care,
        later entrants in a cell Poisson (a thinned Poisson process), as the numbers expected
        imply. Returns children in care (draws, dates after the jump-off, bands, K), starts and
        ceases (draws, steps)."""
        totals = expected.sum(axis=(3, 4))
        n_draws, n_steps = starts.shape
        held = np.zeros((n_draws, n_steps + 1, 2))
        held[:, 0] = np.rint(totals[:, 0])
        drawn_starts = rng.poisson(starts).astype(float)
        drawn_ceases = np.zeros_like(ceases)
        for t in range(n_steps):
            arriving = np.stack([np.zeros(n_draws), drawn_starts[:, t]], axis=1)
            exposed = totals[:, t] + np.stack([np.zeros(n_draws), starts[:, t]], axis=1)
            leaving = np.clip(np.divide(ceases[:, t], exposed, out=np.zeros_like(exposed),
                                        where=exposed > 0), 0.0, 1.0)
            drawn_ceases[:, t] = rng.binomial((held[:, t] + arriving).astype(np.int64), leaving)
            held[:, t + 1] = held[:, t] + arriving - drawn_ceases[:, t]
        later = expected[:, 1:]
        cells = later.reshape(*later.shape[:3], -1)
        shares = np.divide(cells, totals[:, 1:, :, None], out=np.zeros_like(cells),
                           where=totals[:, 1:, :, None] > 0)
        shares[..., 0] += 1.0 - shares.sum(axis=3)
        drawn = rng.multinomial(held[:, 1:].astype(np.int64), np.clip(shares, 0.0, 1.0))
        return (drawn.sum(axis=2).reshape(*later.shape[:2], *later.shape[3:]).astype(float),
                drawn_starts, drawn_ceases.sum(axis=2))

    @staticmethod
    def _mix_noise(rng: np.random.Generator, stock: FloatArray, misfit: float,
                   years: FloatArray) -> FloatArray:
        """Children in care (draws, dates, bands, K) with each draw's mix across age bands and
        placements moved by the model's misfit: each cell scaled by a log-normal factor of sd
        `misfit` x sqrt(years ahead), fixed over dates, then all rescaled to the draw's total."""
        z = rng.normal(size=(stock.shape[0], 1, *stock.shape[2:]))
        spread = misfit * np.sqrt(years)[None, :, None, None]
        moved = stock * np.exp(spread * z - spread ** 2 / 2)
        total = stock.sum(axis=(2, 3), keepdims=True)
        scale = np.divide(total, moved.sum(axis=(2, 3), keepdims=True),
                          out=np.ones_like(total), where=total > 0)
        return moved * scale

    @staticmethod
    def _random_walk(rng: np.random.Generator, drift: float, n_draws: int, years: int,
                     cells: tuple[int, ...] = ()) -> FloatArray:
        """Per draw, a multiplier for each projection year (and each of `cells`, independently):
        a random walk in logs with steps of sd `drift`, each step's multiplier of mean 1. Draws
        come in antithetic pairs (steps z and -z), so the mean over draws is steadier."""
        if drift <= 0:
            return np.ones((n_draws, years, *cells))
        half = rng.normal(0.0, drift, ((n_draws + 1) // 2, years, *cells))
        steps = np.concatenate([half, -half])[:n_draws] - drift ** 2 / 2
        return np.exp(np.cumsum(steps, axis=1))

    def predict(self, horizon: int, level: Sequence[int] | int = (80,),
                n_draws: int | None = None, seed: int | None = None,
                scenario: RateScenario | None = None) -> pd.DataFrame:
        """Children in care at each future step date by placement and age band (with 'all'
        totals): mean and lo-<level>/hi-<level> simulation intervals. Tidy: date, placement,
        age_band, mean, lo-80, hi-80, ..."""
        return self.projection(horizon, level, n_draws, seed, scenario).to_frame()

    def projection(self, horizon: int, level: Sequence[int] | int = (80,),
                   n_draws: int | None = None, seed: int | None = None,
                   scenario: RateScenario | None = None) -> Projection:
        """What `predict` gives, as arrays (no pandas)."""
        levels = [level] if isinstance(level, int) else list(level)
        paths = self._simulate(horizon, n_draws or self.n_draws,
                               self.seed if seed is None else seed, scenario)
        stock = paths.stock
        full = np.concatenate([stock, stock.sum(axis=3, keepdims=True)], axis=3)
        full = np.concatenate([full, full.sum(axis=2, keepdims=True)], axis=2)
        bounds = {}
        for value in levels:
            lo, hi = np.percentile(full, [50 - value / 2, 50 + value / 2], axis=0)
            bounds[value] = (lo, hi)
        return Projection(paths.dates, (*AGE_BANDS, ALL_AGES), (*self.placements, ALL_PLACEMENTS),
                          full.mean(axis=0), bounds)

    def central_path(self, horizon: int, scenario: RateScenario | None = None) -> pd.DataFrame:
        """Expected children in care (no chance, fitted rates) by date, placement and age band."""
        import pandas as pd

        paths = self._simulate(horizon, 1, self.seed, scenario, stochastic=False)
        stock = paths.stock[0]
        index = pd.MultiIndex.from_product(
            [pd.DatetimeIndex(paths.dates), list(AGE_BANDS), list(self.placements)],
            names=["date", "age_band", "placement"])
        return pd.DataFrame({"expected": stock.reshape(-1)}, index=index).reset_index()

    def sample(self, horizon: int, n_draws: int, seed: int,
               scenario: RateScenario | None = None) -> DemandDraws:
        """Draws of children in care at each 31 March (by placement), starts and ceases per year,
        in the LA-level demand engine's format, so its scenarios and costs apply unchanged."""
        from sf_benefits.project.demand import DemandDraws

        paths = self._simulate(horizon, n_draws, seed, scenario)
        spy = self.steps_per_year
        year_ends = np.arange(1, horizon + 1) * spy
        cla = paths.stock[:, year_ends].sum(axis=2)
        starts = paths.starts.reshape(n_draws, horizon, spy).sum(axis=2)
        ceases = paths.ceases.reshape(n_draws, horizon, spy).sum(axis=2)
        first_year = int(self.rates.reference_end.year) + (
            1 if self.rates.reference_end.month > 3 else 0)
        years = np.arange(first_year + 1, first_year + horizon + 1)
        return DemandDraws(years=years, placements=self.placements, cla=cla, starts=starts,
                           ceases=ceases, population_0_17=np.full(horizon, np.nan))

    def to_history(self) -> pd.DataFrame:
        """The observed care history of the fitted data in the LA-level history format
        (la_code, year, measure, placement, value) for each collection year."""
        if self.histories_ is None:
            raise RuntimeError("ChildLevelModel is not fitted: call fit(data) first")
        histories = self.histories_
        return care_history_table(histories if isinstance(histories, CareHistories)
                                  else care_histories(histories))


@dataclass(frozen=True)
class Projection:
    """Children in care at each step date (the jump-off first) by age band and placement, both
    with their 'all' totals: the mean over draws and, per interval level, its lower and upper
    percentiles; each array (dates, age bands, placements)."""

    dates: npt.NDArray[np.datetime64]
    age_bands: tuple[str, ...]
    placements: tuple[str, ...]
    mean: FloatArray
    bounds: dict[int, tuple[FloatArray, FloatArray]]

    def to_frame(self) -> pd.DataFrame:
        """Tidy: date, placement, age_band, mean, lo-<level>, hi-<level> for each level."""
        import pandas as pd

        index = pd.MultiIndex.from_product([pd.DatetimeIndex(self.dates), list(self.age_bands),
                                            list(self.placements)],
                                           names=["date", "age_band", "placement"])
        frame = pd.DataFrame({"mean": self.mean.reshape(-1)}, index=index)
        for value, (lo, hi) in self.bounds.items():
            frame[f"lo-{value}"] = lo.reshape(-1)
            frame[f"hi-{value}"] = hi.reshape(-1)
        frame = frame.reset_index()
        return frame[["date", "placement", "age_band", "mean",
                      *[c for v in self.bounds for c in (f"lo-{v}", f"hi-{v}")]]]


def _timestamp(when: datetime | str | np.datetime64) -> datetime:
    """A date given as text, a datetime or numpy, as pandas reads it (imported only here)."""
    import pandas as pd

    return pd.Timestamp(when)


def _months_later(when: datetime, months: int) -> datetime:
    """`when` moved by whole months, the day held to the month's last (31 March plus three
    months is 30 June), as pandas' DateOffset does."""
    month = when.month - 1 + months
    year, month = when.year + month // 12, month % 12 + 1
    return when.replace(year=year, month=month,
                        day=min(when.day, calendar.monthrange(year, month)[1]))


def care_history_table(histories: CareHistories) -> pd.DataFrame:
    """CLA at 31 March by placement, starts and ceases per year ending 31 March, from histories."""
    import pandas as pd

    periods = histories.periods
    spells = histories.spells
    start = periods["start"].to_numpy(dtype="datetime64[ns]")
    end = periods["end"].to_numpy(dtype="datetime64[ns]")
    rows: list[tuple[str, int, str, str, float]] = []
    for year in histories.collection_years:
        year_end = np.datetime64(pd.Timestamp(year=year, month=3, day=31), "ns")
        year_start = np.datetime64(pd.Timestamp(year=year - 1, month=4, day=1), "ns")
        in_care = (start <= year_end) & (np.isnat(end) | (end > year_end))
        counts = periods["placement"][in_care].value_counts()
        for place in histories.placements:
            rows.append((histories.la_code, year, CLA, place, float(counts.get(place, 0))))
        rows.append((histories.la_code, year, CLA, ALL_PLACEMENTS, float(in_care.sum())))
        spell_start = spells["start"].to_numpy(dtype="datetime64[ns]")
        spell_end = spells["end"].to_numpy(dtype="datetime64[ns]")
        began = (spell_start >= year_start) & (spell_start <= year_end)
        ended = (~np.isnat(spell_end)) & (spell_end >= year_start) & (spell_end <= year_end)
        rows.append((histories.la_code, year, STARTS, ALL_PLACEMENTS, float(began.sum())))
        rows.append((histories.la_code, year, CEASES, ALL_PLACEMENTS, float(ended.sum())))
    return pd.DataFrame(rows, columns=["la_code", "year", "measure", "placement", "value"])
