"""Fixtures for the web app: a loaded store (SQLite, and PostgreSQL when CI gives one), users of
every role in two LAs, signed-in clients, and a scenario of LA A that has been run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from fastapi.testclient import TestClient

from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.web import services
from sf_benefits.web.app import create_app
from sf_benefits.web.audit import Actor
from sf_benefits.web.auth import create_user, use_password_hasher
from sf_benefits.web.settings import WebSettings
from tests.conftest import fresh_postgres_database

PASSWORD = "correct horse battery staple"
LA_A = "E08000035"  # Leeds
LA_B = "E08000036"  # Wakefield
MODEL = "family_safeguarding"
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "programme": ("programme", None),
    "analyst_a": ("la_analyst", LA_A),
    "viewer_a": ("la_viewer", LA_A),
    "analyst_b": ("la_analyst", LA_B),
    "viewer_b": ("la_viewer", LA_B),
}
ROLES = tuple(USERS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded_store_only: runs once, on SQLite (the "
                            "PostgreSQL variant is deselected, not skipped)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the PostgreSQL variant of tests that need only run on one store."""
    dropped = [item for item in items if item.get_closest_marker("embedded_store_only")
               and getattr(item, "callspec", None) is not None
               and item.callspec.params.get("web_store") == "postgres"]  # type: ignore[attr-defined]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def email(role: str) -> str:
    return f"{role}@example.gov.uk"


def app_settings() -> WebSettings:
    """Plain-HTTP cookies and a thread pool, so tests need no TLS and start no processes."""
    return WebSettings(secret_key="test-secret-key-for-the-web-tests", secure_cookies=False,
                       job_mode="thread", job_workers=2, warm_benchmarks=False)


def runnable_overrides(model: str) -> dict[str, Any]:
    """Test values for assumptions the shipped library has not sourced (status not_found), so a
    projection can run; sourced assumptions keep their defaults."""
    overrides: dict[str, Any] = {}
    for row in services.assumption_rows(model, {}):
        if not row["missing"]:
            continue
        unit = str(row["unit"]).lower()
        if not row["editable"] or unit.startswith("index"):
            overrides[row["id"]] = {"values": {f"{y}-04-01": 100.0 for y in range(2000, 2041)}}
        elif "gbp" in unit:
            overrides[row["id"]] = 250_000.0 if "week" not in unit else 900.0
        elif unit.startswith("year"):
            overrides[row["id"]] = 2.0
        elif "proportion" in unit or "share" in unit:
            overrides[row["id"]] = 0.1
        else:
            overrides[row["id"]] = 1.0
    return overrides


def _postgres_database() -> Iterator[str]:
    base = os.environ.get("SF_BENEFITS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("SF_BENEFITS_TEST_POSTGRES_URL not set: the app's PostgreSQL run is in CI")
    url, drop = fresh_postgres_database(base)
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> None:
    """Argon2id with its cheapest parameters: same code path, a fraction of the CPU time."""
    use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres",
                                                                 marks=pytest.mark.postgres)])
def web_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              dfe_dir: Path) -> Iterator[Store]:
    """The synthetic DfE data and one user per role, on SQLite and on PostgreSQL."""
    databases: Iterator[str] | None = None
    if request.param == "postgres":
        databases = _postgres_database()
        url = next(databases)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'store.sqlite'}"
    store = Store.open(url)
    load_directory(store, dfe_dir)
    for role, (kind, la_code) in USERS.items():
        create_user(store, email(role), role.replace("_", " ").title(), PASSWORD, kind, la_code,
                    Actor(None, None, "test"))
    yield store
    store.close()
    if databases is not None:
        next(databases, None)


@pytest.fixture(scope="session")
def app(web_store: Store) -> Iterator[Any]:
    application = create_app(web_store, app_settings())
    yield application
    application.state.runner.shutdown()


def sign_in(app: Any, role: str) -> tuple[TestClient, str]:
    """A client signed in through the API as `role`, and its CSRF token."""
    client = TestClient(app)
    response = client.post("/api/session", json={"email": email(role), "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


@dataclass
class Clients:
    """One signed-in client per role, with the CSRF token each must send on writes."""

    clients: dict[str, TestClient]
    tokens: dict[str, str]

    def __getitem__(self, role: str) -> TestClient:
        return self.clients[role]

    def headers(self, role: str) -> dict[str, str]:
        return {"X-CSRF-Token": self.tokens[role]}


@pytest.fixture(scope="session")
def clients(app: Any) -> Clients:
    signed = {role: sign_in(app, role) for role in ROLES}
    return Clients({r: c for r, (c, _) in signed.items()}, {r: t for r, (_, t) in signed.items()})


def wait_for_job(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the job endpoint until the job has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


@dataclass
class RunScenario:
    """A private scenario of LA A that has run successfully, and its job."""

    scenario_id: int
    job_id: str


def create_and_run(clients: Clients, role: str, la_code: str, name: str,
                   n_draws: int = 200) -> RunScenario:
    """Create a scenario through the API, run it and wait for the result."""
    created = clients[role].post(
        f"/api/las/{la_code}/scenarios", headers=clients.headers(role),
        json={"name": name, "model": MODEL, "horizon_years": 5, "n_draws": n_draws,
              "seed": 7, "overrides": runnable_overrides(MODEL)})
    assert created.status_code == 201, created.text
    scenario_id = created.json()["id"]
    started = clients[role].post(f"/api/scenarios/{scenario_id}/run",
                                 headers=clients.headers(role))
    assert started.status_code == 202, started.text
    job = wait_for_job(clients[role], started.json()["id"])
    assert job["status"] == "succeeded", job
    return RunScenario(scenario_id, job["id"])


@pytest.fixture(scope="session")
def run_scenario(clients: Clients) -> RunScenario:
    return create_and_run(clients, "analyst_a", LA_A, "Leeds business case")


@pytest.fixture(scope="session")
def backtest_job(clients: Clients) -> str:
    """A finished backtest of LA A's demand forecasts (run by its analyst)."""
    started = clients["analyst_a"].post(f"/api/las/{LA_A}/backtest",
                                        headers=clients.headers("analyst_a"))
    assert started.status_code == 202, started.text
    job = wait_for_job(clients["analyst_a"], started.json()["id"], timeout=120)
    assert job["status"] == "succeeded", job
    return str(job["id"])
