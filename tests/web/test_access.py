"""Every API endpoint tried as every role (allow or deny), and every route behind the one check."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import (
    LA_A,
    LA_B,
    MODEL,
    PASSWORD,
    ROLES,
    Clients,
    RunScenario,
    create_and_run,
    email,
    sign_in,
)

ALLOWED: dict[str, set[str]] = {
    "public": set(ROLES),
    "signed_in": set(ROLES),
    "read_la": {"admin", "programme", "analyst_a", "viewer_a"},
    "read_private": {"admin", "analyst_a", "viewer_a"},
    "write_la": {"admin", "analyst_a"},
    "programme": {"admin", "programme"},
    "admin": {"admin"},
}
PUBLIC_ROUTES = {("POST", "/api/session"), ("GET", "/api/docs"), ("GET", "/login"),
                 ("POST", "/login"),
                 ("GET", "/healthz"), ("GET", "/vendor/plotly.min.js")}


def actuals_csv(count: int) -> bytes:
    return ("period,measure,placement,count,spend_gbp\n"
            f"2024-25 Q1,cla,all,{count},\n"
            f"2024-25 Q1,spend,all,,{count * 1000}\n").encode()


@dataclass
class Call:
    """How to call one endpoint for a role: extra request arguments, and who may call it."""

    kind: str
    arguments: Callable[[str], dict[str, Any]] = field(default=lambda role: {})
    fresh_client: bool = False


MATRIX: dict[tuple[str, str], Call] = {
    ("POST", "/api/session"): Call("public", lambda role: {
        "json": {"email": email(role), "password": PASSWORD}}, fresh_client=True),
    ("GET", "/api/docs"): Call("public"),
    ("GET", "/api/session"): Call("signed_in"),
    ("DELETE", "/api/session"): Call("signed_in", fresh_client=True),
    ("GET", "/api/las"): Call("signed_in"),
    ("GET", "/api/models"): Call("signed_in"),
    ("GET", "/api/models/{model}/assumptions"): Call("signed_in"),
    ("GET", "/api/las/{la_code}/benchmark"): Call("read_la"),
    ("GET", "/api/las/{la_code}/scenarios"): Call("read_la"),
    ("POST", "/api/las/{la_code}/scenarios"): Call("write_la", lambda role: {
        "json": {"name": f"Matrix scenario by {role}", "model": MODEL}}),
    ("GET", "/api/scenarios/{scenario_id}"): Call("read_private"),
    ("PATCH", "/api/scenarios/{scenario_id}"): Call("write_la", lambda role: {
        "json": {"name": "Leeds business case"}}),
    ("POST", "/api/scenarios/{scenario_id}/run"): Call("write_la"),
    ("POST", "/api/scenarios/{scenario_id}/publish"): Call("write_la", lambda role: {
        "json": {"published": False}}),
    ("GET", "/api/scenarios/{scenario_id}/result"): Call("read_private"),
    ("GET", "/api/scenarios/{scenario_id}/report/{fmt}"): Call("read_private"),
    ("GET", "/api/jobs/{job_id}"): Call("read_private"),
    ("GET", "/api/las/{la_code}/tracking"): Call("read_la"),
    ("GET", "/api/las/{la_code}/backtest"): Call("read_la"),
    ("POST", "/api/las/{la_code}/backtest"): Call("write_la"),
    ("POST", "/api/las/{la_code}/actuals"): Call("write_la", lambda role: {
        "files": {"file": (f"actuals-{role}.csv", actuals_csv(900 + ROLES.index(role)),
                           "text/csv")},
        "data": {"note": f"uploaded by {role}"}}),
    ("POST", "/api/las/{la_code}/implementations"): Call("write_la", lambda role: {
        "json": {"scenario_id": "{scenario_id}", "go_live_date": "2022-04-01"}}),
    ("GET", "/api/programme"): Call("programme"),
    ("GET", "/api/users"): Call("admin"),
    ("POST", "/api/users"): Call("admin", lambda role: {"json": {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.gov.uk", "full_name": "New Viewer",
        "password": PASSWORD, "role": "la_viewer", "la_code": LA_A}}),
    ("GET", "/api/audit"): Call("admin"),
}


def flat_routes(routes: list[Any]) -> list[Any]:
    """The app's routes with included routers opened up (FastAPI keeps them wrapped)."""
    out: list[Any] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        out.extend(flat_routes(included.routes) if included is not None else [route])
    return out


def api_routes(app: Any) -> set[tuple[str, str]]:
    return {(method, route.path) for route in flat_routes(app.routes)
            if isinstance(route, APIRoute) and route.path.startswith("/api")
            for method in (route.methods or ())}


def fill(path: str, run: RunScenario) -> str:
    return (path.replace("{la_code}", LA_A).replace("{scenario_id}", str(run.scenario_id))
            .replace("{job_id}", run.job_id).replace("{model}", MODEL).replace("{fmt}", "xlsx"))


def _resolve(value: Any, run: RunScenario) -> Any:
    if value == "{scenario_id}":
        return run.scenario_id
    if isinstance(value, dict):
        return {k: _resolve(v, run) for k, v in value.items()}
    return value


def test_matrix_covers_every_api_route(app: Any) -> None:
    missing = sorted(api_routes(app) - set(MATRIX))
    assert not missing, f"API routes with no allow/deny assertion per role: {missing}"
    stale = sorted(set(MATRIX) - api_routes(app))
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_every_api_endpoint_allows_or_denies_each_role(app: Any, clients: Clients,
                                                       run_scenario: RunScenario,
                                                       backtest_job: str, role: str) -> None:
    failures = []
    for (method, path), call in sorted(MATRIX.items()):
        arguments = {k: _resolve(v, run_scenario) for k, v in call.arguments(role).items()}
        if call.fresh_client:
            client, token = (TestClient(app), "") if method == "POST" else sign_in(app, role)
        else:
            client, token = clients[role], clients.tokens[role]
        headers = {"X-CSRF-Token": token} if method != "GET" and token else {}
        response = client.request(method, fill(path, run_scenario), headers=headers,
                                  **arguments)
        allowed = role in ALLOWED[call.kind]
        ok = response.status_code < 400 if allowed else response.status_code in (403, 404)
        if not ok:
            failures.append(f"{method} {path}: {'allow' if allowed else 'deny'} expected, got "
                            f"{response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def test_signed_out_requests_get_401(app: Any, run_scenario: RunScenario) -> None:
    client = TestClient(app)
    for (method, path), call in MATRIX.items():
        if call.kind == "public":
            continue
        response = client.request(method, fill(path, run_scenario))
        assert response.status_code == 401, (method, path, response.status_code)


def _requirements(route: APIRoute) -> list[str]:
    found = []
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        permission = getattr(dependency.call, "permission", None)
        if permission is not None:
            found.append(str(permission))
        stack.extend(dependency.dependencies)
    return found


def test_every_route_goes_through_the_access_check(app: Any) -> None:
    unguarded = []
    for route in flat_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            if (method, route.path) in PUBLIC_ROUTES:
                continue
            if len(_requirements(route)) != 1:
                unguarded.append(f"{method} {route.path}")
    assert not unguarded, f"routes without exactly one require(...): {unguarded}"


PAGES: list[tuple[str, str]] = [
    ("/la/{la_code}", "read_la"),
    ("/la/{la_code}/scenarios", "read_la"),
    ("/la/{la_code}/tracking", "read_la"),
    ("/la/{la_code}/actuals-template.xlsx", "read_la"),
    ("/la/{la_code}/downloads", "read_la"),
    ("/scenarios/{scenario_id}", "read_private"),
    ("/scenarios/{scenario_id}/download/xlsx", "read_private"),
    ("/programme", "programme"),
    ("/admin/users", "admin"),
    ("/admin/audit", "admin"),
]


@pytest.mark.parametrize("role", ROLES)
def test_pages_allow_or_deny_each_role(clients: Clients, run_scenario: RunScenario,
                                       role: str) -> None:
    for path, kind in PAGES:
        response = clients[role].get(fill(path, run_scenario), follow_redirects=False)
        if role in ALLOWED[kind]:
            assert response.status_code == 200, (path, role, response.status_code)
        else:
            assert response.status_code in (403, 404), (path, role, response.status_code)
            assert "Leeds business case" not in response.text


def test_other_la_cannot_reach_scenario_or_uploads_by_page_or_api(
        clients: Clients, run_scenario: RunScenario) -> None:
    uploaded = clients["analyst_a"].post(
        f"/api/las/{LA_A}/actuals", headers=clients.headers("analyst_a"),
        files={"file": ("leeds-private.csv", actuals_csv(1234), "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    own = clients["viewer_a"].get(f"/la/{LA_A}/tracking")
    assert "leeds-private.csv" in own.text
    for role in ("analyst_b", "viewer_b"):
        client = clients[role]
        for path in (f"/scenarios/{run_scenario.scenario_id}", f"/la/{LA_A}/tracking",
                     f"/api/scenarios/{run_scenario.scenario_id}",
                     f"/api/scenarios/{run_scenario.scenario_id}/result",
                     f"/api/jobs/{run_scenario.job_id}", f"/api/las/{LA_A}/tracking"):
            response = client.get(path)
            assert response.status_code in (403, 404), (role, path)
            assert "leeds-private.csv" not in response.text
        listed = client.get(f"/api/las/{LA_B}/scenarios").json()
        assert all(s["la_code"] == LA_B for s in listed)
        assert {la["la_code"] for la in client.get("/api/las").json()} == {LA_B}
        write = client.post(f"/api/las/{LA_A}/actuals", headers=clients.headers(role),
                            files={"file": ("x.csv", actuals_csv(99), "text/csv")})
        assert write.status_code == 403


def test_programme_team_does_not_see_an_las_actuals(clients: Clients) -> None:
    uploaded = clients["analyst_a"].post(
        f"/api/las/{LA_A}/actuals", headers=clients.headers("analyst_a"),
        files={"file": ("leeds-programme-hidden.csv", actuals_csv(4321), "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    own = clients["viewer_a"].get(f"/api/las/{LA_A}/tracking").json()
    assert own["imports"] and own["current_actuals"]
    tracking = clients["programme"].get(f"/api/las/{LA_A}/tracking")
    assert tracking.status_code == 200
    assert tracking.json()["imports"] == [] and tracking.json()["current_actuals"] == []
    page = clients["programme"].get(f"/la/{LA_A}/tracking")
    assert page.status_code == 200
    assert "leeds-programme-hidden.csv" not in page.text
    assert "own users can see its actuals and imports" in page.text


def test_programme_team_sees_published_scenarios_only(clients: Clients) -> None:
    run = create_and_run(clients, "analyst_a", LA_A, "To be published", n_draws=100)
    programme = clients["programme"]
    assert programme.get(f"/api/scenarios/{run.scenario_id}").status_code == 404
    names = {s["name"] for s in programme.get(f"/api/las/{LA_A}/scenarios").json()}
    assert "To be published" not in names
    published = clients["analyst_a"].post(f"/api/scenarios/{run.scenario_id}/publish",
                                          headers=clients.headers("analyst_a"),
                                          json={"published": True})
    assert published.status_code == 200
    assert programme.get(f"/api/scenarios/{run.scenario_id}").status_code == 200
    assert programme.get(f"/api/scenarios/{run.scenario_id}/result").status_code == 200
    assert clients["viewer_b"].get(f"/api/scenarios/{run.scenario_id}").status_code == 404
    assert programme.patch(f"/api/scenarios/{run.scenario_id}",
                           headers=clients.headers("programme"),
                           json={"name": "changed"}).status_code == 403


def test_malformed_ids_are_not_found(clients: Clients) -> None:
    for path in ("/api/scenarios/abc", "/scenarios/1e3", "/api/jobs/../../etc",
                 "/api/scenarios/99999999999999999999",
                 "/la/NOT-A-CODE", "/api/las/E99999999/benchmark"):
        assert clients["admin"].get(path).status_code == 404, path
