"""Saved scenarios: an LA's choice of model, horizon, draws and assumption overrides (audited)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from sf_benefits.project.defaults import DEFAULT_METHOD
from sf_benefits.project.method_words import METHOD_TECHNICAL as METHOD_TECHNICAL
from sf_benefits.project.method_words import methods_default_first
from sf_benefits.store import Store
from sf_benefits.web.audit import Actor, record
from sf_benefits.web.tables import saved_scenario

MAX_HORIZON_YEARS = 10
MIN_DRAWS = 50
MAX_DRAWS = 5000
MAX_ABS_VALUE = 1e15
DEMAND_METHODS = methods_default_first()
"""Each demand forecasting method in words a finance officer uses, the default first; the
statistical names (for a tooltip) are in METHOD_TECHNICAL."""


class ScenarioError(ValueError):
    """Scenario settings that break a rule (unknown assumption, out-of-range horizon, …)."""


def _decode(row: Any) -> dict[str, Any]:
    scenario = dict(row)
    scenario["overrides"] = json.loads(scenario["overrides"])
    return scenario


def _check(horizon_years: int, n_draws: int) -> None:
    if not 1 <= horizon_years <= MAX_HORIZON_YEARS:
        raise ScenarioError(f"the horizon must be from 1 to {MAX_HORIZON_YEARS} years")
    if not MIN_DRAWS <= n_draws <= MAX_DRAWS:
        raise ScenarioError(f"the number of draws must be from {MIN_DRAWS} to {MAX_DRAWS}")


def _usable(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and abs(value) <= MAX_ABS_VALUE)


def _check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Finite numbers, or (with a source, a series by date, …) a mapping the assumptions engine
    reads, whose numbers are finite too."""
    checked: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            numbers = ([value["value"]] if "value" in value else []) + list(
                (value.get("values") or {}).values())
            if not all(_usable(v) for v in numbers):
                raise ScenarioError(f"every value for '{key}' must be a finite number")
            checked[str(key)] = value
            continue
        if not _usable(value):
            raise ScenarioError(f"the override for '{key}' must be a finite number")
        checked[str(key)] = float(value)
    return checked


def _check_method(method: str) -> None:
    if method not in DEMAND_METHODS:
        raise ScenarioError(f"the demand method must be one of {', '.join(DEMAND_METHODS)}")


def create_scenario(store: Store, la_code: str, name: str, model: str, horizon_years: int,
                    n_draws: int, seed: int, actor: Actor,
                    overrides: dict[str, Any] | None = None,
                    method: str = DEFAULT_METHOD) -> int:
    """Save a new, unpublished scenario for an LA and return its id."""
    _check(horizon_years, n_draws)
    _check_method(method)
    name = name.strip()
    if not name:
        raise ScenarioError("the scenario needs a name")
    now = datetime.now(UTC)
    checked = _check_overrides(overrides or {})
    with store.transaction() as conn:
        scenario_id = conn.execute(saved_scenario.insert().values(
            la_code=la_code, name=name, model=model, method=method,
            horizon_years=horizon_years,
            n_draws=n_draws, seed=seed, overrides=json.dumps(checked, sort_keys=True),
            published=False, created_by=actor.user_id or 0, created_at=now, updated_at=now,
        ).returning(saved_scenario.c.id)).scalar_one()
        record(conn, actor, "scenario.create", la_code=la_code, target_type="scenario",
               target_id=scenario_id, detail={"name": name, "model": model, "method": method,
                                              "horizon_years": horizon_years,
                                              "n_draws": n_draws, "seed": seed,
                                              "overrides": checked})
    return int(scenario_id)


def get_scenario(store: Store, scenario_id: int) -> dict[str, Any] | None:
    """One saved scenario with its overrides decoded, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(select(saved_scenario).where(saved_scenario.c.id == scenario_id)
                           ).mappings().first()
    return _decode(row) if row is not None else None


def list_scenarios(store: Store, la_code: str, include_unpublished: bool
                   ) -> list[dict[str, Any]]:
    """An LA's scenarios, newest first; unpublished ones only when the reader may see them."""
    query = (select(saved_scenario).where(saved_scenario.c.la_code == la_code)
             .order_by(saved_scenario.c.id.desc()))
    if not include_unpublished:
        query = query.where(saved_scenario.c.published.is_(True))
    with store.engine.connect() as conn:
        return [_decode(r) for r in conn.execute(query).mappings()]


def list_published(store: Store) -> list[dict[str, Any]]:
    """Every published scenario of every LA, for the programme view."""
    query = (select(saved_scenario).where(saved_scenario.c.published.is_(True))
             .order_by(saved_scenario.c.la_code, saved_scenario.c.id))
    with store.engine.connect() as conn:
        return [_decode(r) for r in conn.execute(query).mappings()]


def update_scenario(store: Store, scenario: dict[str, Any], actor: Actor, *,
                    name: str | None = None, horizon_years: int | None = None,
                    n_draws: int | None = None, seed: int | None = None,
                    overrides: dict[str, Any] | None = None,
                    method: str | None = None) -> dict[str, Any]:
    """Change a scenario's settings or replace its overrides; the old and new values are audited."""
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise ScenarioError("the scenario needs a name")
        changes["name"] = name.strip()
    if horizon_years is not None:
        changes["horizon_years"] = horizon_years
    if n_draws is not None:
        changes["n_draws"] = n_draws
    if seed is not None:
        changes["seed"] = seed
    if method is not None:
        _check_method(method)
        changes["method"] = method
    _check(changes.get("horizon_years", scenario["horizon_years"]),
           changes.get("n_draws", scenario["n_draws"]))
    audit_changes: dict[str, Any] = dict(changes)
    if overrides is not None:
        checked = _check_overrides(overrides)
        changes["overrides"] = json.dumps(checked, sort_keys=True)
        audit_changes["overrides"] = checked
    before = {k: scenario[k] for k in audit_changes}
    with store.transaction() as conn:
        conn.execute(update(saved_scenario).where(saved_scenario.c.id == scenario["id"])
                     .values(**changes, updated_at=datetime.now(UTC)))
        record(conn, actor, "scenario.update", la_code=scenario["la_code"],
               target_type="scenario", target_id=scenario["id"],
               detail={"before": before, "after": audit_changes})
    updated = get_scenario(store, scenario["id"])
    assert updated is not None
    return updated


def set_published(store: Store, scenario: dict[str, Any], published: bool, actor: Actor) -> None:
    """Publish a scenario to the programme team (or withdraw it); audited."""
    with store.transaction() as conn:
        conn.execute(update(saved_scenario).where(saved_scenario.c.id == scenario["id"])
                     .values(published=published, updated_at=datetime.now(UTC)))
        record(conn, actor, "scenario.publish" if published else "scenario.unpublish",
               la_code=scenario["la_code"], target_type="scenario", target_id=scenario["id"])
