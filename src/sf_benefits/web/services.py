"""Glue between the engines and the presenters: LAs a user sees, assumptions, projection jobs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

import pandas as pd
from fastapi import HTTPException
from sqlalchemy import select

from sf_benefits.assumptions import (
    AssumptionError,
    apply_overrides,
    assumptions_for,
    list_models,
    load_model,
    parameter_table,
)
from sf_benefits.assumptions.schema import is_money_unit
from sf_benefits.disclosure import RowTotal, suppress_counts
from sf_benefits.project import DEFAULT_PRICE_BASE, ProjectionResult
from sf_benefits.project.defaults import DEFAULT_METHOD
from sf_benefits.project.inputs import projection_data
from sf_benefits.store import Store
from sf_benefits.store.schema import local_authority
from sf_benefits.web.access import Access, can_read_la
from sf_benefits.web.audit import Actor, record
from sf_benefits.web.auth import Principal
from sf_benefits.web.jobs import SUCCEEDED, JobFunction, JobRunner, Progress, latest_job
from sf_benefits.web.messages import user_message
from sf_benefits.web.overrides import is_series, scalar_value, series_text
from sf_benefits.web.scenarios import get_scenario
from sf_benefits.web.views import plain, records

PROJECTION = "projection"
LOCK_BASELINE = "lock_baseline"
BACKTEST = "backtest"
PRICE_BASE_YEAR = DEFAULT_PRICE_BASE


class ScenarioRejected(ValueError):
    """A scenario request the engines would refuse: unknown model or assumption, bad override,
    or a go-live for a scenario that is not this LA's or has not run."""


def readable_las(store: Store, principal: Principal) -> list[dict[str, Any]]:
    """The LAs this user may open, by name."""
    query = select(local_authority.c.la_code, local_authority.c.la_name,
                   local_authority.c.region_name).order_by(local_authority.c.la_name)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return [r for r in rows if can_read_la(principal, r["la_code"])]


def scenario_or_404(store: Store, scenario_id: int) -> dict[str, Any]:
    """A scenario the caller has already been cleared to see."""
    scenario = get_scenario(store, scenario_id)
    if scenario is None:
        raise HTTPException(404, "No such scenario.")
    return scenario


@cache
def models() -> list[dict[str, str]]:
    """The shipped innovation models: name, title and summary."""
    out = []
    for name in list_models():
        model = load_model(name)
        out.append({"name": name, "title": model.title, "summary": model.summary})
    return out


def model_title(name: str) -> str:
    """A model's title, or its name when it is not shipped."""
    return next((m["title"] for m in models() if m["name"] == name), name)


def engine_overrides(model: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides as the assumptions engine takes them: a £ value entered without a price base is
    read in the scenario's price base year."""
    params = assumptions_for(model)
    out: dict[str, Any] = {}
    for pid, value in overrides.items():
        if pid not in params:
            raise ScenarioRejected(f"'{pid}' is not an assumption of {model_title(model)}")
        param = params[pid]
        if isinstance(value, int | float) and is_money_unit(param.unit):
            out[pid] = {"value": value,
                        "price_base_year": param.price_base_year or PRICE_BASE_YEAR}
        else:
            out[pid] = value
    return out


def check_model_and_overrides(model: str, overrides: Mapping[str, Any]) -> None:
    """Refuse an unknown model or an override the assumptions engine would not accept."""
    if model not in list_models():
        raise ScenarioRejected(f"unknown model '{model}': choose one of {', '.join(list_models())}")
    try:
        apply_overrides(assumptions_for(model), engine_overrides(model, overrides), by="check")
    except AssumptionError as exc:
        raise ScenarioRejected(user_message(exc)) from exc


def assumption_rows(model: str, overrides: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every assumption of a model for the scenario builder: default and override side by side,
    with unit, price base, source and confidence grade; a series (a deflator index, or any value
    that changes by date) is entered as one value a line, anything else as one number."""
    params = assumptions_for(model)
    table = parameter_table(params)
    rows = []
    for item in records(table):
        param = params[item["id"]]
        override = overrides.get(item["id"])
        series = (param.unit.lower().startswith("index") or len(param.values or {}) > 1
                  or is_series(override))
        money = is_money_unit(param.unit)
        rows.append({
            **item,
            "series": series,
            "money": money,
            "price_base_shown": (item["price_base_year"] or (PRICE_BASE_YEAR if money else None)),
            "override": override,
            "override_value": None if series else scalar_value(override),
            "override_series": series_text(override) if series else "",
            "missing": not param.has_value,
        })
    return rows


def _suppressed_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Projected counts of children with small numbers suppressed (totals by placement 'all')."""
    return suppress_counts(counts, ["p10", "p50", "p90"],
                           row_totals=[RowTotal("placement", "all", ("year", "series"))])


def _suppressed_observed(observed: pd.DataFrame) -> pd.DataFrame:
    children = observed[observed["measure"] != "population_0_17"]
    children = children[["year", "measure", "placement", "value"]].reset_index(drop=True)
    return suppress_counts(children, ["value"],
                           row_totals=[RowTotal("placement", "all", ("year", "measure"))])


def _interval(interval: Any) -> dict[str, Any]:
    return {k: plain(getattr(interval, k)) for k in ("p10", "p50", "p90", "mean")}


def result_payload(result: ProjectionResult) -> dict[str, Any]:
    """A projection as JSON for the job row: counts of children already suppressed."""
    return {
        "la_code": result.la_code, "model": result.model, "model_title": result.model_title,
        "method": result.method, "seed": result.seed, "n_draws": result.n_draws,
        "horizon": result.horizon, "price_base_year": result.price_base_year,
        "discount_rate": result.discount_rate, "financial_years": list(result.financial_years),
        "headline": {
            "net_present_value": _interval(result.net_present_value),
            "present_value_benefits": _interval(result.present_value_benefits),
            "present_value_costs": _interval(result.present_value_costs),
            "return_on_investment": _interval(result.return_on_investment),
            "probability_net_present_value_positive":
                plain(result.probability_net_present_value_positive),
            "payback_year": result.payback_year,
            "probability_of_payback": plain(result.probability_of_payback),
            "rests_on_grade_d": list(result.grade_d_drivers),
            "overrides": list(result.overrides),
        },
        "counts": records(_suppressed_counts(result.counts)),
        "money": records(result.money),
        "sensitivity": records(result.sensitivity),
        "assumptions": records(result.assumptions),
        "observed": records(_suppressed_observed(result.observed)),
        "excluded": list(result.excluded),
        "notes": list(result.notes),
    }


def scenario_run_params(scenario: Mapping[str, Any], by: str) -> dict[str, Any]:
    """What a projection job needs to rerun a scenario exactly as saved."""
    return {"scenario_id": scenario["id"], "la_code": scenario["la_code"],
            "model": scenario["model"], "method": scenario["method"],
            "horizon_years": scenario["horizon_years"],
            "n_draws": scenario["n_draws"], "seed": scenario["seed"],
            "overrides": scenario["overrides"], "by": by}


def settings_changed(scenario: Mapping[str, Any], job: Mapping[str, Any] | None) -> bool:
    """True when the scenario was edited after this job's run, so its result is out of date."""
    if job is None:
        return False
    params = json.loads(job["params"]) if isinstance(job["params"], str) else job["params"]
    return any(params.get(k) != scenario[k]
               for k in ("model", "method", "horizon_years", "n_draws", "seed", "overrides"))


def run_projection_for(store: Store, la_code: str, model: str, horizon_years: int, n_draws: int,
                       seed: int, overrides: Mapping[str, Any], by: str, method: str
                       ) -> ProjectionResult:
    """The projection engine on the store's published histories (read once per data version)
    with the scenario's overrides, as `sf-benefits project` runs it."""
    return projection_data(store).project(
        la_code, model=model, horizon=horizon_years, method=method, n_draws=n_draws, seed=seed,
        price_base_year=PRICE_BASE_YEAR, overrides=engine_overrides(model, overrides),
        overrides_by=by)


def warm_projection(store: Store) -> None:
    """Read the store's projection inputs and fit the default demand method on them, so that a
    job worker's first projection waits for neither (nothing to do on an empty store)."""
    from sf_benefits.project.demand import METHODS
    from sf_benefits.project.pooled import PooledGrowthModel, warm_engine

    panel = projection_data(store).panel
    if not panel.empty and METHODS[DEFAULT_METHOD] is PooledGrowthModel:
        warm_engine(panel)


def projection_job(store: Store, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Background job: run a saved scenario's Monte Carlo projection and keep its result."""
    progress(0.1, f"Running {params['n_draws']:,} Monte Carlo draws")
    result = run_projection_for(store, params["la_code"], params["model"],
                                int(params["horizon_years"]), int(params["n_draws"]),
                                int(params["seed"]), params["overrides"], params["by"],
                                params["method"])
    progress(0.9, "Applying small-number suppression")
    return result_payload(result)


def lock_baseline_job(store: Store, params: dict[str, Any], progress: Progress
                      ) -> dict[str, Any]:
    """Background job: record an LA's go-live and lock its scenario's projection as the baseline.

    The projection runs first, outside any transaction; the implementation, its locked baseline
    and the audit row are then written in one transaction, so none stays without the others."""
    from sf_benefits.track import record_implementation
    from sf_benefits.track.service import lock_projected, project_to_go_live, store_data_vintage

    go_live = date.fromisoformat(params["go_live_date"])
    progress(0.1, f"Running the baseline projection ({params['n_draws']:,} draws)")
    projected = project_to_go_live(
        projection_data(store), params["la_code"], params["model"], go_live,
        store_data_vintage(store), horizon=int(params["horizon_years"]),
        n_draws=int(params["n_draws"]), method=params["method"], seed=int(params["seed"]),
        price_base_year=PRICE_BASE_YEAR,
        overrides=engine_overrides(params["model"], params["overrides"]),
        overrides_by=params["by"])
    progress(0.9, "Recording go-live and locking the baseline")
    with store.transaction() as conn:
        implementation = record_implementation(
            store, params["la_code"], params["la_name"], params["model"], go_live,
            params["scenario_name"], go_live_basis=f"Recorded in the web app by {params['by']}.",
            conn=conn)
        baseline = lock_projected(store, implementation.implementation_id, projected, conn=conn)
        record(conn, Actor(params.get("user_id"), params["by"], params.get("ip")),
               "baseline.lock", la_code=params["la_code"], target_type="implementation",
               target_id=implementation.implementation_id,
               detail={"scenario_id": params["scenario_id"], "revision": baseline.revision,
                       "content_sha256": baseline.content_sha256})
    return {"implementation_id": implementation.implementation_id,
            "revision": baseline.revision, "content_sha256": baseline.content_sha256}


def backtest_job(store: Store, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Background job: score the demand forecasting methods on the LA's own past years, as
    `sf-benefits backtest --la` does (a method that learns across LAs learning from every LA)."""
    from sf_benefits.project.backtest import run_backtest

    def report(method: str, done: int, total: int) -> None:
        progress(0.05 + 0.9 * done / max(total, 1),
                 f"Backtesting {method}: {done:,} of {total:,} forecasts")

    result = run_backtest(projection_data(store).panel, horizons=(1, 2, 3),
                          la_codes=[params["la_code"]], progress=report)
    origins = result.origins
    return {"summary": records(result.summary), "best_method": result.best_method(),
            "origins": list(origins) if origins else None, "level": result.level,
            "skipped": records(result.skipped)}


JOB_FUNCTIONS: dict[str, JobFunction] = {PROJECTION: projection_job,
                                         LOCK_BASELINE: lock_baseline_job,
                                         BACKTEST: backtest_job}


def start_lock_baseline(runner: JobRunner, store: Store, access: Access, scenario_id: int,
                        go_live_date: date) -> str:
    """Queue the go-live job for one of the LA's scenarios that has run successfully."""
    scenario = get_scenario(store, scenario_id)
    if scenario is None or scenario["la_code"] != access.la_code:
        raise ScenarioRejected("choose one of this LA's scenarios")
    if latest_job(store, scenario_id, status=SUCCEEDED, with_result=False) is None:
        raise ScenarioRejected("run the scenario before locking it as the baseline")
    la = access.la or {}
    params = {**scenario_run_params(scenario, access.principal.email),
              "la_name": la.get("la_name", access.la_code), "scenario_name": scenario["name"],
              "go_live_date": go_live_date.isoformat(), "user_id": access.principal.user_id,
              "ip": access.ip}
    return runner.submit(store, LOCK_BASELINE, access.la_code, params, access.actor)
