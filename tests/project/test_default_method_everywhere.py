"""One default demand method, learning from every LA's history, wherever demand is projected:
`sf-benefits project`, `sf-benefits report`, a scenario run in the web app (and the baseline it
locks at go-live) and a national sweep give the same figures for the same LA, model, seed and
draws on a small generated store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sf_benefits.cli.common import CSV_DECIMALS
from sf_benefits.cli.main import app as cli
from sf_benefits.ingest.loader import load_directory
from sf_benefits.project import DEFAULT_METHOD
from sf_benefits.project.method_words import method_words
from sf_benefits.store import Store
from sf_benefits.track import list_implementations, load_baseline
from sf_benefits.web.app import create_app
from sf_benefits.web.audit import Actor
from sf_benefits.web.auth import create_user
from tests.web.conftest import app_settings

LA = "E08000035"  # Leeds
MODEL = "family_safeguarding"
DRAWS, SEED, YEARS = 200, 5, 5
RUN = ["--model", MODEL, "--years", str(YEARS), "--draws", str(DRAWS), "--seed", str(SEED)]
EMAIL, PASSWORD = "analyst@example.gov.uk", "a password long enough for the test"
runner = CliRunner()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory, dfe_dir: Path) -> str:
    """A store of its own (the web app records a go-live in it), with one Leeds analyst."""
    url = f"sqlite:///{tmp_path_factory.mktemp('everywhere') / 'store.sqlite'}"
    store = Store.open(url)
    load_directory(store, dfe_dir)
    create_user(store, EMAIL, "Leeds Analyst", PASSWORD, "la_analyst", LA, Actor(None, None, "test"))
    store.close()
    return url


@pytest.fixture(scope="module")
def projected(store_url: str, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, pd.DataFrame]:
    """`sf-benefits project` with the command's defaults for everything not in RUN."""
    out = tmp_path_factory.mktemp("project")
    result = runner.invoke(cli, ["project", "--la", LA, *RUN, "--out", str(out),
                                 "--database-url", store_url], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert method_words(DEFAULT_METHOD) in " ".join(result.output.split())
    return {name: pd.read_csv(out / f"{LA}_{MODEL}_{name}.csv", float_precision="round_trip")
            for name in ("summary", "money", "run")}


def _npv_p50(projected: dict[str, pd.DataFrame]) -> float:
    summary = projected["summary"].set_index("measure")
    return float(summary.loc["net_present_value", "p50"])


def _as_exported(value: float) -> float:
    """£ as the command line's CSV files give them (CSV_DECIMALS places)."""
    return round(value, CSV_DECIMALS)


def _wait(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_the_command_line_uses_the_default_method(projected: dict[str, pd.DataFrame]) -> None:
    details = dict(zip(projected["run"]["item"], projected["run"]["value"], strict=True))
    assert details["method"] == DEFAULT_METHOD


def test_the_report_shows_the_same_npv(store_url: str, projected: dict[str, pd.DataFrame],
                                       tmp_path: Path) -> None:
    out = tmp_path / "leeds.xlsx"
    result = runner.invoke(cli, ["report", "--la", LA, *RUN, "--format", "xlsx", "--out", str(out),
                                 "--database-url", store_url])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["summary"]
    figures = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert _as_exported(figures["Net present value (NPV), P50"]) == _npv_p50(projected)


def test_the_sweep_gives_the_la_the_same_npv(store_url: str, projected: dict[str, pd.DataFrame],
                                              tmp_path: Path) -> None:
    result = runner.invoke(cli, ["sweep", "--la", LA, "--models", MODEL, "--draws", str(DRAWS),
                                 "--seed", str(SEED), "--years", str(YEARS), "--serial",
                                 "--out", str(tmp_path), "--database-url", store_url])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "results.parquet")
    npv = table[(table["level"] == "local_authority") & (table["measure"] == "net_present_value")]
    assert [_as_exported(v) for v in npv["p50"]] == [_npv_p50(projected)]
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    assert runs["method"].tolist() == [DEFAULT_METHOD]


def test_a_web_scenario_and_its_locked_baseline_give_the_same_figures(
        store_url: str, projected: dict[str, pd.DataFrame]) -> None:
    store = Store.open(store_url)
    application = create_app(store, app_settings())
    try:
        client = TestClient(application)
        signed = client.post("/api/session", json={"email": EMAIL, "password": PASSWORD})
        headers = {"X-CSRF-Token": signed.json()["csrf_token"]}
        created = client.post(f"/api/las/{LA}/scenarios", headers=headers, json={
            "name": "Leeds business case", "model": MODEL, "horizon_years": YEARS,
            "n_draws": DRAWS, "seed": SEED})
        assert created.status_code == 201, created.text
        scenario_id = created.json()["id"]
        assert created.json()["method"] == DEFAULT_METHOD
        run = client.post(f"/api/scenarios/{scenario_id}/run", headers=headers)
        _wait(client, run.json()["id"])
        payload = client.get(f"/api/scenarios/{scenario_id}/result").json()["result"]
        assert payload["method"] == DEFAULT_METHOD
        assert _as_exported(payload["headline"]["net_present_value"]["p50"]) == _npv_p50(
            projected)
        page = client.get(f"/scenarios/{scenario_id}").text
        assert method_words(DEFAULT_METHOD).replace("'", "&#39;") in page

        # go-live after the last published year: the locked baseline is the same projection
        locked = client.post(f"/api/las/{LA}/implementations", headers=headers,
                             json={"scenario_id": scenario_id, "go_live_date": "2025-06-01"})
        assert locked.status_code == 202, locked.text
        _wait(client, locked.json()["id"])
    finally:
        application.state.runner.shutdown()
    (implementation,) = list_implementations(store)
    baseline = load_baseline(store, implementation.implementation_id)
    store.close()
    assert baseline.method == DEFAULT_METHOD
    values = baseline.values
    locked_savings = [_as_exported(v) for v in values[
        (values["series"] == "business_case") & (values["measure"] == "net_savings")]["p50"]]
    money = projected["money"]
    assert locked_savings == money[money["measure"] == "net_savings"]["p50"].tolist()
