"""Project engine: baseline care demand, innovation scenarios and their money, with uncertainty.

`run_projection` goes from an LA's care history to a ProjectionResult: demand draws from the
demand engine, the innovation's effects applied per draw, costs, savings, NPV, payback, ROI and
sensitivity.
"""

from sf_benefits.project.api import (
    DEFAULT_PRICE_BASE,
    DEFAULT_SEED,
    prepare_assumptions,
    run_projection,
)
from sf_benefits.project.categories import PLACEMENT_LABELS, PLACEMENTS
from sf_benefits.project.engine import plan_run, simulate
from sf_benefits.project.result import Interval, ProjectionResult

__all__ = [
    "DEFAULT_PRICE_BASE",
    "DEFAULT_SEED",
    "PLACEMENTS",
    "PLACEMENT_LABELS",
    "Interval",
    "ProjectionResult",
    "plan_run",
    "prepare_assumptions",
    "run_projection",
    "simulate",
]
