"""Baseline demand for care: the registry of demand models by method name.

Every model follows the sklearn/statsforecast-style contract of `forecasting.DemandModel`; the
backtest (`project.backtest`) scores them and picks the default. The names most callers need are
re-exported here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from sf_benefits.project.defaults import DEFAULT_METHOD
from sf_benefits.project.forecasting import DemandDraws, DemandModel, SeriesForecast, TotalForecast
from sf_benefits.project.history import (
    CEASES,
    CLA,
    POPULATION,
    STARTS,
    CareHistory,
    DemandModelError,
    naive_mae,
    placement_counts,
    split_histories,
)
from sf_benefits.project.pooled import Panel, PooledGrowthModel
from sf_benefits.project.stock_flow import StockFlowModel
from sf_benefits.project.univariate import (
    AutoARIMAModel,
    AutoETSModel,
    AutoThetaModel,
    LinearTrendModel,
    NaiveModel,
)

__all__ = [
    "AUTO_CANDIDATES", "CEASES", "CLA", "DEFAULT_METHOD", "METHODS", "POPULATION", "STARTS",
    "AutoARIMAModel", "AutoETSModel", "AutoThetaModel", "CareHistory", "DemandDraws",
    "DemandModel", "DemandModelError", "LinearTrendModel", "NaiveModel", "PooledGrowthModel",
    "SeriesForecast", "StockFlowModel", "TotalForecast", "make_model", "naive_mae",
    "placement_counts", "split_histories",
]

METHODS: dict[str, Callable[..., DemandModel]] = {
    "pooled": PooledGrowthModel,
    "stock_flow": StockFlowModel,
    "ets": AutoETSModel,
    "arima": AutoARIMAModel,
    "theta": AutoThetaModel,
    "naive": NaiveModel,
    "linear_trend": LinearTrendModel,
}
"""Demand models by method name; each value is a class whose constructor takes keyword settings."""


AUTO_CANDIDATES: tuple[str, ...] = ("pooled", "stock_flow", "ets", "theta", "naive", "linear_trend")


def make_model(method: str, panel: pd.DataFrame | Panel | None = None, **settings: Any
               ) -> DemandModel:
    """A demand model by its method name (see METHODS); `panel` (every LA's tidy history, or
    their parsed histories by LA code) goes to a model that learns across LAs and is ignored by
    the others."""
    if method not in METHODS:
        raise ValueError(f"unknown demand method {method!r}; choose from {sorted(METHODS)}")
    factory = METHODS[method]
    if getattr(factory, "learns_across_las", False):
        settings["panel"] = panel
    return factory(**settings)
