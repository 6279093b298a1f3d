"""Background jobs in a separate process pool, number formats, and the `serve`/`users` commands."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from sf_benefits.cli.main import app as cli
from sf_benefits.project import DEFAULT_METHOD
from sf_benefits.project.inputs import projection_data
from sf_benefits.project.pooled import engine_for
from sf_benefits.store import Store
from sf_benefits.store.schema import local_authority
from sf_benefits.web import services
from sf_benefits.web.audit import Actor
from sf_benefits.web.auth import list_users
from sf_benefits.web.benchmark_view import warm_benchmarks
from sf_benefits.web.formatting import count, money, number, percent, rate
from sf_benefits.web.jobs import JobRunner, fail_orphaned_jobs, job_row
from sf_benefits.web.tables import background_job
from tests.web.conftest import LA_A, MODEL, runnable_overrides


def test_money_and_counts_are_formatted_for_finance_teams() -> None:
    assert money(1234567.4) == "£1,234,567"
    assert money(-2500) == "\u2212£2,500"
    assert money(None) == "\u2013"
    assert count(12345) == "12,345"
    assert count("c") == "c"
    assert rate(93.04) == "93.0"
    assert percent(0.125) == "12.5%"
    assert number(0.035) == "0.035" and number(6106.0) == "6,106"


def test_a_projection_runs_in_a_worker_process_with_progress_in_the_db(
        web_store: Store) -> None:
    if web_store.engine.dialect.name == "sqlite":
        assert web_store.engine.url.database
    runner = JobRunner(web_store, services.JOB_FUNCTIONS, mode="process", workers=1)
    try:
        params = {"scenario_id": None, "la_code": LA_A, "model": MODEL, "method": DEFAULT_METHOD,
                  "horizon_years": 3, "n_draws": 100, "seed": 3,
                  "overrides": runnable_overrides(MODEL), "by": "process-test"}
        started = time.monotonic()
        job_id = runner.submit(web_store, services.PROJECTION, LA_A, params,
                               Actor(None, "process-test", None))
        assert time.monotonic() - started < 2.0, "submitting must not wait for the run"
        deadline = time.monotonic() + 120
        job = job_row(web_store, job_id)
        while job is not None and job["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
            job = job_row(web_store, job_id)
    finally:
        runner.shutdown()
    assert job is not None and job["status"] == "succeeded", job
    assert job["progress"] == 1.0 and job["result"]["price_base_year"] == "2024-25"


WARM_MARK = "SFB_TEST_WARM_MARK"


def _mark_then_fail(store: Store) -> None:
    Path(os.environ[WARM_MARK]).write_text(str(store.engine.url.database), encoding="utf-8")
    raise RuntimeError("a warm-up that fails")


@pytest.mark.embedded_store_only
def test_each_job_worker_warms_up_at_start_and_a_failed_warm_up_does_not_stop_it(
        web_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mark = tmp_path / "warmed"
    monkeypatch.setenv(WARM_MARK, str(mark))
    runner = JobRunner(web_store, {"echo": _echo}, mode="process", workers=1,
                       warm_up=_mark_then_fail)
    try:
        job_id = runner.submit(web_store, "echo", LA_A, {"n": 2}, Actor(None, "warm-test", None))
        deadline = time.monotonic() + 60
        while (job := job_row(web_store, job_id)) and job["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        runner.shutdown()
    assert mark.read_text(encoding="utf-8") == web_store.engine.url.database
    assert job is not None and job["status"] == "succeeded" and job["result"] == {"n": 2}


def _echo(_store: Store, params: dict[str, Any], _progress: Any) -> dict[str, Any]:
    return params


def test_warm_projection_fits_the_default_method_before_any_job(web_store: Store) -> None:
    services.warm_projection(web_store)
    engine = engine_for(projection_data(web_store).panel)
    last = int(engine.years[-1])
    assert {(last, h) for h in (1, 2, 3)} <= set(engine._fits)


@pytest.mark.embedded_store_only
def test_users_add_command(web_store: Store) -> None:
    url = web_store.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["users", "add", "--email", "cli-user@example.gov.uk",
                                      "--role", "la_viewer", "--la", LA_A, "--name", "Cli User",
                                      "--password", "a long enough password",
                                      "--database-url", url])
    assert result.exit_code == 0, result.output
    assert any(u["email"] == "cli-user@example.gov.uk" for u in list_users(web_store))
    refused = CliRunner().invoke(cli, ["users", "add", "--email", "x@example.gov.uk", "--role",
                                       "la_analyst", "--password", "a long enough password",
                                       "--database-url", url])
    assert refused.exit_code == 1
    listed = CliRunner().invoke(cli, ["users", "list", "--database-url", url])
    assert listed.exit_code == 0 and "cli-user@" in listed.output


def test_serve_command_is_registered() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output


@pytest.mark.embedded_store_only
def test_every_la_overview_is_prepared_in_the_background(web_store: Store) -> None:
    stop = threading.Event()
    status: dict[str, int] = {}
    built = warm_benchmarks(web_store, stop, pause_seconds=0.0, status=status)
    with web_store.engine.connect() as conn:
        las = conn.execute(select(func.count()).select_from(local_authority)).scalar_one()
    assert built == las and status == {"prepared": las, "total": las}
    stop.set()
    assert warm_benchmarks(web_store, stop) == 0


def test_jobs_of_a_stopped_app_are_marked_failed(web_store: Store) -> None:
    with web_store.transaction() as conn:
        conn.execute(background_job.insert().values(
            id="orphan" + uuid.uuid4().hex[:10], kind=services.PROJECTION, la_code=LA_A,
            scenario_id=None, created_by=0, runner=f"{socket.gethostname()}:999999999",
            status="running", progress=0.3, message="Running", params="{}",
            created_at=datetime.now(UTC)))
    assert fail_orphaned_jobs(web_store) >= 1
    with web_store.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(background_job).where(
            background_job.c.runner.like("%:999999999"),
            background_job.c.status == "running")).scalar_one()
    assert left == 0
