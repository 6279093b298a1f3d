"""Small, hand-checkable demand draws and complete override sets for the projection tests.

The override values here are test inputs only (they never ship); each is recorded as an LA override.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sf_benefits.assumptions import Distribution, ParameterSet
from sf_benefits.project.categories import PLACEMENTS

TEST_DEFLATOR = {"2016-04-01": 80.0, "2023-04-01": 100.0, "2024-04-01": 104.0}
"""Made-up test index values: 2016-17 -> 2024-25 multiplies by 1.3, 2023-24 -> 2024-25 by 1.04."""


@dataclass(frozen=True)
class Draws:
    """Same shape as the demand engine's DemandDraws."""

    years: np.ndarray
    placements: tuple[str, ...]
    cla: np.ndarray
    starts: np.ndarray
    ceases: np.ndarray
    population_0_17: np.ndarray


def flat_draws(n_draws: int = 2, horizon: int = 5, per_placement: float = 100.0,
               starts: float = 200.0, ceases: float = 200.0, first_year: int = 2026,
               noise_sd: float = 0.0, seed: int = 0) -> Draws:
    """Every placement at `per_placement` children each year; optional noise per draw and year."""
    rng = np.random.default_rng(seed)
    cla = np.full((n_draws, horizon, len(PLACEMENTS)), per_placement)
    start = np.full((n_draws, horizon), starts)
    cease = np.full((n_draws, horizon), ceases)
    if noise_sd > 0:
        cla = cla * np.exp(rng.normal(0, noise_sd, (n_draws, horizon, 1)))
        start = start * np.exp(rng.normal(0, noise_sd, (n_draws, horizon)))
        cease = cease * np.exp(rng.normal(0, noise_sd, (n_draws, horizon)))
    return Draws(np.arange(first_year, first_year + horizon), PLACEMENTS, cla, start, cease,
                 np.full(horizon, 250_000.0))


def unit_costs_at_2024_25(weekly: float = 1000.0) -> dict[str, Any]:
    """Every placement's weekly unit cost supplied at 2024-25 prices (no deflator needed)."""
    return {f"unit_cost_{p}_weekly": {"value": weekly, "price_base_year": "2024-25",
                                      "source": "test fixture"} for p in PLACEMENTS}


def unset(params: ParameterSet, *parameter_ids: str) -> ParameterSet:
    """`params` with the named parameters as if they shipped without a value (not found)."""
    for pid in parameter_ids:
        params = params.replaced(params[pid].model_copy(update={
            "values": None, "status": "not_found", "confidence": "X", "references": [],
            "distribution": Distribution(), "range": None}))
    return params


def model_without(folder: Path, model: str, *parameter_ids: str) -> Path:
    """A copy of a shipped model's YAML with the named parameters shipped without a value."""
    from sf_benefits.assumptions.library import _package_dir

    data = yaml.safe_load((_package_dir() / "models" / f"{model}.yaml").read_text())
    for entry in data["parameters"]:
        if entry["id"] in parameter_ids:
            for key in ("references", "distribution", "range", "derivation"):
                entry.pop(key, None)
            entry.update(values=None, status="not_found", confidence="X")
    path = folder / f"{model}_without.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def complete_overrides(model: str, effect: float = 0.1, ramp: float = 0.0,
                       implementation: float = 0.0, running: float = 0.0,
                       weekly: float = 1000.0) -> dict[str, Any]:
    """Hand-checkable values for every parameter `model` uses: one effect, adjustments zero, the
    other effects and savings off, every unit cost `weekly` at 2024-25 prices."""
    money = {"price_base_year": "2024-25", "source": "test fixture"}
    base: dict[str, Any] = {
        "deadweight": {"value": 0.0, "source": "test fixture"},
        "optimism_bias_benefits": {"value": 0.0, "source": "test fixture"},
        "optimism_bias_costs": {"value": 0.0, "source": "test fixture"},
        **unit_costs_at_2024_25(weekly),
    }
    prefix = {"family_safeguarding": "fs", "family_valued": "fv", "no_wrong_door": "nwd"}[model]
    base[f"{prefix}_ramp_up_years"] = {"value": ramp, "source": "test fixture"}
    base[f"{prefix}_implementation_cost"] = {"value": implementation, **money}
    base[f"{prefix}_running_cost_annual"] = {"value": running, **money}
    if model == "family_safeguarding":
        base["fs_reduction_in_starts"] = {"value": effect, "source": "test fixture"}
        base["fs_agency_fte_reduction"] = {"value": 0.0, "source": "test fixture"}
        base["agency_social_worker_premium_annual"] = {"value": 0.0, **money}
    elif model == "family_valued":
        base["fv_families_referred_fgc_per_year"] = {"value": effect, "source": "test fixture"}
        base["fv_cost_per_fgc"] = {"value": 0.0, **money}
        base["fv_fgc_reduction_looked_after_12m"] = {"value": 0.086, "source": "trial central"}
        base["fv_fgc_duty_start_year"] = {"value": 2100, "source": "test fixture: no duty"}
    else:
        base["nwd_residential_to_family_shift"] = {"value": effect, "source": "test fixture"}
        base["nwd_reduction_in_starts"] = {"value": 0.0, "source": "test fixture"}
    return base
