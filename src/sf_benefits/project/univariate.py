"""Univariate baselines (naive, linear trend, statsforecast ETS/ARIMA/Theta): each series forecast
on its own, placements scaled to add up to the total."""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.project.forecasting import (
    DemandDraws,
    DemandModel,
    SeriesForecast,
    TotalForecast,
    check_horizon,
    fit_trend,
    frame_rows,
    interval_levels,
    project_population,
    recent_points,
    to_frame,
    z_score,
)
from sf_benefits.project.history import (
    CEASES,
    CLA,
    POPULATION,
    STARTS,
    TOTAL_KEY,
    CareHistory,
    DemandModelError,
    SeriesKey,
    placement_counts,
)


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
        parts = [frame_rows(years, CLA, ALL_PLACEMENTS, np.maximum(total.mean, 0.0),
                             {lv: total.bounds(lv) for lv in levels})]
        if totals_only:
            return to_frame(parts)
        means = np.column_stack([np.maximum(forecasts[(CLA, p)].mean, 0.0) for p in PLACEMENTS])
        factor = _reconcile_factor(np.maximum(total.mean, 0.0), means)
        for i, p in enumerate(PLACEMENTS):
            fc = forecasts[(CLA, p)]
            bounds = {}
            for lv in levels:
                lo, hi = fc.bounds(lv)
                bounds[lv] = (lo * factor, hi * factor)
            parts.append(frame_rows(years, CLA, p, means[:, i] * factor, bounds))
        for measure in (STARTS, CEASES):
            fc = forecasts[(measure, ALL_PLACEMENTS)]
            parts.append(frame_rows(years, measure, ALL_PLACEMENTS, np.maximum(fc.mean, 0.0),
                                     {lv: fc.bounds(lv) for lv in levels}))
        population = project_population(history, years, self.population_projection,
                                        self.population_window)
        parts.append(frame_rows(years, POPULATION, ALL_PLACEMENTS, population,
                                 {lv: (population, population) for lv in levels}))
        return to_frame(parts)

    def forecast_totals(self, histories: Sequence[CareHistory], horizon: int, level: int = 80
                        ) -> list[TotalForecast | str]:
        """Total CLA only, straight from the total series (no placement breakdown needed)."""
        check_horizon(horizon)
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
        check_horizon(horizon)
        levels = interval_levels(level)
        forecasts = self._forecasts(self.history, self._counts, horizon, levels, False)
        return self._frame(self.history, forecasts, horizon, levels, False)

    def sample(self, horizon: int, n_draws: int, seed: int) -> DemandDraws:
        """Independent draws per series from each forecast distribution; placement draws are scaled
        so that they add up to the total draw."""
        check_horizon(horizon)
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
        x, y = recent_points(years, values, self.window)
        n = y.size
        targets = origin + np.arange(1, horizon + 1)
        if n < 2:
            return SeriesForecast(np.full(horizon, float(y[-1])), np.zeros(horizon), df=1.0)
        trend = fit_trend(x, y, origin)
        mean = trend.level + trend.slope * (targets - origin)
        xc = x - x.mean()
        leverage = 1 + 1 / n + (targets - x.mean()) ** 2 / float(xc @ xc)
        return SeriesForecast(mean, trend.sigma * np.sqrt(leverage), df=float(max(n - 2, 1)))



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
            scale = (hi80 - lo80) / (2 * z_score(80))
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
        check_horizon(horizon)
        levels = interval_levels(level)
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
        check_horizon(horizon)
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
