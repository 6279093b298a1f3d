"""Stock-and-flow baseline: starts from a rate on the child population, exits from a hazard on the
children at risk, so projected stock and flows always balance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.project.forecasting import (
    DemandDraws,
    DemandModel,
    TotalForecast,
    Trend,
    fit_trend,
    frame_rows,
    interval_levels,
    project_population,
    recent_points,
    to_frame,
)
from sf_benefits.project.history import (
    CEASES,
    CLA,
    PER_10K,
    POPULATION,
    STARTS,
    CareHistory,
    DemandModelError,
    placement_counts,
)


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
        x, y = recent_points(years, np.where(start_rate > 0, start_rate, np.nan), self.window)
        if y.size == 0:
            raise DemandModelError(f"{history.la_code}: the stock-flow model needs starts and "
                                   "population 0–17 in at least one year")
        self._start_trend = fit_trend(x, np.log(y), origin)
        x, y = recent_points(years, np.where(at_risk > 0, exit_hazard, np.nan), self.window)
        if y.size == 0:
            raise DemandModelError(f"{history.la_code}: the stock-flow model needs two consecutive "
                                   "years of CLA at 31 March with starts in the second")
        self._exit_trend = fit_trend(x, special.logit(np.clip(y, 0.005, 0.995)), origin)
        self._stock0 = float(history.cla_total[years == origin][0])
        self._fitted_shares: list[Trend] | None = None

    @property
    def _share_trends(self) -> list[Trend]:
        """Trends of the log placement shares, fitted on first use (totals do not need them)."""
        if self._fitted_shares is None:
            history = self.history
            counts = placement_counts(history)
            totals = counts.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                log_shares = np.log(np.where(counts > 0, counts, 0.5) / totals[:, None])
            self._fitted_shares = [
                fit_trend(*recent_points(history.years, log_shares[:, p], self.window), history.origin)
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
        weights = np.exp(log_shares - log_shares.max(axis=-1, keepdims=True))
        return np.asarray(weights / weights.sum(axis=-1, keepdims=True))

    def start_draws(self, horizon: int, n_draws: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Starts (n_draws × horizon: a drawn rate path on the projected population, then
        Poisson) and the projected population."""
        population = self._population(horizon)
        # A heavy-tailed draw from a short fit can exceed every child in the LA: cap it there.
        log_rate = self._start_trend.draws(horizon, self.damping, n_draws, rng)[..., 0]
        start_rate = np.exp(np.minimum(log_rate, np.log(PER_10K)))
        starts = rng.poisson(start_rate * population[None, :] / PER_10K).astype(float)
        return starts, population

    def share_draws(self, horizon: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        """Placement shares (n_draws × horizon × placements) from the drawn share trends."""
        log_shares = np.concatenate(
            [t.draws(horizon, self.damping, n_draws, rng) for t in self._share_trends], axis=-1)
        return self._shares(log_shares)

    def _simulate_flows(self, horizon: int, n_draws: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        starts, population = self.start_draws(horizon, n_draws, rng)
        hazard = special.expit(self._exit_trend.draws(horizon, self.damping, n_draws, rng)[..., 0])
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
        cla = stock[..., None] * self.share_draws(horizon, n_draws, rng)
        return DemandDraws(self.forecast_years(horizon), PLACEMENTS, cla, starts, ceases,
                           population)

    def predict(self, horizon: int, level: Sequence[int] | int = (80,)) -> pd.DataFrame:
        """Central path with simulation intervals (a fixed internal seed, so results repeat)."""
        levels = interval_levels(level)
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
            parts.append(frame_rows(years, measure, placement, mean, _sim_bounds(sims, levels)))
        population = centre["population"]
        parts.append(frame_rows(years, POPULATION, ALL_PLACEMENTS, population,
                                 {lv: (population, population) for lv in levels}))
        return to_frame(parts)


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
