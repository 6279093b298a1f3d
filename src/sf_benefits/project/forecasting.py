"""What every baseline demand model shares: the sklearn/statsforecast-style contract (`fit` returns
self, `predict(horizon, level)` gives a tidy frame of means and intervals, `sample` gives seeded
Monte Carlo draws), the forecast and draw containers, and small trend helpers."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import stats

from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.project.history import CLA, CareHistory, DemandModelError


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




@dataclass(frozen=True)
class Trend:
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


def fit_trend(x: np.ndarray, y: np.ndarray, origin: int) -> Trend:
    """OLS of y on x; the level is the fitted value at `origin` (flat through a single point)."""
    n = y.size
    if n == 0:
        raise DemandModelError("no observations to fit")
    if n == 1:
        return Trend(float(y[0]), 0.0, 0.0, np.zeros((2, 2)), 1)
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
    return Trend(level, slope, sigma, cov, max(df, 1))


def recent_points(x: np.ndarray, y: np.ndarray, window: int | None) -> tuple[np.ndarray, np.ndarray]:
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
    x, y = recent_points(history.years, history.population, window)
    if y.size == 0:
        return np.full(years.size, np.nan)
    trend = fit_trend(x, y, int(x[-1]))
    return np.maximum(trend.level + trend.slope * (years - x[-1]), 0.0)





def z_score(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 200.0))


def check_horizon(horizon: int) -> None:
    if horizon < 1:
        raise ValueError("horizon must be at least one year")


def interval_levels(level: Sequence[int] | int) -> list[int]:
    levels = [level] if isinstance(level, int) else list(level)
    for value in levels:
        if not 0 < value < 100:
            raise ValueError(f"interval level {value} must be between 0 and 100")
    return levels


def frame_rows(years: np.ndarray, measure: str, placement: str, mean: np.ndarray,
                bounds: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    row: dict[str, Any] = {"year": years, "measure": measure, "placement": placement,
                           "mean": mean}
    for level, (lo, hi) in bounds.items():
        row[f"lo-{level}"] = lo
        row[f"hi-{level}"] = hi
    return row


def to_frame(parts: list[dict[str, Any]]) -> pd.DataFrame:
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
    learns_across_las: ClassVar[bool] = False
    """True for a model fitted on every LA's history at once (the backtest gives it every task
    in one batch, a projection gives it the whole panel)."""
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
        check_horizon(horizon)
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
            q = z_score(level) if np.isinf(self.df) else float(stats.t.ppf(0.5 + level / 200, self.df))
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
