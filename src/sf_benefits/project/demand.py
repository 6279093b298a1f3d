"""Baseline demand for care: CLA at 31 March, starts and ceases by placement, projected from an LA's
own history, with prediction intervals and vectorised Monte Carlo draws.

Every model follows the same sklearn/statsforecast-style contract: the constructor stores settings,
`fit(history)` learns from one LA's tidy history, `predict(horizon, level)` returns a tidy frame of
central values and intervals, `sample(horizon, n_draws, seed)` returns `DemandDraws`.
"""

from __future__ import annotations

import copy
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import special, stats

from sf_benefits.project.categories import ALL_PLACEMENTS, MEASURES, PLACEMENTS

CLA = "cla_31_march"
STARTS = "starts"
CEASES = "ceases"
POPULATION = "population_0_17"
HISTORY_COLUMNS: tuple[str, ...] = ("la_code", "year", "measure", "placement", "value")
PER_10K = 10_000.0

SeriesKey = tuple[str, str]
TOTAL_KEY: SeriesKey = (CLA, ALL_PLACEMENTS)


class DemandModelError(ValueError):
    """The history cannot support the model (wrong shape, too short, a needed measure missing)."""


# --------------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------------


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
                           self.population[keep])

    def value(self, measure: str, year: int, placement: str = ALL_PLACEMENTS) -> float:
        """One recorded value (NaN when the year is outside the history or the value is missing)."""
        index = np.searchsorted(self.years, year)
        if index >= self.years.size or self.years[index] != year:
            return float("nan")
        if measure == CLA:
            if placement == ALL_PLACEMENTS:
                return float(self.cla_total[index])
            return float(self.cla_by_placement[index, PLACEMENTS.index(placement)])
        series = {STARTS: self.starts, CEASES: self.ceases, POPULATION: self.population}[measure]
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
                       series(POPULATION))


# --------------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandDraws:
    """Monte Carlo draws of demand: D draws × H years (× P placements for CLA at 31 March)."""

    years: np.ndarray
    placements: tuple[str, ...]
    cla: np.ndarray
    starts: np.ndarray
    ceases: np.ndarray
    population_0_17: np.ndarray

    def __post_init__(self) -> None:
        draws, horizon = self.starts.shape
        if self.cla.shape != (draws, horizon, len(self.placements)):
            raise ValueError(f"cla has shape {self.cla.shape}, expected "
                             f"{(draws, horizon, len(self.placements))}")
        if self.ceases.shape != (draws, horizon) or self.years.shape != (horizon,):
            raise ValueError("starts, ceases and years disagree on the number of draws or years")
        if self.population_0_17.shape != (horizon,):
            raise ValueError("population_0_17 must have one value per projected year")

    @property
    def cla_total(self) -> np.ndarray:
        """Total children looked after at 31 March, D × H."""
        return np.asarray(self.cla.sum(axis=2))


# --------------------------------------------------------------------------------------------------
# Small statistical helpers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trend:
    """An OLS line fitted on recent years, expressed as level at the origin and slope per year."""

    level: float
    slope: float
    sigma: float
    covariance: np.ndarray
    df: int

    def offsets(self, horizon: int, damping: float) -> np.ndarray:
        """Cumulative trend multipliers: h for an undamped trend, phi + … + phi^h when damped."""
        return np.cumsum(damping ** np.arange(1, horizon + 1))

    def central(self, horizon: int, damping: float) -> np.ndarray:
        """The fitted line projected `horizon` years past the origin."""
        return self.level + self.slope * self.offsets(horizon, damping)

    def draws(self, horizon: int, damping: float, n_draws: int, rng: np.random.Generator,
              width: int = 1) -> np.ndarray:
        """Paths (n_draws × horizon × width) with parameter uncertainty shared along each path and
        independent yearly noise; a chi-square factor gives Student-t tails from a short fit."""
        shape = (n_draws, width)
        if self.sigma > 0:
            chol = np.linalg.cholesky(self.covariance + np.eye(2) * 1e-12)
            z = rng.standard_normal((n_draws, width, 2))
            params = z @ chol.T
            noise = rng.standard_normal((n_draws, horizon, width)) * self.sigma
            scale = np.sqrt(self.df / rng.chisquare(self.df, size=(n_draws, 1, 1)))
        else:
            params = np.zeros((*shape, 2))
            noise = np.zeros((n_draws, horizon, width))
            scale = np.ones((n_draws, 1, 1))
        steps = self.offsets(horizon, damping)[None, :, None]
        deviation = (params[:, None, :, 0] + params[:, None, :, 1] * steps + noise) * scale
        return np.asarray(self.central(horizon, damping)[None, :, None] + deviation)


def _fit_trend(x: np.ndarray, y: np.ndarray, origin: int) -> _Trend:
    """OLS of y on x; the level is the fitted value at `origin` (flat through a single point)."""
    n = y.size
    if n == 0:
        raise DemandModelError("no observations to fit")
    if n == 1:
        return _Trend(float(y[0]), 0.0, 0.0, np.zeros((2, 2)), 1)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx
    level = float(y.mean() + slope * (origin - x.mean()))
    residuals = y - (y.mean() + slope * xc)
    df = n - 2
    sigma = float(np.sqrt(residuals @ residuals / df)) if df > 0 else 0.0
    lever = origin - x.mean()
    var_slope = sigma**2 / sxx
    cov = np.array([[sigma**2 / n + lever**2 * var_slope, lever * var_slope],
                    [lever * var_slope, var_slope]])
    return _Trend(level, slope, sigma, cov, max(df, 1))


def _recent(x: np.ndarray, y: np.ndarray, window: int | None) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if window is not None:
        x, y = x[-window:], y[-window:]
    return x.astype(float), y.astype(float)


def project_population(history: CareHistory, years: np.ndarray,
                       supplied: Mapping[int, float] | None = None, window: int = 5) -> np.ndarray:
    """Population aged 0–17 for `years`: the supplied projection, else a linear trend on the last
    `window` recorded years (NaN when the history holds no population at all)."""
    if supplied is not None:
        missing = [int(y) for y in years if int(y) not in supplied]
        if missing:
            raise DemandModelError(f"supplied population projection lacks years {missing}")
        return np.array([float(supplied[int(y)]) for y in years])
    x, y = _recent(history.years, history.population, window)
    if y.size == 0:
        return np.full(years.size, np.nan)
    trend = _fit_trend(x, y, int(x[-1]))
    return np.maximum(trend.level + trend.slope * (years - x[-1]), 0.0)


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


# --------------------------------------------------------------------------------------------------
# Model contract
# --------------------------------------------------------------------------------------------------


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 200.0))


def _check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError("horizon must be at least one year")


def _levels(level: Sequence[int] | int) -> list[int]:
    levels = [level] if isinstance(level, int) else list(level)
    for value in levels:
        if not 0 < value < 100:
            raise ValueError(f"interval level {value} must be between 0 and 100")
    return levels


def _frame_rows(years: np.ndarray, measure: str, placement: str, mean: np.ndarray,
                bounds: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    row: dict[str, Any] = {"year": years, "measure": measure, "placement": placement,
                           "mean": mean}
    for level, (lo, hi) in bounds.items():
        row[f"lo-{level}"] = lo
        row[f"hi-{level}"] = hi
    return row


def _to_frame(parts: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)
    frame["year"] = frame["year"].astype(int)
    return frame


@dataclass(frozen=True)
class TotalForecast:
    """Total CLA at 31 March projected from `origin`: central value and interval, one per year."""

    origin: int
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, origin: int, forecast: SeriesForecast, level: int) -> TotalForecast:
        """From a univariate forecast, floored at zero children."""
        lo, hi = forecast.bounds(level)
        return cls(origin, np.maximum(forecast.mean, 0.0), lo, hi)


class DemandModel(ABC):
    """A baseline demand model for one LA: fit on its history, then predict or sample the future."""

    name: ClassVar[str] = "model"
    _history: CareHistory | None = None

    def fit(self, history: pd.DataFrame | CareHistory) -> Self:
        """Learn from one LA's history (tidy frame or parsed CareHistory); returns self."""
        parsed = history if isinstance(history, CareHistory) else CareHistory.from_frame(history)
        parsed = parsed.up_to(parsed.origin)
        self._history = parsed
        self._fit(parsed)
        return self

    @property
    def history(self) -> CareHistory:
        """The fitted history (raises when `fit` has not been called)."""
        if self._history is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(history) first")
        return self._history

    def forecast_years(self, horizon: int) -> np.ndarray:
        """The projected years: the origin year plus 1 … horizon."""
        _check_horizon(horizon)
        return self.history.origin + np.arange(1, horizon + 1)

    @abstractmethod
    def _fit(self, history: CareHistory) -> None: ...

    @abstractmethod
    def predict(self, horizon: int, level: Sequence[int] | int = (80,)) -> pd.DataFrame:
        """Tidy frame: year, measure, placement, mean, and lo-<level>, hi-<level> per level."""

    @abstractmethod
    def sample(self, horizon: int, n_draws: int, seed: int) -> DemandDraws:
        """`n_draws` joint paths over `horizon` years; all randomness comes from `seed`."""

    def total_forecast(self, horizon: int, level: int = 80) -> TotalForecast:
        """Central value and `level`% interval of total CLA at 31 March (from `predict`)."""
        frame = self.predict(horizon, [level])
        rows = frame[(frame["measure"] == CLA) & (frame["placement"] == ALL_PLACEMENTS)]
        return TotalForecast(self.history.origin, rows["mean"].to_numpy(float),
                             rows[f"lo-{level}"].to_numpy(float),
                             rows[f"hi-{level}"].to_numpy(float))

    def forecast_totals(self, histories: Sequence[CareHistory], horizon: int, level: int = 80
                        ) -> list[TotalForecast | str]:
        """Total CLA forecast from each history (the backtest's fast path); an unusable history
        gives the reason as a string. Subclasses may batch the work."""
        out: list[TotalForecast | str] = []
        for history in histories:
            try:
                out.append(copy.copy(self).fit(history).total_forecast(horizon, level))
            except DemandModelError as error:
                out.append(str(error))
        return out

    def predict_many(self, histories: Sequence[CareHistory], horizon: int,
                     level: Sequence[int] | int = (80,), totals_only: bool = False
                     ) -> list[pd.DataFrame | str]:
        """Fit a copy of this model on each history and predict; an unusable history gives the
        reason as a string instead of a frame. Subclasses may batch the work."""
        out: list[pd.DataFrame | str] = []
        for history in histories:
            try:
                frame = copy.copy(self).fit(history).predict(horizon, level)
            except DemandModelError as error:
                out.append(str(error))
                continue
            if totals_only:
                frame = frame[(frame["measure"] == CLA) & (frame["placement"] == ALL_PLACEMENTS)]
            out.append(frame.reset_index(drop=True))
        return out


# --------------------------------------------------------------------------------------------------
# Stock-and-flow model
# --------------------------------------------------------------------------------------------------


class StockFlowModel(DemandModel):
    """Stock and flow: starts = rate per 10,000 children × projected population; exits = a hazard on
    the children at risk (stock at 1 April + starts); placement mix drifting with its recent trend.

    Rates are fitted as damped linear trends over the last `window` recorded years (log start rate,
    logit exit hazard, log placement shares). Exits are those implied by the recorded stock
    (stock_{t-1} + starts_t − stock_t), so projected stock and flows always balance, and recorded
    ceases are not needed. Draws add trend-parameter uncertainty, yearly rate noise and
    Poisson/binomial variation in the counts."""

    name = "stock_flow"

    def __init__(self, window: int = 6, damping: float = 0.9,
                 population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5, interval_draws: int = 2000,
                 interval_seed: int = 20240331) -> None:
        self.window = window
        self.damping = damping
        self.population_projection = population_projection
        self.population_window = population_window
        self.interval_draws = interval_draws
        self.interval_seed = interval_seed

    def _fit(self, history: CareHistory) -> None:
        if not 0 < self.damping <= 1:
            raise ValueError("damping must be in (0, 1]")
        years = history.years
        origin = history.origin
        with np.errstate(invalid="ignore", divide="ignore"):
            start_rate = history.starts / history.population * PER_10K
            previous = np.concatenate([[np.nan], history.cla_total[:-1]])
            at_risk = previous + history.starts
            exit_hazard = (at_risk - history.cla_total) / at_risk
        x, y = _recent(years, np.where(start_rate > 0, start_rate, np.nan), self.window)
        if y.size == 0:
            raise DemandModelError(f"{history.la_code}: the stock-flow model needs starts and "
                                   "population 0–17 in at least one year")
        self._start_trend = _fit_trend(x, np.log(y), origin)
        x, y = _recent(years, np.where(at_risk > 0, exit_hazard, np.nan), self.window)
        if y.size == 0:
            raise DemandModelError(f"{history.la_code}: the stock-flow model needs two consecutive "
                                   "years of CLA at 31 March with starts in the second")
        self._exit_trend = _fit_trend(x, special.logit(np.clip(y, 0.005, 0.995)), origin)
        self._stock0 = float(history.cla_total[years == origin][0])
        self._fitted_shares: list[_Trend] | None = None

    @property
    def _share_trends(self) -> list[_Trend]:
        """Trends of the log placement shares, fitted on first use (totals do not need them)."""
        if self._fitted_shares is None:
            history = self.history
            counts = placement_counts(history)
            totals = counts.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                log_shares = np.log(np.where(counts > 0, counts, 0.5) / totals[:, None])
            self._fitted_shares = [
                _fit_trend(*_recent(history.years, log_shares[:, p], self.window), history.origin)
                for p in range(len(PLACEMENTS))]
        return self._fitted_shares

    def _population(self, horizon: int) -> np.ndarray:
        population = project_population(self.history, self.forecast_years(horizon),
                                         self.population_projection, self.population_window)
        if not np.isfinite(population).all():
            raise DemandModelError(f"{self.history.la_code}: no population 0–17 to project from")
        return population

    def _central_flows(self, horizon: int) -> dict[str, np.ndarray]:
        population = self._population(horizon)
        starts = np.exp(self._start_trend.central(horizon, self.damping)) * population / PER_10K
        hazard = special.expit(self._exit_trend.central(horizon, self.damping))
        stock = np.empty(horizon)
        ceases = np.empty(horizon)
        level = self._stock0
        for h in range(horizon):
            at_risk = level + starts[h]
            ceases[h] = hazard[h] * at_risk
            level = at_risk - ceases[h]
            stock[h] = level
        return {"cla_total": stock, "starts": starts, "ceases": ceases, "population": population}

    def central_path(self, horizon: int) -> dict[str, np.ndarray]:
        """The deterministic path from the central rates: stock, starts, exits, CLA by placement."""
        path = self._central_flows(horizon)
        shares = self._shares(np.stack([t.central(horizon, self.damping)
                                        for t in self._share_trends], axis=-1))
        return {**path, "cla": path["cla_total"][:, None] * shares}

    @staticmethod
    def _shares(log_shares: np.ndarray) -> np.ndarray:
        return np.asarray(special.softmax(log_shares, axis=-1))

    def _simulate_flows(self, horizon: int, n_draws: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        population = self._population(horizon)
        start_rate = np.exp(self._start_trend.draws(horizon, self.damping, n_draws, rng)[..., 0])
        hazard = special.expit(self._exit_trend.draws(horizon, self.damping, n_draws, rng)[..., 0])
        # A short fit has Student-t tails (1 degree of freedom from 3 years): a draw's start rate
        # can be absurd, but never more children than there are (City of London, 2016 origin).
        expected = np.minimum(start_rate * population[None, :] / PER_10K, population[None, :])
        starts = rng.poisson(expected).astype(float)
        ceases = np.empty((n_draws, horizon))
        stock = np.empty((n_draws, horizon))
        level = np.full(n_draws, round(self._stock0), dtype=np.int64)
        for h in range(horizon):
            at_risk = level + starts[:, h].astype(np.int64)
            exits = rng.binomial(at_risk, hazard[:, h])
            level = at_risk - exits
            ceases[:, h] = exits
            stock[:, h] = level
        return starts, ceases, stock, population

    def sample(self, horizon: int, n_draws: int, seed: int) -> DemandDraws:
        """Joint paths of starts, exits and stock by placement (vectorised over draws)."""
        rng = np.random.default_rng(seed)
        starts, ceases, stock, population = self._simulate_flows(horizon, n_draws, rng)
        log_shares = np.concatenate(
            [t.draws(horizon, self.damping, n_draws, rng) for t in self._share_trends], axis=-1)
        cla = stock[..., None] * self._shares(log_shares)
        return DemandDraws(self.forecast_years(horizon), PLACEMENTS, cla, starts, ceases,
                           population)

    def predict(self, horizon: int, level: Sequence[int] | int = (80,)) -> pd.DataFrame:
        """Central path with simulation intervals (a fixed internal seed, so results repeat)."""
        levels = _levels(level)
        years = self.forecast_years(horizon)
        centre = self.central_path(horizon)
        draws = self.sample(horizon, self.interval_draws, self.interval_seed)
        series: list[tuple[str, str, np.ndarray, np.ndarray]] = [
            (CLA, ALL_PLACEMENTS, centre["cla_total"], draws.cla_total),
            *[(CLA, p, centre["cla"][:, i], draws.cla[:, :, i]) for i, p in enumerate(PLACEMENTS)],
            (STARTS, ALL_PLACEMENTS, centre["starts"], draws.starts),
            (CEASES, ALL_PLACEMENTS, centre["ceases"], draws.ceases),
        ]
        parts = []
        for measure, placement, mean, sims in series:
            parts.append(_frame_rows(years, measure, placement, mean, _sim_bounds(sims, levels)))
        population = centre["population"]
        parts.append(_frame_rows(years, POPULATION, ALL_PLACEMENTS, population,
                                 {lv: (population, population) for lv in levels}))
        return _to_frame(parts)


    def total_forecast(self, horizon: int, level: int = 80) -> TotalForecast:
        """Central stock path with a simulation interval, skipping the placement mix."""
        centre = self._central_flows(horizon)
        rng = np.random.default_rng(self.interval_seed)
        _, _, stock, _ = self._simulate_flows(horizon, self.interval_draws, rng)
        lo, hi = _sim_bounds(stock, [level])[level]
        return TotalForecast(self.history.origin, centre["cla_total"], lo, hi)


def _sim_bounds(sims: np.ndarray, levels: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    quantiles = [q for lv in levels for q in (0.5 - lv / 200, 0.5 + lv / 200)]
    values = np.quantile(sims, quantiles, axis=0)
    return {lv: (values[2 * i], values[2 * i + 1]) for i, lv in enumerate(levels)}


# --------------------------------------------------------------------------------------------------
# Univariate models (one series at a time, placements reconciled to the total)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesForecast:
    """A univariate forecast: mean and scale per year, Student-t with `df` (inf = normal), or
    explicit interval bounds by level when the forecasting library supplies them."""

    mean: np.ndarray
    scale: np.ndarray
    df: float = float("inf")
    explicit: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None

    def bounds(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound of the central `level`% interval, floored at zero."""
        if self.explicit is not None and level in self.explicit:
            lo, hi = self.explicit[level]
        else:
            q = _z(level) if np.isinf(self.df) else float(stats.t.ppf(0.5 + level / 200, self.df))
            lo, hi = self.mean - q * self.scale, self.mean + q * self.scale
        return np.maximum(lo, 0.0), np.maximum(hi, 0.0)

    def draws(self, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        """Paths whose yearly spread matches `scale`, built from independent increments."""
        variance = np.maximum.accumulate(np.nan_to_num(self.scale) ** 2)
        steps = np.sqrt(np.diff(variance, prepend=0.0))
        paths = np.cumsum(rng.standard_normal((n_draws, self.mean.size)) * steps, axis=1)
        if np.isfinite(self.df):
            paths *= np.sqrt(self.df / rng.chisquare(self.df, size=(n_draws, 1)))
        return np.maximum(self.mean[None, :] + paths, 0.0)


def _series_of(history: CareHistory, counts: np.ndarray, key: SeriesKey) -> np.ndarray:
    measure, placement = key
    if measure == CLA:
        return history.cla_total if placement == ALL_PLACEMENTS else \
            counts[:, PLACEMENTS.index(placement)]
    return history.starts if measure == STARTS else history.ceases


def _series_keys(totals_only: bool) -> list[SeriesKey]:
    if totals_only:
        return [TOTAL_KEY]
    return [TOTAL_KEY, *[(CLA, p) for p in PLACEMENTS], (STARTS, ALL_PLACEMENTS),
            (CEASES, ALL_PLACEMENTS)]


def _empty_forecast(horizon: int) -> SeriesForecast:
    return SeriesForecast(np.full(horizon, np.nan), np.full(horizon, np.nan))


class UnivariateDemandModel(DemandModel):
    """Forecast total CLA, each placement, starts and ceases as separate series; placement forecasts
    are scaled to add up to the total. Stock and flows are not tied by an identity here."""

    def __init__(self, population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5) -> None:
        self.population_projection = population_projection
        self.population_window = population_window

    def _fit(self, history: CareHistory) -> None:
        self._counts = placement_counts(history)

    @abstractmethod
    def _forecast_series(self, years: np.ndarray, values: np.ndarray, origin: int,
                         horizon: int, levels: list[int]) -> SeriesForecast: ...

    def _forecasts(self, history: CareHistory, counts: np.ndarray, horizon: int,
                   levels: list[int], totals_only: bool) -> dict[SeriesKey, SeriesForecast]:
        out = {}
        for key in _series_keys(totals_only):
            values = _series_of(history, counts, key)
            if not np.isfinite(values).any():
                out[key] = _empty_forecast(horizon)
                continue
            out[key] = self._forecast_series(history.years, values, history.origin, horizon,
                                             levels)
        return out

    def _frame(self, history: CareHistory, forecasts: Mapping[SeriesKey, SeriesForecast],
               horizon: int, levels: list[int], totals_only: bool) -> pd.DataFrame:
        years = history.origin + np.arange(1, horizon + 1)
        total = forecasts[TOTAL_KEY]
        parts = [_frame_rows(years, CLA, ALL_PLACEMENTS, np.maximum(total.mean, 0.0),
                             {lv: total.bounds(lv) for lv in levels})]
        if totals_only:
            return _to_frame(parts)
        means = np.column_stack([np.maximum(forecasts[(CLA, p)].mean, 0.0) for p in PLACEMENTS])
        factor = _reconcile_factor(np.maximum(total.mean, 0.0), means)
        for i, p in enumerate(PLACEMENTS):
            fc = forecasts[(CLA, p)]
            bounds = {}
            for lv in levels:
                lo, hi = fc.bounds(lv)
                bounds[lv] = (lo * factor, hi * factor)
            parts.append(_frame_rows(years, CLA, p, means[:, i] * factor, bounds))
        for measure in (STARTS, CEASES):
            fc = forecasts[(measure, ALL_PLACEMENTS)]
            parts.append(_frame_rows(years, measure, ALL_PLACEMENTS, np.maximum(fc.mean, 0.0),
                                     {lv: fc.bounds(lv) for lv in levels}))
        population = project_population(history, years, self.population_projection,
                                        self.population_window)
        parts.append(_frame_rows(years, POPULATION, ALL_PLACEMENTS, population,
                                 {lv: (population, population) for lv in levels}))
        return _to_frame(parts)

    def forecast_totals(self, histories: Sequence[CareHistory], horizon: int, level: int = 80
                        ) -> list[TotalForecast | str]:
        """Total CLA only, straight from the total series (no placement breakdown needed)."""
        _check_horizon(horizon)
        out: list[TotalForecast | str] = []
        for raw in histories:
            try:
                history = raw.up_to(raw.origin)
            except DemandModelError as error:
                out.append(str(error))
                continue
            fc = self._forecasts(history, history.cla_by_placement, horizon, [level], True)
            out.append(TotalForecast.of(history.origin, fc[TOTAL_KEY], level))
        return out

    def predict(self, horizon: int, level: Sequence[int] | int = (80,)) -> pd.DataFrame:
        """Per-series forecasts with intervals; placements scaled to sum to the total."""
        _check_horizon(horizon)
        levels = _levels(level)
        forecasts = self._forecasts(self.history, self._counts, horizon, levels, False)
        return self._frame(self.history, forecasts, horizon, levels, False)

    def sample(self, horizon: int, n_draws: int, seed: int) -> DemandDraws:
        """Independent draws per series from each forecast distribution; placement draws are scaled
        so that they add up to the total draw."""
        _check_horizon(horizon)
        rng = np.random.default_rng(seed)
        forecasts = self._forecasts(self.history, self._counts, horizon, [80], False)
        total = forecasts[TOTAL_KEY].draws(n_draws, rng)
        placed = np.stack([forecasts[(CLA, p)].draws(n_draws, rng) for p in PLACEMENTS], axis=-1)
        placed = np.nan_to_num(placed)
        sums = placed.sum(axis=-1, keepdims=True)
        fallback = np.nan_to_num(self._counts[np.isfinite(self._counts).all(axis=1)][-1])
        fallback = fallback / fallback.sum() if fallback.sum() > 0 else \
            np.full(len(PLACEMENTS), 1 / len(PLACEMENTS))
        shares = np.where(sums > 0, placed / np.where(sums > 0, sums, 1.0), fallback)
        years = self.forecast_years(horizon)
        population = project_population(self.history, years, self.population_projection,
                                        self.population_window)
        return DemandDraws(years, PLACEMENTS, total[..., None] * shares,
                           forecasts[(STARTS, ALL_PLACEMENTS)].draws(n_draws, rng),
                           forecasts[(CEASES, ALL_PLACEMENTS)].draws(n_draws, rng), population)


def _reconcile_factor(total: np.ndarray, parts: np.ndarray) -> np.ndarray:
    sums = parts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums > 0, total / sums, 0.0)


class NaiveModel(UnivariateDemandModel):
    """Last recorded value carried forward; intervals from a random walk fitted to the changes."""

    name = "naive"

    def _forecast_series(self, years: np.ndarray, values: np.ndarray, origin: int,
                         horizon: int, levels: list[int]) -> SeriesForecast:
        return naive_forecast(years, values, horizon)


def naive_forecast(years: np.ndarray, values: np.ndarray, horizon: int) -> SeriesForecast:
    """Random walk without drift: mean = last value, scale = sigma·√h, sigma from recorded
    changes (a change across a gap of g years counts as g steps)."""
    keep = np.isfinite(values)
    x, y = years[keep], values[keep]
    gaps = np.diff(x)
    squared = np.diff(y) ** 2 / gaps if gaps.size else np.array([])
    sigma = float(np.sqrt(squared.mean())) if squared.size else 0.0
    mean = np.full(horizon, float(y[-1]))
    return SeriesForecast(mean, sigma * np.sqrt(np.arange(1, horizon + 1)),
                          df=float(max(squared.size, 1)))


class LinearTrendModel(UnivariateDemandModel):
    """Ordinary least-squares line through the last `window` recorded years (all when None), with
    the textbook regression prediction interval (Student-t, n − 2 degrees of freedom)."""

    name = "linear_trend"

    def __init__(self, window: int | None = None,
                 population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5) -> None:
        super().__init__(population_projection, population_window)
        self.window = window

    def _forecast_series(self, years: np.ndarray, values: np.ndarray, origin: int,
                         horizon: int, levels: list[int]) -> SeriesForecast:
        x, y = _recent(years, values, self.window)
        n = y.size
        targets = origin + np.arange(1, horizon + 1)
        if n < 2:
            return SeriesForecast(np.full(horizon, float(y[-1])), np.zeros(horizon), df=1.0)
        trend = _fit_trend(x, y, origin)
        mean = trend.level + trend.slope * (targets - origin)
        xc = x - x.mean()
        leverage = 1 + 1 / n + (targets - x.mean()) ** 2 / float(xc @ xc)
        return SeriesForecast(mean, trend.sigma * np.sqrt(leverage), df=float(max(n - 2, 1)))


# --------------------------------------------------------------------------------------------------
# statsforecast models
# --------------------------------------------------------------------------------------------------

STATSFORECAST_MODELS = ("AutoETS", "AutoARIMA", "AutoTheta")
MIN_STATSFORECAST_POINTS = 4


def _statsforecast_model(model: str) -> Any:
    from statsforecast import models

    if model not in STATSFORECAST_MODELS:
        raise ValueError(
            f"unknown statsforecast model {model!r}; choose from {STATSFORECAST_MODELS}")
    return getattr(models, model)(season_length=1)


def statsforecast_batch(series: Mapping[Any, tuple[np.ndarray, np.ndarray]], model: str,
                        horizon: int, levels: Sequence[int]) -> dict[Any, SeriesForecast]:
    """Forecast many annual series in one statsforecast call (one `unique_id` each, n_jobs=1).

    Interior gaps are filled by linear interpolation for fitting only; leading gaps are dropped.
    Series with fewer than four years, or where the library returns no finite interval, fall back
    to the naive forecast."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    levels = sorted(set(levels) | {80})
    frames = []
    ids: dict[str, Any] = {}
    out: dict[Any, SeriesForecast] = {}
    for index, (key, (years, values)) in enumerate(series.items()):
        keep = np.isfinite(values)
        if keep.sum() < MIN_STATSFORECAST_POINTS:
            out[key] = naive_forecast(years, values, horizon) if keep.any() else \
                _empty_forecast(horizon)
            continue
        first, last = np.flatnonzero(keep)[[0, -1]]
        x = years[first:last + 1]
        y = pd.Series(values[first:last + 1]).interpolate().to_numpy()
        uid = f"s{index}"
        ids[uid] = key
        frames.append(pd.DataFrame({"unique_id": uid, "ds": x.astype(int), "y": y}))
    if frames:
        engine = StatsForecast(models=[_statsforecast_model(model)], freq=1, n_jobs=1,
                               fallback_model=Naive())
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = engine.forecast(df=pd.concat(frames, ignore_index=True), h=horizon,
                                     level=levels)
        for series_id, group in result.groupby("unique_id", sort=False):
            key = ids[str(series_id)]
            mean = group[model].to_numpy(float)
            explicit = {lv: (group[f"{model}-lo-{lv}"].to_numpy(float),
                             group[f"{model}-hi-{lv}"].to_numpy(float)) for lv in levels}
            lo80, hi80 = explicit[80]
            if not (np.isfinite(mean).all() and np.isfinite(lo80).all()
                    and np.isfinite(hi80).all()):
                years, values = series[key]
                out[key] = naive_forecast(years, values, horizon)
                continue
            scale = (hi80 - lo80) / (2 * _z(80))
            out[key] = SeriesForecast(mean, scale, explicit=explicit)
    return out


class StatsForecastModel(UnivariateDemandModel):
    """Automatic ETS, ARIMA or Theta from statsforecast (annual, no seasonality) with the library's
    prediction intervals; draws are normal with the spread implied by the 80% interval."""

    name = "statsforecast"

    def __init__(self, model: str = "AutoETS",
                 population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5) -> None:
        super().__init__(population_projection, population_window)
        self.model = model

    def _forecast_series(self, years: np.ndarray, values: np.ndarray, origin: int,
                         horizon: int, levels: list[int]) -> SeriesForecast:
        return statsforecast_batch({0: (years, values)}, self.model, horizon, levels)[0]

    def _fit(self, history: CareHistory) -> None:
        super()._fit(history)
        self._memo: dict[tuple[int, tuple[int, ...], bool], dict[SeriesKey, SeriesForecast]] = {}

    def _forecasts(self, history: CareHistory, counts: np.ndarray, horizon: int,
                   levels: list[int], totals_only: bool) -> dict[SeriesKey, SeriesForecast]:
        fitted = history is self._history
        key = (horizon, tuple(levels), totals_only)
        if fitted and key in self._memo:
            return self._memo[key]
        keys = _series_keys(totals_only)
        batch = {k: (history.years, _series_of(history, counts, k)) for k in keys}
        forecasts = statsforecast_batch(batch, self.model, horizon, levels)
        if fitted:
            self._memo[key] = forecasts
        return forecasts

    def predict_many(self, histories: Sequence[CareHistory], horizon: int,
                     level: Sequence[int] | int = (80,), totals_only: bool = False
                     ) -> list[pd.DataFrame | str]:
        """All histories in one statsforecast call (far faster than one call per LA)."""
        _check_horizon(horizon)
        levels = _levels(level)
        prepared: list[tuple[CareHistory, np.ndarray] | str] = []
        batch: dict[tuple[int, SeriesKey], tuple[np.ndarray, np.ndarray]] = {}
        for index, raw in enumerate(histories):
            try:
                history = raw.up_to(raw.origin)
                counts = placement_counts(history) if not totals_only else \
                    np.full((history.years.size, len(PLACEMENTS)), np.nan)
            except DemandModelError as error:
                prepared.append(str(error))
                continue
            prepared.append((history, counts))
            for key in _series_keys(totals_only):
                batch[(index, key)] = (history.years, _series_of(history, counts, key))
        forecasts = statsforecast_batch(batch, self.model, horizon, levels)
        out: list[pd.DataFrame | str] = []
        for index, item in enumerate(prepared):
            if isinstance(item, str):
                out.append(item)
                continue
            history, _ = item
            mine = {key: forecasts[(index, key)] for key in _series_keys(totals_only)}
            out.append(self._frame(history, mine, horizon, levels, totals_only))
        return out


    def forecast_totals(self, histories: Sequence[CareHistory], horizon: int, level: int = 80
                        ) -> list[TotalForecast | str]:
        """Total CLA from every history in one statsforecast call."""
        _check_horizon(horizon)
        origins: list[int | str] = []
        batch: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for index, raw in enumerate(histories):
            try:
                history = raw.up_to(raw.origin)
            except DemandModelError as error:
                origins.append(str(error))
                continue
            origins.append(history.origin)
            batch[index] = (history.years, history.cla_total)
        forecasts = statsforecast_batch(batch, self.model, horizon, [level])
        return [origin if isinstance(origin, str) else
                TotalForecast.of(origin, forecasts[index], level)
                for index, origin in enumerate(origins)]


class AutoETSModel(StatsForecastModel):
    """statsforecast AutoETS (exponential smoothing, model chosen by AICc)."""

    name = "ets"

    def __init__(self, population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5) -> None:
        super().__init__("AutoETS", population_projection, population_window)


class AutoARIMAModel(StatsForecastModel):
    """statsforecast AutoARIMA (stepwise order search)."""

    name = "arima"

    def __init__(self, population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5) -> None:
        super().__init__("AutoARIMA", population_projection, population_window)


class AutoThetaModel(StatsForecastModel):
    """statsforecast AutoTheta (theta method variant chosen by fit)."""

    name = "theta"

    def __init__(self, population_projection: Mapping[int, float] | None = None,
                 population_window: int = 5) -> None:
        super().__init__("AutoTheta", population_projection, population_window)


# --------------------------------------------------------------------------------------------------
# Registry and automatic choice
# --------------------------------------------------------------------------------------------------

METHODS: dict[str, Callable[..., DemandModel]] = {
    "stock_flow": StockFlowModel,
    "ets": AutoETSModel,
    "arima": AutoARIMAModel,
    "theta": AutoThetaModel,
    "naive": NaiveModel,
    "linear_trend": LinearTrendModel,
}
"""Demand models by method name; each value is a class whose constructor takes keyword settings."""

AUTO_CANDIDATES: tuple[str, ...] = ("stock_flow", "ets", "theta", "naive", "linear_trend")


def make_model(method: str, **settings: Any) -> DemandModel:
    """A demand model by its method name (see METHODS)."""
    if method not in METHODS:
        raise ValueError(f"unknown demand method {method!r}; choose from {sorted(METHODS)}")
    return METHODS[method](**settings)


def select_method(history: pd.DataFrame, candidates: Sequence[str] = AUTO_CANDIDATES,
                  min_train_years: int = 5) -> str:
    """The candidate with the lowest backtest MASE (mean over horizons 1–3) among those whose 80%
    intervals are honest enough (`BacktestResult.best_method`), on this history, one LA or many;
    the first candidate when the history is too short to backtest."""
    from sf_benefits.project.backtest import run_backtest

    result = run_backtest(history, methods=candidates, horizons=(1, 2, 3),
                          min_train_years=min_train_years)
    return result.best_method() or candidates[0]
