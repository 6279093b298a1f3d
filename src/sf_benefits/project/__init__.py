"""Project engine: baseline care demand, innovation scenarios and their money, with uncertainty.

`run_projection` goes from an LA's care history to a ProjectionResult: demand draws from the
demand engine, the innovation's effects applied per draw, costs, savings, NPV, payback, ROI and
sensitivity. Names are imported on first use, so the child-level engine and the CLI start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sf_benefits.project.api import prepare_assumptions, run_projection
    from sf_benefits.project.categories import PLACEMENT_LABELS, PLACEMENTS
    from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_PRICE_BASE, DEFAULT_SEED
    from sf_benefits.project.engine import plan_run, simulate
    from sf_benefits.project.result import Interval, ProjectionResult

_HOME = {
    "DEFAULT_METHOD": "defaults", "DEFAULT_PRICE_BASE": "defaults", "DEFAULT_SEED": "defaults",
    "prepare_assumptions": "api",
    "run_projection": "api", "PLACEMENT_LABELS": "categories", "PLACEMENTS": "categories",
    "plan_run": "engine", "simulate": "engine", "Interval": "result", "ProjectionResult": "result",
}

__all__ = [
    "DEFAULT_METHOD", "DEFAULT_PRICE_BASE", "DEFAULT_SEED", "PLACEMENTS", "PLACEMENT_LABELS", "Interval",
    "ProjectionResult", "plan_run", "prepare_assumptions", "run_projection", "simulate",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'sf_benefits.project' has no attribute {name!r}")
    return getattr(import_module(f"sf_benefits.project.{_HOME[name]}"), name)
