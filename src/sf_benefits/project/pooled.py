"""Pooled growth model: one median regression across every LA of the change in children looked after
1, 2 and 3 years ahead, on the LA's own recent growth, CLA rate, starts, children in need and child
protection plans (rates on the population aged 0–17), with conformal intervals from the errors
earlier forecast origins made.

Why pooled: a single LA's 10–14 annual points cannot tell a trend from noise; across ~150 LAs the
regression learns how far growth persists and how far high rates and high upstream flow pull the
stock, and its intervals are calibrated on thousands of past errors instead of a few residuals."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.project.forecasting import (
    DemandDraws,
    DemandModel,
    TotalForecast,
    check_horizon,
    frame_rows,
    interval_levels,
    to_frame,
)
from sf_benefits.project.history import (
    CLA,
    CareHistory,
    DemandModelError,
    split_histories,
)

FEATURES: tuple[str, ...] = ("cla_growth", "cla_rate", "starts_ratio", "cin_rate", "cpp_rate")
"""Inputs at the forecast origin: last year's change in log CLA; log CLA, children in need and
child protection plans per child aged 0–17, each relative to that year's median LA; log starts
per child looked after."""
DIRECT_HORIZONS = 3
"""Years ahead with their own regression; later years hold the year-3 level with a spread widening
as a random walk would (no backtest can score them on 14 years of data)."""
MIN_TRAINING_ROWS = 50
MIN_CALIBRATION_ERRORS = 100
MIN_CALIBRATION_ORIGINS = 3
"""Past out-of-sample errors needed to calibrate an interval, from at least this many forecast
origins: one year's errors share one national shock and understate how much years differ. With
fewer (only at the earliest origins) the fit's own residuals, which span every training year,
are used instead."""

Panel = Mapping[str, CareHistory]


@dataclass(frozen=True)
class _Fit:
    """One direct regression: standardisation, coefficients and its in-sample residuals."""

    mean: np.ndarray
    scale: np.ndarray
    params: np.ndarray
    residuals: np.ndarray
    levels: np.ndarray

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Median log change for rows of raw features; a missing input counts as its mean."""
        standard = np.nan_to_num((features - self.mean) / self.scale)
        return np.asarray(self.params[0] + standard @ self.params[1:])


@dataclass(frozen=True)
class Calibration:
    """Errors in log CLA at one horizon, standardised by a spread that falls with the LA's size
    (a + b / sqrt(children)), so one set of quantiles serves small and large LAs."""

    intercept: float
    slope: float
    errors: np.ndarray

    @classmethod
    def of(cls, residuals: np.ndarray, levels: np.ndarray) -> Calibration:
        """Fit the spread to the absolute errors by least squares, then standardise them."""
        design = np.column_stack([np.ones(levels.size), 1.0 / np.sqrt(levels)])
        coef = np.linalg.lstsq(design, np.abs(residuals), rcond=None)[0]
        calibration = cls(float(coef[0]), float(coef[1]), np.array([]))
        return cls(calibration.intercept, calibration.slope,
                   np.sort(residuals / calibration.spread(levels)))

    def spread(self, levels: np.ndarray) -> np.ndarray:
        """The size-dependent spread of log errors (floored at 1%)."""
        return np.maximum(self.intercept + self.slope / np.sqrt(np.maximum(levels, 1.0)), 0.01)

    def quantile(self, q: np.ndarray | float) -> np.ndarray:
        """Quantiles of the standardised errors."""
        return np.asarray(np.quantile(self.errors, q))


@dataclass
class PanelEngine:
    """Every LA's inputs as LA × year arrays, with direct fits cached by (cutoff year, horizon).

    A fit with cutoff c learns only from targets observed by 31 March of year c, so forecasts
    from origin T use fits and calibration errors with cutoffs up to T and never see later data."""

    codes: tuple[str, ...]
    years: np.ndarray
    log_cla: np.ndarray
    features: np.ndarray
    _fits: dict[tuple[int, int], _Fit | None] = field(default_factory=dict)
    _calibrations: dict[tuple[int, int], Calibration | None] = field(default_factory=dict)

    @classmethod
    def of(cls, histories: Iterable[CareHistory]) -> PanelEngine:
        """Lay the histories on a common run of years and derive the inputs."""
        items = sorted(histories, key=lambda h: h.la_code)
        if not items:
            raise DemandModelError("the pooled model needs the history of at least one LA")
        first = min(int(h.years[0]) for h in items)
        last = max(int(h.years[-1]) for h in items)
        years = np.arange(first, last + 1)

        def grid(attribute: str) -> np.ndarray:
            out = np.full((len(items), years.size), np.nan)
            for row, history in enumerate(items):
                out[row, history.years - first] = getattr(history, attribute)
            return out

        with np.errstate(invalid="ignore", divide="ignore"):
            log = {name: np.log(np.where(values > 0, values, np.nan)) for name, values in (
                ("cla", grid("cla_total")), ("starts", grid("starts")),
                ("cin", grid("children_in_need")), ("cpp", grid("protection_plans")))}
        # The rate at 31 March of year T divides by the mid-year estimate of T - 1, as DfE's does:
        # the mid-T estimate is dated after the origin, so it is never an input.
        population = (pd.DataFrame(grid("population")).T.interpolate(limit_direction="both")
                      .shift(1).bfill().T.to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            log_population = np.log(np.where(population > 0, population, np.nan))
        growth = np.full_like(log["cla"], np.nan)
        growth[:, 1:] = np.diff(log["cla"], axis=1)
        features = np.stack([
            growth, _centred(log["cla"] - log_population), log["starts"] - log["cla"],
            _centred(log["cin"] - log_population), _centred(log["cpp"] - log_population)],
            axis=-1)
        return cls(tuple(h.la_code for h in items), years, log["cla"], features)

    def _column(self, year: int) -> int | None:
        index = year - int(self.years[0])
        return index if 0 <= index < self.years.size else None

    def _pairs(self, origin_years: Sequence[int], horizon: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (NaN where unknown), observed log change and level for every LA × origin year
        with both counts recorded."""
        xs, ys, levels = [], [], []
        for year in origin_years:
            start, end = self._column(year), self._column(year + horizon)
            if start is None or end is None:
                continue
            x = self.features[:, start]
            y = self.log_cla[:, end] - self.log_cla[:, start]
            keep = np.isfinite(y)
            xs.append(x[keep])
            ys.append(y[keep])
            levels.append(np.exp(self.log_cla[keep, start]))
        if not xs:
            return np.empty((0, len(FEATURES))), np.empty(0), np.empty(0)
        return np.concatenate(xs), np.concatenate(ys), np.concatenate(levels)

    def fit(self, cutoff: int, horizon: int) -> _Fit | None:
        """The median regression of the `horizon`-year change on everything known by `cutoff`
        (None when fewer than MIN_TRAINING_ROWS LA-years have an outcome). An input not
        recorded (children in need before 2013, say) counts as that input's mean."""
        key = (cutoff, horizon)
        if key not in self._fits:
            origins = [int(y) for y in self.years if y + horizon <= cutoff]
            x, y, levels = self._pairs(origins, horizon)
            self._fits[key] = _median_regression(x, y, levels) if y.size >= MIN_TRAINING_ROWS \
                else None
        return self._fits[key]

    def calibration(self, origin: int, horizon: int) -> Calibration | None:
        """Errors of forecasts made `horizon` years before outcomes observed by `origin`, from
        fits that stopped at each earlier origin; the latest fit's residuals when too few."""
        key = (origin, horizon)
        if key not in self._calibrations:
            residuals, levels = [], []
            for cutoff in (int(y) for y in self.years if y + horizon <= origin):
                fitted = self.fit(cutoff, horizon)
                if fitted is None:
                    continue
                x, y, level = self._pairs([cutoff], horizon)
                residuals.append(y - fitted.predict(x))
                levels.append(level)
            errors = np.concatenate(residuals) if residuals else np.empty(0)
            result: Calibration | None
            if (errors.size >= MIN_CALIBRATION_ERRORS
                    and len(residuals) >= MIN_CALIBRATION_ORIGINS):
                result = Calibration.of(errors, np.concatenate(levels))
            else:
                latest = self.fit(origin, horizon)
                result = None if latest is None else Calibration.of(latest.residuals,
                                                                    latest.levels)
            self._calibrations[key] = result
        return self._calibrations[key]

    def forecast(self, la_code: str, origin: int, horizon: int) -> PooledForecast:
        """Median and calibrated error distribution of the LA's CLA 1 … `horizon` years ahead."""
        if la_code not in self.codes:
            raise DemandModelError(f"{la_code} is not in the pooled model's panel")
        row = self.codes.index(la_code)
        column = self._column(origin)
        if column is None or not np.isfinite(self.log_cla[row, column]):
            raise DemandModelError(f"{la_code}: no child looked after at 31 March {origin} to "
                                   "grow from")
        level = float(np.exp(self.log_cla[row, column]))
        steps = min(horizon, DIRECT_HORIZONS)
        changes, calibrations = [], []
        for h in range(1, steps + 1):
            fitted, calibration = self.fit(origin, h), self.calibration(origin, h)
            if fitted is None or calibration is None:
                raise DemandModelError(
                    f"the pooled model has too few LA-years with every input before {origin} "
                    f"to forecast {h} year(s) ahead")
            changes.append(float(fitted.predict(self.features[row, column][None, :])[0]))
            calibrations.append(calibration)
        return PooledForecast(origin, level, np.array(changes), tuple(calibrations), horizon)


def _centred(values: np.ndarray) -> np.ndarray:
    """Each year's values relative to that year's median LA."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(values - np.nanmedian(values, axis=0, keepdims=True))


def _median_regression(x: np.ndarray, y: np.ndarray, levels: np.ndarray) -> _Fit:
    """statsmodels quantile regression at the median (least absolute deviations) on standardised
    inputs: robust to the odd LA whose count jumps with a data correction."""
    from statsmodels.regression.quantile_regression import QuantReg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(x, axis=0))
        scale = np.nan_to_num(np.nanstd(x, axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    design = np.column_stack([np.ones(y.size), np.nan_to_num((x - mean) / scale)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = np.asarray(QuantReg(y, design).fit(q=0.5, max_iter=2000).params)
    return _Fit(mean, scale, params, y - design @ params, levels)


@dataclass(frozen=True)
class PooledForecast:
    """One LA's pooled forecast: level at the origin, median log change and error calibration for
    each direct horizon; years beyond DIRECT_HORIZONS extend the last one."""

    origin: int
    level: float
    changes: np.ndarray
    calibrations: tuple[Calibration, ...]
    horizon: int

    def _extended(self) -> tuple[np.ndarray, np.ndarray, list[Calibration]]:
        """Median change, spread multiplier and calibration for each of the `horizon` years."""
        last = len(self.changes)
        steps = np.arange(1, self.horizon + 1)
        index = np.minimum(steps, last) - 1
        widen = np.sqrt(np.maximum(steps / last, 1.0))
        return self.changes[index], widen, [self.calibrations[i] for i in index]

    def median(self) -> np.ndarray:
        """Central forecast of children looked after, one per year."""
        changes, _, _ = self._extended()
        return np.asarray(self.level * np.exp(changes))

    def quantiles(self, q: float) -> np.ndarray:
        """The q-quantile of children looked after, one per year."""
        changes, widen, calibrations = self._extended()
        level = np.array([self.level])
        shifts = np.array([float(c.quantile(q) * c.spread(level)[0]) for c in calibrations])
        return np.asarray(self.level * np.exp(changes + shifts * widen))

    def bounds(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """The central `level`% interval."""
        tail = (100 - level) / 200
        return self.quantiles(tail), self.quantiles(1 - tail)

    def draws(self, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        """Paths (n_draws × horizon): one uniform per path read through every year's error
        quantiles, so a path that starts high stays high, as forecast errors do."""
        changes, widen, calibrations = self._extended()
        u = rng.random(n_draws)
        level = np.array([self.level])
        shifts = np.column_stack([c.quantile(u) * c.spread(level)[0] for c in calibrations])
        return np.asarray(self.level * np.exp(changes[None, :] + shifts * widen[None, :]))


_ENGINES: dict[str, PanelEngine] = {}
"""Engines by a digest of the panel they were built from (one projection after another for every
LA reuses the same fits)."""
_LATEST: list[tuple[pd.DataFrame, PanelEngine]] = []
"""The last panel frame asked for and its engine: the shared, read-only panel of a data version
(`project.inputs`) or a sweep comes back as the same object, found without hashing it again."""


def engine_for(panel: pd.DataFrame | Panel) -> PanelEngine:
    """The engine for a tidy panel (cached by identity, then by content) or a mapping of parsed
    histories."""
    if not isinstance(panel, pd.DataFrame):
        return PanelEngine.of(panel.values())
    if _LATEST and _LATEST[0][0] is panel:
        return _LATEST[0][1]
    digest = hashlib.sha1(pd.util.hash_pandas_object(panel, index=False).to_numpy().tobytes()
                          ).hexdigest()
    if digest not in _ENGINES:
        _ENGINES.clear()
        _ENGINES[digest] = PanelEngine.of(split_histories(panel).values())
    _LATEST[:] = [(panel, _ENGINES[digest])]
    return _ENGINES[digest]


def warm_engine(panel: pd.DataFrame) -> PanelEngine:
    """The panel's engine with the fits and calibrations that forecasts from its last year use,
    so that a process's first projection does not wait for them."""
    engine = engine_for(panel)
    last = int(engine.years[-1])
    for horizon in range(1, DIRECT_HORIZONS + 1):
        engine.fit(last, horizon)
        engine.calibration(last, horizon)
    return engine


class PooledGrowthModel(DemandModel):
    """The pooled growth model for one LA, fitted with the panel of every LA it learns from.

    Total CLA comes from the pooled regression; the placement mix and starts of a draw come
    from the LA's own stock-and-flow model, and ceases are those that balance the stock (so a
    draw needs the LA's starts and population, as the stock-and-flow model does)."""

    name = "pooled"
    learns_across_las: ClassVar[bool] = True

    def __init__(self, panel: pd.DataFrame | Panel | None = None,
                 population_projection: Mapping[int, float] | None = None,
                 interval_seed: int = 20240331) -> None:
        self.panel = panel
        self.population_projection = population_projection
        self.interval_seed = interval_seed
        self._panel_engine: PanelEngine | None = None

    def _fit(self, history: CareHistory) -> None:
        if self.panel is None:
            raise DemandModelError("the pooled model learns across LAs: give it every LA's "
                                   "history as `panel`")
        if self._panel_engine is None:
            self._panel_engine = engine_for(self.panel)
        engine = self._panel_engine
        if history.la_code not in engine.codes:
            panel = (split_histories(self.panel) if isinstance(self.panel, pd.DataFrame)
                     else dict(self.panel))
            engine = PanelEngine.of({**panel, history.la_code: history}.values())
        self._engine = engine

    def _pooled(self, horizon: int) -> PooledForecast:
        check_horizon(horizon)
        return self._engine.forecast(self.history.la_code, self.history.origin, horizon)

    def total_forecast(self, horizon: int, level: int = 80) -> TotalForecast:
        pooled = self._pooled(horizon)
        lo, hi = pooled.bounds(level)
        return TotalForecast(self.history.origin, pooled.median(), lo, hi)

    def sample(self, horizon: int, n_draws: int, seed: int) -> DemandDraws:
        """Pooled totals split by the LA's own drawn placement mix, with its own drawn starts
        and the ceases that balance the stock (see the class docstring)."""
        from sf_benefits.project.stock_flow import StockFlowModel

        rng = np.random.default_rng(seed)
        total = self._pooled(horizon).draws(n_draws, rng)
        own = StockFlowModel(population_projection=self.population_projection).fit(self.history)
        starts, population = own.start_draws(horizon, n_draws, rng)
        shares = own.share_draws(horizon, n_draws, rng)
        opening = self.history.value(CLA, self.history.origin)
        previous = np.concatenate([np.full((n_draws, 1), opening), total[:, :-1]], axis=1)
        ceases = np.maximum(previous + starts - total, 0.0)
        return DemandDraws(self.forecast_years(horizon), PLACEMENTS, total[..., None] * shares,
                           starts, ceases, population)

    def predict(self, horizon: int, level: Sequence[int] | int = (80,)) -> pd.DataFrame:
        """Total CLA from the pooled quantiles; other series from simulation quantiles."""
        levels = interval_levels(level)
        pooled = self._pooled(horizon)
        draws = self.sample(horizon, 2000, self.interval_seed)
        years = draws.years
        parts = [frame_rows(years, CLA, ALL_PLACEMENTS, pooled.median(),
                            {lv: pooled.bounds(lv) for lv in levels})]
        series = [(CLA, p, draws.cla[:, :, i]) for i, p in enumerate(PLACEMENTS)]
        series += [("starts", ALL_PLACEMENTS, draws.starts), ("ceases", ALL_PLACEMENTS, draws.ceases)]
        for measure, placement, sims in series:
            tails = {lv: (np.quantile(sims, (100 - lv) / 200, axis=0),
                          np.quantile(sims, (100 + lv) / 200, axis=0)) for lv in levels}
            parts.append(frame_rows(years, measure, placement, np.median(sims, axis=0), tails))
        population = draws.population_0_17
        parts.append(frame_rows(years, "population_0_17", ALL_PLACEMENTS, population,
                                {lv: (population, population) for lv in levels}))
        return to_frame(parts)

    def forecast_totals(self, histories: Sequence[CareHistory], horizon: int, level: int = 80
                        ) -> list[TotalForecast | str]:
        """Every history's total from one engine over the longest history of each LA (in
        `histories` or the model's panel); the fits a forecast uses stop at its own origin, so a
        longer history never leaks into it."""
        check_horizon(horizon)
        longest: dict[str, CareHistory] = {}
        if self.panel is not None:
            longest.update(split_histories(self.panel) if isinstance(self.panel, pd.DataFrame)
                           else self.panel)
        for history in histories:
            kept = longest.get(history.la_code)
            if kept is None or kept.years[-1] < history.years[-1]:
                longest[history.la_code] = history
        engine = PanelEngine.of(longest.values())
        return [_partial_total(engine, history, horizon, level) for history in histories]


def _partial_total(engine: PanelEngine, history: CareHistory, horizon: int, level: int
                   ) -> TotalForecast | str:
    """The forecast for as many years ahead as the data before the origin can fit (NaN after),
    or why none can be made: early origins have a year-1 regression before a year-3 one."""
    reason = ""
    for steps in range(min(horizon, DIRECT_HORIZONS), 0, -1):
        try:
            pooled = engine.forecast(history.la_code, history.origin, steps)
        except DemandModelError as error:
            reason = reason or str(error)
            continue
        pad = np.full(horizon - steps, np.nan)
        lo, hi = pooled.bounds(level)
        return TotalForecast(history.origin, np.concatenate([pooled.median(), pad]),
                             np.concatenate([lo, pad]), np.concatenate([hi, pad]))
    return reason
