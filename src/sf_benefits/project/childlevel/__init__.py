"""Child-level engine: care histories and a multi-state projection from an LA's SSDA903 returns.

`build_histories` merges episodes into spells and placement periods (`history_columns`, the same
as arrays); `ChildLevelModel` estimates transition and entry rates by age band and projects the
care population with uncertainty; its `sample` feeds the LA-level scenario and money engine, and
`to_history` gives the LA-level history format so the LA-level projection can use this engine's
output as its baseline.
"""

from typing import Any

from sf_benefits.project.childlevel.ages import AGE_BANDS
from sf_benefits.project.childlevel.histories import (
    CareColumns,
    CareHistories,
    build_histories,
    history_columns,
    population_at,
)
from sf_benefits.project.childlevel.model import (
    ALL_AGES,
    ChildLevelModel,
    FittedRates,
    Projection,
    RateScenario,
    care_history_table,
)

__all__ = [
    "AGE_BANDS",
    "ALL_AGES",
    "CareColumns",
    "CareHistories",
    "ChildLevelModel",
    "FittedRates",
    "Projection",
    "RateScenario",
    "build_histories",
    "care_history_table",
    "history_columns",
    "population_at",
    "run_childlevel_projection",
]


def __getattr__(name: str) -> Any:
    """`run_childlevel_projection` is imported on first use: it pulls in the appraisal engine,
    which projections from SSDA903 data alone do not need."""
    if name == "run_childlevel_projection":
        from sf_benefits.project.childlevel.api import run_childlevel_projection

        return run_childlevel_projection
    raise AttributeError(name)
