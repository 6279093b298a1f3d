"""Defaults of a projection run and the demand methods' names, kept apart from the engine so the
command line can show them in its help without loading pandas or statsforecast."""

from __future__ import annotations

DEFAULT_SEED = 20240401
DEFAULT_PRICE_BASE = "2024-25"
DEFAULT_METHOD = "pooled"
"""The method the backtest on the real 2010–2023 LA series picks (README, "Baseline accuracy"):
lowest MAPE and MASE at 1, 2 and 3 years ahead, the only one whose 80% intervals hold 78–82% of
outcomes at every horizon."""
DEMAND_METHODS: tuple[str, ...] = (
    "pooled", "stock_flow", "ets", "arima", "theta", "naive", "linear_trend")
"""The names of `project.demand.METHODS`, in its order."""
BACKTEST_METHODS: tuple[str, ...] = (
    "pooled", "stock_flow", "ets", "theta", "naive", "linear_trend")
"""Methods backtested unless told otherwise: AutoARIMA is left out because statsforecast needs
about 0.1 s of CPU per short series for it (minutes for every LA and origin); ask for "arima"."""
