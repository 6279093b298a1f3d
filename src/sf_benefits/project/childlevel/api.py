"""Python API: the LA-level appraisal (innovation effects, unit costs, NPV, payback) run on the
child-level engine's baseline, so an LA's own SSDA903 data drive the same scenarios and money."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sf_benefits.assumptions import InnovationModel
from sf_benefits.project.api import DEFAULT_PRICE_BASE, DEFAULT_SEED, prepare_assumptions
from sf_benefits.project.childlevel.model import ChildLevelModel, RateScenario
from sf_benefits.project.engine import plan_run, simulate
from sf_benefits.project.result import ProjectionResult
from sf_benefits.ssda903_data import Ssda903Data

METHOD = "child_level_multistate"


def run_childlevel_projection(
    data: Ssda903Data,
    model: str | Path | InnovationModel = "family_safeguarding",
    horizon: int = 5,
    n_draws: int = 2_000,
    seed: int = DEFAULT_SEED,
    price_base_year: str = DEFAULT_PRICE_BASE,
    overrides: Mapping[str, Any] | str | Path | None = None,
    discount_rate: float | None = None,
    overrides_by: str | None = None,
    window_years: float = 3.0,
    rate_scenario: RateScenario | None = None,
    sensitivity: bool = True,
    keep_draws: bool = False,
    demand_seed: int | None = None,
) -> ProjectionResult:
    """Project one LA from its SSDA903 returns with and without an innovation, in money.

    The baseline demand draws come from the child-level multi-state model (optionally already
    changed by a `rate_scenario`, e.g. the LA's own view of fewer entries); the innovation
    model's effects, unit costs and appraisal are the LA-level engine's, unchanged.
    `keep_draws` and `demand_seed` are as in `run_projection`.
    """
    if horizon < 1 or n_draws < 1:
        raise ValueError("horizon and n_draws must be at least 1")
    innovation, params = prepare_assumptions(model, overrides, overrides_by)
    fitted = ChildLevelModel(window_years=window_years).fit(data)
    opening = fitted.opening_stock()
    seen = {p for p, n in zip(fitted.placements, opening, strict=True) if n > 0}
    plan_run(innovation, params, fitted.placements, seen, horizon, price_base_year)
    demand = fitted.sample(horizon, n_draws, seed if demand_seed is None else demand_seed,
                           scenario=rate_scenario)
    return simulate(
        demand, innovation, params, opening_cla=np.asarray(opening, dtype=float),
        price_base_year=price_base_year, seed=seed, la_code=data.la_code, method=METHOD,
        discount_rate=discount_rate, observed=fitted.to_history(), sensitivity=sensitivity,
        keep_draws=keep_draws,
    )
