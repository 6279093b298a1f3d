"""Multi-state model of children in care, fitted to an LA's own SSDA903 episodes.

States are placement categories; out of care is absorbing. Transition hazards by age band are
occurrence/exposure rates (moves per child-year) over a reference window, entries are counts per
year by single year of age and first placement. The projection ages children step by step
(quarterly by default, ages tracked to the same step), moves them with the one-step transition
matrices exp(Q dt), takes every child out of care on their 18th birthday and adds entries.
Uncertainty combines rate uncertainty (a Gamma posterior draw of every rate per draw), random
walks of the entry level and of the rate of leaving care from year to year as wide as the returns'
own year-on-year changes beyond chance (`entry_drift`, `exit_drift`), and chance (multinomial
moves and Poisson entries). Everything is vectorised over draws, ages and placements.

The interface follows the project's models: the constructor stores settings, `fit` returns self,
`predict(horizon, level)` gives a tidy frame of mean and intervals, `sample(horizon, n_draws,
seed)` gives DemandDraws that the LA-level scenario and money engine consumes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS, MEASURES, PLACEMENTS
from sf_benefits.project.childlevel.ages import (
    AGE_BANDS,
    CARE_ENDS_AT_YEARS,
    DAYS_PER_YEAR,
    age_band_index,
)
from sf_benefits.project.childlevel.histories import (
    EXIT,
    CareHistories,
    age_in_years,
    band_exposure_days,
    build_histories,
)
from sf_benefits.ssda903_data import Ssda903Data

if TYPE_CHECKING:
    from sf_benefits.project.demand import DemandDraws

ALL_AGES = "all"
CLA, STARTS, CEASES = MEASURES[0], MEASURES[1], MEASURES[2]
FloatArray = npt.NDArray[np.float64]


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

    reference_start: pd.Timestamp
    reference_end: pd.Timestamp
    placements: tuple[str, ...]
    events: FloatArray  # (bands, placements, placements + exit)
    exposure_years: FloatArray  # (bands, placements)
    entries: FloatArray  # (18 single years of age, placements) over the window
    window_years: float
    entry_drift: float = 0.0
    """Year-to-year spread (sd of the log) of the entry level beyond chance, from the returns."""
    exit_drift: float = 0.0
    """The same for the rate of leaving care."""

    @property
    def hazards(self) -> FloatArray:
        """Moves per child-year, (bands, from, to/exit); zero where there was no exposure."""
        exposure = self.exposure_years[:, :, None]
        return np.divide(self.events, exposure, out=np.zeros_like(self.events),
                         where=exposure > 0)

    @property
    def entries_per_year(self) -> FloatArray:
        """Entries per year by single year of age and first placement."""
        return self.entries / self.window_years


@dataclass
class _Paths:
    """Simulated stock at every step by age band and placement, and flows in each step."""

    dates: pd.DatetimeIndex
    stock: FloatArray  # (draws, steps + 1, bands, placements)
    starts: FloatArray  # (draws, steps)
    ceases: FloatArray  # (draws, steps)


@dataclass(frozen=True)
class _StepKernel:
    """Per (draw, age, placement) cell: chance of moving in a step, and where movers go."""

    move: FloatArray  # (cells,)
    away: FloatArray  # (cells, K+1), own placement zeroed, rows sum to 1 (or 0)

    @classmethod
    def of(cls, matrices: FloatArray) -> _StepKernel:
        """From one-step matrices (draws, slots, K+1, K+1)."""
        k = matrices.shape[-1] - 1
        rows = matrices[:, :, :k, :].reshape(-1, k + 1).copy()
        own = np.tile(np.arange(k), rows.shape[0] // k)
        index = np.arange(rows.shape[0])
        move = np.clip(1.0 - rows[index, own], 0.0, 1.0)
        rows[index, own] = 0.0
        total = rows.sum(axis=1, keepdims=True)
        away = np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)
        return cls(move, away)


def matrix_exponential(generators: FloatArray, order: int = 16) -> FloatArray:
    """exp(A) of each square matrix in the last two axes, by scaling and squaring a Taylor series:
    A is halved until every row sum of |A| is at most 1/2, so the series cut after `order` terms
    is exact to 0.5**17 / 17! (under 1e-19) before squaring back. Done for all matrices at once
    with matmul: scipy.linalg.expm gives the same to 1e-14 but takes 1.5 ms a matrix, one by one
    (a second and a half for the 1,000 of a projection year)."""
    size = generators.shape[-1]
    norm = float(np.abs(generators).sum(axis=-1).max(initial=0.0))
    halvings = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0 else 0
    scaled = generators / 2.0 ** halvings
    term = np.broadcast_to(np.eye(size), generators.shape).copy()
    total = term.copy()
    for n in range(1, order + 1):
        term = (term @ scaled) / n
        total += term
    for _ in range(halvings):
        total = total @ total
    return total


def _split_arrivals(per_step: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Split a step's expected entries (by the age slot they enter at) into the half added
    before the step's moves and ageing and the half added after: entrants then face moves for
    half a step and end the step half a slot older, on average, as arrivals spread over a step."""
    half = per_step * 0.5
    return half, half.copy()


def _yearly(histories: CareHistories, until: pd.Timestamp
            ) -> tuple[list[int], list[int], list[int]]:
    """Per collection year up to `until`: periods of care started, ended, and open on 1 April."""
    spells = histories.spells
    starts = spells["start"].to_numpy(dtype="datetime64[ns]")
    ends = spells["end"].to_numpy(dtype="datetime64[ns]")
    began: list[int] = []
    ended: list[int] = []
    open_at_start: list[int] = []
    for year in histories.collection_years:
        year_end = pd.Timestamp(year=year, month=3, day=31)
        if year_end > until:
            continue
        first = np.datetime64(pd.Timestamp(year=year - 1, month=4, day=1), "ns")
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


def entry_drift(histories: CareHistories, until: pd.Timestamp) -> float:
    """How much the yearly number of entries moves from one year to the next beyond chance, over
    the collection years up to `until` (see `_drift_beyond_chance`)."""
    began, _, _ = _yearly(histories, until)
    return _drift_beyond_chance(began, [1.0] * len(began))


def exit_drift(histories: CareHistories, until: pd.Timestamp) -> float:
    """How much the yearly rate of leaving care (periods ended per child in care at 1 April or
    entering in the year) moves from one year to the next beyond chance."""
    began, ended, open_at_start = _yearly(histories, until)
    return _drift_beyond_chance(ended, [float(b + o) for b, o in zip(began, open_at_start,
                                                                       strict=True)])


class ChildLevelModel:
    """Multi-state projection of children in care from SSDA903 episodes (see module docstring)."""

    def __init__(self, window_years: float = 2.0, placement_map: Mapping[str, str] | None = None,
                 placements: Sequence[str] = PLACEMENTS, steps_per_year: int = 4,
                 n_draws: int = 200, seed: int = 903, rate_uncertainty: bool = True) -> None:
        if steps_per_year not in (1, 2, 3, 4, 6, 12):
            raise ValueError("steps_per_year must divide 12 (1, 2, 3, 4, 6 or 12)")
        self.window_years = window_years
        self.placement_map = placement_map
        self.placements = tuple(placements)
        self.steps_per_year = steps_per_year
        self.n_draws = n_draws
        self.seed = seed
        self.rate_uncertainty = rate_uncertainty
        self.rates_: FittedRates | None = None
        self.histories_: CareHistories | None = None
        self._initial: FloatArray | None = None

    # ------------------------------------------------------------------------------ fitting

    def fit(self, data: Ssda903Data | CareHistories, reference_start: pd.Timestamp | None = None,
            reference_end: pd.Timestamp | None = None) -> ChildLevelModel:
        """Estimate rates over [reference_start, reference_end) (default: the last
        `window_years` of the data) and take the care population at reference_end."""
        histories = (data if isinstance(data, CareHistories)
                     else build_histories(data, self.placement_map, self.placements))
        if histories.placements != self.placements:
            raise ValueError("the histories use other placement categories than the model")
        end = pd.Timestamp(reference_end) if reference_end is not None else histories.data_end
        if end > histories.data_end:
            raise ValueError(f"reference end {end:%d/%m/%Y} is after the data end "
                             f"{histories.data_end:%d/%m/%Y}")
        first_day = (pd.Timestamp(year=min(histories.collection_years) - 1, month=4, day=1)
                     if histories.collection_years else histories.periods["start"].min())
        if reference_start is not None:
            start = pd.Timestamp(reference_start)
            if start < first_day:
                raise ValueError(f"the reference window starts ({start:%d/%m/%Y}) before the "
                                 f"returns do ({first_day:%d/%m/%Y}): children who left care "
                                 "earlier are not in the data")
        else:
            start = max(first_day,
                        end - pd.DateOffset(days=round(self.window_years * DAYS_PER_YEAR)))
        if start >= end:
            raise ValueError("the reference window is empty")
        self.histories_ = histories
        self.rates_ = self._estimate(histories, start, end)
        self._initial = self._stock_at(histories, end)
        return self

    def _estimate(self, histories: CareHistories, start: pd.Timestamp, end: pd.Timestamp
                  ) -> FittedRates:
        periods = histories.periods
        n_bands, n_places = len(AGE_BANDS), len(self.placements)
        w0 = np.datetime64(start, "ns")
        w1 = np.datetime64(end, "ns")
        first = np.maximum(periods["start"].to_numpy(dtype="datetime64[ns]"), w0)
        raw_end = periods["end"].to_numpy(dtype="datetime64[ns]")
        last = np.minimum(np.where(np.isnat(raw_end), w1, raw_end), w1)
        dob = periods["dob"].to_numpy(dtype="datetime64[ns]")
        place = pd.Categorical(periods["placement"], categories=list(self.placements)).codes
        days = band_exposure_days(dob, first, last)
        exposure = np.zeros((n_bands, n_places))
        for band in range(n_bands):
            exposure[band] = np.bincount(place, weights=days[:, band], minlength=n_places)

        targets = [*self.placements, EXIT]
        next_state = periods["next"].to_numpy()
        ended = (~np.isnat(raw_end)) & (raw_end >= w0) & (raw_end < w1)
        counted = ended & (next_state != "open") & ~periods["aged_out"].to_numpy()
        target_index = pd.Categorical(next_state[counted], categories=targets).codes
        end_age = age_in_years(pd.Series(dob[counted]), pd.Series(raw_end[counted]))
        band_at_end = age_band_index(end_age - 0.5 / DAYS_PER_YEAR)
        events = np.zeros((n_bands, n_places, n_places + 1))
        np.add.at(events, (band_at_end, place[counted], target_index), 1.0)

        spells = histories.spells
        spell_start = spells["start"].to_numpy(dtype="datetime64[ns]")
        entering = (spell_start >= w0) & (spell_start < w1)
        entry_age = np.clip(np.floor(spells["age_at_start"].to_numpy()[entering]), 0,
                            CARE_ENDS_AT_YEARS - 1).astype(int)
        entry_place = pd.Categorical(spells["entry_placement"].to_numpy()[entering],
                                     categories=list(self.placements)).codes
        entries = np.zeros((CARE_ENDS_AT_YEARS, n_places))
        np.add.at(entries, (entry_age, entry_place), 1.0)
        window_years = float((w1 - w0) / np.timedelta64(1, "D")) / DAYS_PER_YEAR
        return FittedRates(pd.Timestamp(start), pd.Timestamp(end), self.placements, events,
                           exposure / DAYS_PER_YEAR, entries, window_years,
                           entry_drift(histories, end), exit_drift(histories, end))


    def _stock_at(self, histories: CareHistories, when: pd.Timestamp) -> FloatArray:
        """Children in care at `when` by age slot (steps_per_year per year of age) and placement."""
        periods = histories.periods
        stamp = np.datetime64(when, "ns")
        start = periods["start"].to_numpy(dtype="datetime64[ns]")
        end = periods["end"].to_numpy(dtype="datetime64[ns]")
        in_care = (start <= stamp) & (np.isnat(end) | (end > stamp))
        ages = age_in_years(periods["dob"][in_care], when)
        slots = self.steps_per_year * CARE_ENDS_AT_YEARS
        slot = np.clip(np.floor(ages * self.steps_per_year), 0, slots - 1).astype(int)
        place = pd.Categorical(periods["placement"][in_care],
                               categories=list(self.placements)).codes
        stock = np.zeros((slots, len(self.placements)))
        np.add.at(stock, (slot, place), 1.0)
        return stock

    def opening_stock(self) -> FloatArray:
        """Children in care at the jump-off date (the reference end) by placement."""
        if self._initial is None:
            raise RuntimeError("ChildLevelModel is not fitted: call fit(data) first")
        return np.asarray(self._initial.sum(axis=0))

    @property
    def rates(self) -> FittedRates:
        """The fitted rates (raises when `fit` has not been called)."""
        if self.rates_ is None:
            raise RuntimeError("ChildLevelModel is not fitted: call fit(data) first")
        return self.rates_

    def transition_rates(self) -> pd.DataFrame:
        """Tidy table of every move: age_band, from, to, events, exposure_years, rate_per_year."""
        rates = self.rates
        hazards = rates.hazards
        targets = [*self.placements, EXIT]
        rows = [(band, source, target, rates.events[b, i, j], rates.exposure_years[b, i],
                 hazards[b, i, j])
                for b, band in enumerate(AGE_BANDS) for i, source in enumerate(self.placements)
                for j, target in enumerate(targets) if target != source]
        return pd.DataFrame(rows, columns=["age_band", "from", "to", "events", "exposure_years",
                                           "rate_per_year"])

    def entry_rates(self) -> pd.DataFrame:
        """Entries per year by age band and first placement (tidy)."""
        rates = self.rates
        bands = age_band_index(np.arange(CARE_ENDS_AT_YEARS))
        rows = []
        for b, band in enumerate(AGE_BANDS):
            per_year = rates.entries_per_year[bands == b].sum(axis=0)
            counts = rates.entries[bands == b].sum(axis=0)
            rows += [(band, p, counts[k], per_year[k]) for k, p in enumerate(self.placements)]
        return pd.DataFrame(rows, columns=["age_band", "placement", "entries", "entries_per_year"])

    # ------------------------------------------------------------------------------ projection

    def _draw_parameters(self, rng: np.random.Generator, n_draws: int, uncertain: bool
                         ) -> tuple[FloatArray, FloatArray]:
        """Hazards (draws, bands, K, K+1) and entries per year (draws, ages, K) for each draw:
        Gamma posterior draws when `uncertain`, else the fitted rates."""
        rates = self.rates
        if not uncertain:
            return (np.broadcast_to(rates.hazards, (n_draws, *rates.hazards.shape)).copy(),
                    np.broadcast_to(rates.entries_per_year,
                                    (n_draws, *rates.entries.shape)).copy())
        exposure = rates.exposure_years[:, :, None]
        shape = np.broadcast_to(rates.events, (n_draws, *rates.events.shape))
        scale = np.divide(1.0, exposure, out=np.zeros_like(exposure), where=exposure > 0)
        hazards = rng.gamma(np.where(shape > 0, shape, 1.0)) * scale
        hazards = np.where(shape > 0, hazards, 0.0)
        counts = np.broadcast_to(rates.entries, (n_draws, *rates.entries.shape))
        entries = np.where(counts > 0, rng.gamma(np.where(counts > 0, counts, 1.0)), 0.0)
        return hazards, entries / rates.window_years

    def _step_matrices(self, hazards: FloatArray) -> FloatArray:
        """One-step transition probabilities exp(Q dt), (draws, bands, K+1, K+1), rows sum to 1."""
        n_draws, n_bands, k, _ = hazards.shape
        generator = np.zeros((n_draws, n_bands, k + 1, k + 1))
        generator[:, :, :k, :] = hazards
        index = np.arange(k)
        generator[:, :, index, index] = 0.0
        generator[:, :, index, index] = -generator[:, :, :k, :].sum(axis=3)
        step = matrix_exponential(generator / self.steps_per_year)
        step = np.clip(step, 0.0, None)
        return np.asarray(step / step.sum(axis=3, keepdims=True))

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
        slot_year = np.arange(slots) // spy
        hazards, entries_per_year = self._draw_parameters(
            rng, n_draws, uncertain=stochastic and self.rate_uncertainty)
        entry_factor = np.ones(len(AGE_BANDS))
        hazard_factor = np.ones((k, k + 1))
        if scenario is not None:
            entry_factor = scenario.entry_factors()
            hazard_factor = scenario.hazard_factors(self.placements)

        pop = np.broadcast_to(self._initial, (n_draws, slots, k)).astype(float)
        if stochastic:
            pop = np.rint(pop)
        stock = np.zeros((n_draws, steps + 1, len(AGE_BANDS), k))
        stock[:, 0] = np.add.reduceat(pop, band_starts, axis=1)
        starts = np.zeros((n_draws, steps))
        ceases = np.zeros((n_draws, steps))
        last_effect, last_year = -1.0, -1
        matrices = np.empty(0)
        kernel = _StepKernel(np.empty(0), np.empty((0, k + 1)))
        base_entries = entries_per_year[:, slot_year, :] / (spy * spy)
        drifting = stochastic and self.rate_uncertainty
        level, exit_level = (self._random_walk(rng, drift if drifting else 0.0, n_draws, horizon)
                             for drift in (self.rates.entry_drift, self.rates.exit_drift))
        for t in range(steps):
            effect = scenario.ramp((t + 0.5) / spy) if scenario is not None else 0.0
            if effect != last_effect or t // spy != last_year:
                factor = 1.0 + (hazard_factor - 1.0) * effect
                drifted = hazards * factor[None, None]
                drifted[..., k] *= exit_level[:, t // spy, None, None]
                matrices = self._step_matrices(drifted)[:, slot_band]
                kernel = _StepKernel.of(matrices) if stochastic else kernel
                entry_now = base_entries * (1.0 + (entry_factor - 1.0) * effect)[slot_band][
                    None, :, None]
                early, late = _split_arrivals(entry_now)
                last_effect, last_year = effect, t // spy
            if stochastic:
                year_level = level[:, t // spy, None, None]
                arriving_early = rng.poisson(early * year_level).astype(float)
                moved = self._multinomial_moves(rng, pop + arriving_early, kernel)
                arriving_late = rng.poisson(late * year_level).astype(float)
            else:
                arriving_early = early
                moved = np.einsum("dak,dakj->daj", pop + early, matrices[:, :, :k, :])
                arriving_late = late
            leaving = moved[:, :, k].sum(axis=1) + moved[:, -1, :k].sum(axis=1)
            aged = np.zeros_like(pop)
            aged[:, 1:] = moved[:, :-1, :k]
            pop = aged + arriving_late
            starts[:, t] = arriving_early.sum(axis=(1, 2)) + arriving_late.sum(axis=(1, 2))
            ceases[:, t] = leaving
            stock[:, t + 1] = np.add.reduceat(pop, band_starts, axis=1)
        jump_off = self.rates.reference_end
        dates = pd.DatetimeIndex([jump_off + pd.DateOffset(months=12 // spy * i)
                                  for i in range(steps + 1)])
        return _Paths(dates, stock, starts, ceases)

    @staticmethod
    def _random_walk(rng: np.random.Generator, drift: float, n_draws: int, years: int
                     ) -> FloatArray:
        """Per draw, a multiplier for each projection year: a random walk in logs with steps of
        sd `drift`, each step's multiplier of mean 1."""
        return np.exp(np.cumsum(rng.normal(-drift ** 2 / 2, drift, (n_draws, years)), axis=1))

    @staticmethod
    def _multinomial_moves(rng: np.random.Generator, pop: FloatArray, kernel: _StepKernel
                           ) -> FloatArray:
        """Where each child goes in one step: (draws, slots, K+1) counts by destination.

        Equivalent to one multinomial draw per occupied (draw, age, placement) cell, done as a
        binomial draw of the children who move and a multinomial over destinations for the few
        cells with movers.
        """
        n_draws, slots, k = pop.shape
        counts = pop.reshape(-1).astype(np.int64)
        occupied = np.flatnonzero(counts)
        movers = rng.binomial(counts[occupied], kernel.move[occupied])
        destinations = np.zeros((n_draws * slots, k + 1))
        flat = destinations.reshape(-1)
        stayers = counts[occupied] - movers
        flat[(occupied // k) * (k + 1) + occupied % k] += stayers
        moving = movers > 0
        if moving.any():
            cells = occupied[moving]
            drawn = rng.multinomial(movers[moving], kernel.away[cells])
            which, target = np.nonzero(drawn)
            flat += np.bincount((cells[which] // k) * (k + 1) + target,
                                weights=drawn[which, target], minlength=flat.size)
        return destinations.reshape(n_draws, slots, k + 1)

    def predict(self, horizon: int, level: Sequence[int] | int = (80,),
                n_draws: int | None = None, seed: int | None = None,
                scenario: RateScenario | None = None) -> pd.DataFrame:
        """Children in care at each future step date by placement and age band (with 'all'
        totals): mean and lo-<level>/hi-<level> simulation intervals. Tidy: date, placement,
        age_band, mean, lo-80, hi-80, ..."""
        levels = [level] if isinstance(level, int) else list(level)
        paths = self._simulate(horizon, n_draws or self.n_draws,
                               self.seed if seed is None else seed, scenario)
        stock = paths.stock
        full = np.concatenate([stock, stock.sum(axis=3, keepdims=True)], axis=3)
        full = np.concatenate([full, full.sum(axis=2, keepdims=True)], axis=2)
        bands = [*AGE_BANDS, ALL_AGES]
        places = [*self.placements, ALL_PLACEMENTS]
        index = pd.MultiIndex.from_product([paths.dates, bands, places],
                                           names=["date", "age_band", "placement"])
        frame = pd.DataFrame({"mean": full.mean(axis=0).reshape(-1)}, index=index)
        for value in levels:
            lo, hi = np.percentile(full, [50 - value / 2, 50 + value / 2], axis=0)
            frame[f"lo-{value}"] = lo.reshape(-1)
            frame[f"hi-{value}"] = hi.reshape(-1)
        frame = frame.reset_index()
        return frame[["date", "placement", "age_band", "mean",
                      *[c for v in levels for c in (f"lo-{v}", f"hi-{v}")]]]

    def central_path(self, horizon: int, scenario: RateScenario | None = None) -> pd.DataFrame:
        """Expected children in care (no chance, fitted rates) by date, placement and age band."""
        paths = self._simulate(horizon, 1, self.seed, scenario, stochastic=False)
        stock = paths.stock[0]
        index = pd.MultiIndex.from_product([paths.dates, list(AGE_BANDS), list(self.placements)],
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
        return care_history_table(self.histories_)


def care_history_table(histories: CareHistories) -> pd.DataFrame:
    """CLA at 31 March by placement, starts and ceases per year ending 31 March, from histories."""
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
