"""Python API of the projection: history -> baseline demand draws -> scenario -> money."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sf_benefits.assumptions import (
    InnovationModel,
    Parameter,
    ParameterSet,
    apply_overrides,
    assumptions_for,
    load_model,
)
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_PRICE_BASE, DEFAULT_SEED
from sf_benefits.project.engine import plan_run, simulate
from sf_benefits.project.forecasting import DemandDraws
from sf_benefits.project.history import CareHistory
from sf_benefits.project.result import ProjectionResult
from sf_benefits.project.unit_costs import local_unit_costs, spend_check

LAIT_COLUMNS = ["dataset", "year", "area_code", "breakdown", "indicator", "value"]
METHOD_ALIASES = {"statsforecast": "ets"}


def prepare_assumptions(
    model: str | Path | InnovationModel,
    overrides: Mapping[str, Any] | str | Path | None = None,
    overrides_by: str | None = None,
    local: Iterable[Parameter] = (),
) -> tuple[InnovationModel, ParameterSet]:
    """The innovation model and its full parameter set (defaults + model), with the LA's `local`
    values (e.g. its LAIT unit costs) replacing defaults and the user's overrides winning over both."""
    loaded = model if isinstance(model, InnovationModel) else load_model(model)
    params = assumptions_for(loaded)
    for param in local:
        params = params.replaced(param)
    return loaded, apply_overrides(params, overrides, by=overrides_by)


def demand_seed(seed: int, la_code: str) -> int:
    """The seed of one LA's demand forecast: fixed by the run's seed and the LA code, so the
    forecast noise of different LAs is independent and an LA gets the same draws wherever it is
    projected (alone, in a report, in the web app or in a national sweep)."""
    return zlib.crc32(f"{seed}:{la_code}".encode())


def resolve_method(method: str, panel: pd.DataFrame, la_code: str) -> str:
    """A demand method of the demand engine; "auto" picks the one that backtests best on the
    LA's own past years (a method that learns across LAs learning from every LA of `panel`)."""
    from sf_benefits.project.backtest import select_method
    from sf_benefits.project.demand import METHODS

    method = METHOD_ALIASES.get(method, method)
    if method == "auto":
        return select_method(panel, la_codes=[la_code])
    if method not in METHODS:
        choices = sorted([*METHODS, *METHOD_ALIASES, "auto"])
        raise ValueError(f"unknown method {method!r}; choose from {choices}")
    return method


@dataclass(frozen=True)
class BaselineDemand:
    """An LA's baseline demand draws and the method that made them: the same for every innovation
    model run with the same history, method, seed, horizon and draws (a sweep makes them once)."""

    method: str
    draws: DemandDraws


def own_rows(history: pd.DataFrame, la_code: str) -> pd.DataFrame:
    """The LA's rows of a tidy care history (refused when it has none)."""
    mine = history[history["la_code"].astype(str) == str(la_code)]
    if mine.empty:
        raise ValueError(f"the history holds no rows for LA {la_code}")
    return mine


def _last_origin(mine: pd.DataFrame) -> CareHistory:
    parsed = CareHistory.from_frame(mine)
    return parsed.up_to(parsed.origin)


def baseline_demand(history: pd.DataFrame, la_code: str, horizon: int = 5,
                    method: str = DEFAULT_METHOD, n_draws: int = 10_000, seed: int = DEFAULT_SEED,
                    panel: pd.DataFrame | None = None) -> BaselineDemand:
    """The LA's demand without an innovation, drawn as `run_projection` draws it (same
    arguments, same draws)."""
    return _forecast(_last_origin(own_rows(history, la_code)), horizon, method, n_draws, seed,
                     history if panel is None else panel)


def _forecast(parsed: CareHistory, horizon: int, method: str, n_draws: int, seed: int,
              panel: pd.DataFrame) -> BaselineDemand:
    from sf_benefits.project.demand import make_model

    chosen = resolve_method(method, panel, parsed.la_code)
    draws = make_model(chosen, panel=panel).fit(parsed).sample(
        horizon, n_draws, demand_seed(seed, parsed.la_code))
    return BaselineDemand(chosen, draws)


def run_projection(
    history: pd.DataFrame,
    la_code: str,
    model: str | Path | InnovationModel = "family_safeguarding",
    horizon: int = 5,
    method: str = DEFAULT_METHOD,
    n_draws: int = 10_000,
    seed: int = DEFAULT_SEED,
    price_base_year: str = DEFAULT_PRICE_BASE,
    overrides: Mapping[str, Any] | str | Path | None = None,
    discount_rate: float | None = None,
    overrides_by: str | None = None,
    sensitivity: bool = True,
    unit_costs: pd.DataFrame | None = None,
    la_name: str | None = None,
    panel: pd.DataFrame | None = None,
    keep_draws: bool = False,
    demand: BaselineDemand | None = None,
) -> ProjectionResult:
    """Project one LA's care demand with and without an innovation, in money, with uncertainty.

    `history` is the tidy care history (la_code, year, measure, placement, value) of one or many
    LAs. `unit_costs` holds the store's LAIT observations (`LAIT_INDICATORS`): the LA's own
    published unit costs then replace the research defaults (England's where the LA's is
    suppressed). Refuses, naming every parameter, when the run needs an assumption with no value
    that `overrides` does not supply. A method that learns across LAs learns from `panel`, every
    LA's history (default: `history`, so hand over every LA's history as `history` or `panel`).
    Parameters are drawn from `seed` and the demand forecast from `demand_seed(seed, la_code)`,
    so runs for many LAs share each parameter's draws and have independent forecast noise.
    `demand`, from `baseline_demand` with the same arguments, saves forecasting it again.
    """
    from sf_benefits.project.demand import placement_counts

    if horizon < 1 or n_draws < 1:
        raise ValueError("horizon and n_draws must be at least 1")
    mine = own_rows(history, la_code)
    loaded = model if isinstance(model, InnovationModel) else load_model(model)
    local = local_unit_costs(
        unit_costs if unit_costs is not None else pd.DataFrame(columns=LAIT_COLUMNS),
        str(la_code), assumptions_for(loaded), la_name)
    innovation, params = prepare_assumptions(loaded, overrides, overrides_by, local.parameters)
    parsed = _last_origin(mine)
    counts = placement_counts(parsed)
    known = np.nan_to_num(counts, nan=0.0)
    seen = {p for i, p in enumerate(PLACEMENTS) if bool(np.any(known[:, i] > 0))}
    plan_run(innovation, params, PLACEMENTS, seen, horizon, price_base_year)

    if demand is None:
        demand = _forecast(parsed, horizon, method, n_draws, seed,
                           history if panel is None else panel)
    elif demand.draws.starts.shape != (n_draws, horizon):
        raise ValueError(f"the demand given holds {demand.draws.starts.shape} draws × years, "
                         f"not {(n_draws, horizon)}")
    chosen = demand.method
    opening = _opening_stock(counts, tuple(demand.draws.placements))
    result = simulate(
        demand.draws, innovation, params, opening_cla=opening, price_base_year=price_base_year,
        seed=seed, la_code=str(la_code), method=chosen, discount_rate=discount_rate,
        observed=mine.reset_index(drop=True), sensitivity=sensitivity, basis=local.basis,
        keep_draws=keep_draws,
    )
    check = spend_check(local, params, result, la_name or str(la_code))
    return replace(result, notes=(*result.notes, check)) if check else result


def _opening_stock(counts: np.ndarray, placements: tuple[str, ...]) -> np.ndarray:
    """Children by placement at the last 31 March of the history (suppressed cells filled)."""
    rows = np.flatnonzero(np.isfinite(counts).all(axis=1))
    if rows.size == 0:
        raise ValueError("the history has no year with children looked after by placement")
    last = counts[rows[-1]]
    return np.array([last[PLACEMENTS.index(p)] for p in placements], dtype=float)
