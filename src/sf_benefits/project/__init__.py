"""Project engine: baseline care demand, innovation scenarios and their money, with uncertainty.

`run_projection` goes from an LA's care history to a ProjectionResult: demand draws from the
demand engine, the innovation's effects applied per draw, costs, savings, NPV, payback, ROI and
sensitivity. Names are imported on first use, so the child-level engine and the CLI start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sf_benefits.lazy import lazy_exports

if TYPE_CHECKING:
    from sf_benefits.project.api import prepare_assumptions, run_projection
    from sf_benefits.project.categories import PLACEMENT_LABELS, PLACEMENTS
    from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_PRICE_BASE, DEFAULT_SEED
    from sf_benefits.project.engine import plan_run, simulate
    from sf_benefits.project.result import Interval, ProjectionResult


__all__ = [
    "DEFAULT_METHOD", "DEFAULT_PRICE_BASE", "DEFAULT_SEED", "PLACEMENTS", "PLACEMENT_LABELS", "Interval",
    "ProjectionResult", "plan_run", "prepare_assumptions", "run_projection", "simulate",
]


__getattr__ = lazy_exports(__name__, {
    "api": ("prepare_assumptions", "run_projection"),
    "categories": ("PLACEMENT_LABELS", "PLACEMENTS"),
    "defaults": ("DEFAULT_METHOD", "DEFAULT_PRICE_BASE", "DEFAULT_SEED"),
    "engine": ("plan_run", "simulate"),
    "result": ("Interval", "ProjectionResult"),
})
