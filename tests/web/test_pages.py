"""Pages and API render the engines' results: tables under charts, £ and price base, suppression,
validated uploads that change nothing on error, and an audit row for every write."""

from __future__ import annotations

import io
import json
import re
from collections import OrderedDict
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.project.defaults import DEFAULT_METHOD
from sf_benefits.project.method_words import method_words
from sf_benefits.store import Store
from sf_benefits.web import downloads, services
from sf_benefits.web.tables import audit_event
from tests.web.conftest import (
    LA_A,
    LA_B,
    MODEL,
    Clients,
    RunScenario,
    create_and_run,
    runnable_overrides,
    wait_for_job,
)


def _imports(clients: Clients) -> int:
    return len(clients["analyst_a"].get(f"/api/las/{LA_A}/tracking").json()["imports"])


def test_overview_is_one_summary_with_each_indicators_charts_a_click_away(
        clients: Clients) -> None:
    page = clients["viewer_a"].get(f"/la/{LA_A}").text
    assert "chart-figure" not in page, "the overview is a summary; charts are on each indicator"
    assert "Leeds against its statistical neighbours" in page
    assert re.search(r"£\d{1,3}(,\d{3})+", page), "money indicators shown as £ with separators"
    assert "cash terms of each financial year" in page
    links = re.findall(rf'href="(/la/{LA_A}/indicators/[a-z0-9_]+)"', page)
    assert len(links) >= 10 and page.count('class="sparkline"') >= 10
    assert re.search(r'class="band band--[abcd]"', page)
    for link in links:
        detail = clients["viewer_a"].get(link).text
        figures = re.findall(r'<figure class="chart-figure".*?</figure>', detail, flags=re.S)
        assert len(figures) == 2, link
        for figure in figures:
            assert 'class="chart"' in figure and "<table" in figure
    assert clients["viewer_a"].get(f"/la/{LA_A}/indicators/no_such").status_code == 404


def test_england_total_spend_is_not_on_the_las_axis(clients: Clients) -> None:
    detail = clients["viewer_a"].get(f"/la/{LA_A}/indicators/cla_spend_total").text
    for chart_id in ("nb-cla_spend_total", "tr-cla_spend_total"):
        data = re.search(rf'id="{chart_id}-data">(.*?)</script>', detail, flags=re.S)
        assert data is not None
        figure = json.loads(data.group(1))
        names = {t.get("name") for t in figure["data"]}
        assert "England" not in names and "Region" not in names and "Yorkshire and The Humber" \
            not in names
        assert all(shape.get("name") != "England" for shape in figure["layout"].get("shapes", []))
    assert "England" in detail, "England's figure stays in the table"


def test_benchmark_downloads(clients: Clients) -> None:
    xlsx = clients["viewer_a"].get(f"/la/{LA_A}/benchmark.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[0] == "Summary"
    csv = clients["viewer_a"].get(f"/la/{LA_A}/benchmark.csv")
    assert csv.status_code == 200
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert len(frame) >= 10 and "la_value" in frame.columns
    assert clients["viewer_b"].get(f"/la/{LA_A}/benchmark.xlsx").status_code == 403


def test_scenario_page_shows_fan_chart_money_table_and_price_base(
        clients: Clients, run_scenario: RunScenario) -> None:
    page = clients["viewer_a"].get(f"/scenarios/{run_scenario.scenario_id}").text
    assert 'id="fan-cla"' in page and 'id="net-savings"' in page
    assert "All £ figures are in 2024-25 prices" in page
    assert re.search(r"£\d{1,3}(,\d{3})+", page)
    data = re.search(r'<script type="application/json" id="fan-cla-data">(.*?)</script>', page,
                     flags=re.S)
    assert data is not None
    traces = json.loads(data.group(1))["data"]
    assert {"Scenario P50 (with the innovation)", "Baseline P10 to P90"} <= {
        t.get("name") for t in traces}
    assert "Money by financial year (P50)" in page
    assert "Source" in page and "Grade" in page
    assert "Run the projection" not in page, "a viewer cannot run"


def test_projected_counts_from_1_to_5_are_suppressed() -> None:
    counts = pd.DataFrame({
        "year": [2025] * 3, "series": ["baseline"] * 3,
        "placement": ["foster", "other", "all"], "p10": [40.0, 3.2, 43.2],
        "p50": [50.0, 4.0, 54.0], "p90": [60.0, 5.4, 65.4]})
    shown = services._suppressed_counts(counts)
    assert shown.loc[1, "p50"] == SUPPRESSED
    assert shown.loc[2, "p50"] == SUPPRESSED or shown.loc[0, "p50"] == SUPPRESSED


def test_api_never_returns_a_count_from_1_to_5(clients: Clients,
                                               run_scenario: RunScenario) -> None:
    result = clients["analyst_a"].get(
        f"/api/scenarios/{run_scenario.scenario_id}/result").json()["result"]
    assert result["price_base_year"] == "2024-25"
    for row in result["counts"] + result["observed"]:
        for key in ("p10", "p50", "p90", "value"):
            value = row.get(key)
            assert not (isinstance(value, int | float) and 1 <= value < 6), row
    uploaded = clients["analyst_a"].post(
        f"/api/las/{LA_A}/actuals", headers=clients.headers("analyst_a"),
        files={"file": ("small.csv", b"period,measure,placement,count,spend_gbp\n"
                                     b"2023-24,cla,other,4,\n2023-24,cla,foster,700,\n",
                        "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    rows = clients["analyst_a"].get(f"/api/las/{LA_A}/tracking").json()["current_actuals"]
    small = [r for r in rows if r["period"] == "2023-24" and r["placement"] != "Foster care"]
    assert small and all(r["count"] == SUPPRESSED for r in small)


def test_a_bad_upload_lists_every_problem_and_changes_nothing(clients: Clients) -> None:
    before = _imports(clients)
    bad = (b"period,measure,placement,count,spend_gbp\n"
           b"2024-99,cla,all,10,\n2024-25,children,all,-3,\n")
    page = clients["analyst_a"].post(
        f"/la/{LA_A}/actuals", data={"csrf_token": clients.tokens["analyst_a"]},
        files={"file": ("bad.csv", bad, "text/csv")})
    assert page.status_code == 422
    assert "nothing has changed" in page.text and "row 2" in page.text and "row 3" in page.text
    api = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                    headers=clients.headers("analyst_a"),
                                    files={"file": ("bad.csv", bad, "text/csv")})
    assert api.status_code == 422
    assert {p["row"] for p in api.json()["detail"]} >= {2, 3}
    wrong_type = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                           headers=clients.headers("analyst_a"),
                                           files={"file": ("x.exe", b"MZ", "text/plain")})
    assert wrong_type.status_code == 422
    assert _imports(clients) == before


def test_oversized_uploads_are_refused(clients: Clients) -> None:
    big = b"period,measure,placement,count,spend_gbp\n" + b"2024-25,cla,all,1,\n" * 400_000
    response = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                         headers=clients.headers("analyst_a"),
                                         files={"file": ("big.csv", big, "text/csv")})
    assert response.status_code == 413


def test_every_write_is_in_the_audit_log(clients: Clients, web_store: Store) -> None:
    run = create_and_run(clients, "analyst_a", LA_A, "Audited scenario", n_draws=100)
    client, headers = clients["analyst_a"], clients.headers("analyst_a")
    assert client.patch(f"/api/scenarios/{run.scenario_id}", headers=headers,
                        json={"horizon_years": 4}).status_code == 200
    assert client.post(f"/api/scenarios/{run.scenario_id}/publish", headers=headers,
                       json={"published": True}).status_code == 200
    with web_store.engine.connect() as conn:
        actions = conn.execute(select(audit_event.c.action, audit_event.c.user_email).where(
            audit_event.c.target_id == str(run.scenario_id),
            audit_event.c.target_type == "scenario")).all()
        job_rows = conn.execute(select(audit_event.c.detail).where(
            audit_event.c.action == "job.start")).scalars().all()
    assert {a for a, _ in actions} == {"scenario.create", "scenario.update", "scenario.publish"}
    assert {e for _, e in actions} == {"analyst_a@example.gov.uk"}
    assert any(json.loads(d).get("scenario_id") == run.scenario_id for d in job_rows)
    audit = clients["admin"].get("/api/audit", params={"la_code": LA_A}).json()
    assert any(e["action"] == "actuals.import" for e in audit)


def test_scenario_form_saves_overrides_and_rejects_bad_numbers(clients: Clients,
                                                               run_scenario: RunScenario
                                                               ) -> None:
    client = clients["analyst_a"]
    scenario = client.get(f"/api/scenarios/{run_scenario.scenario_id}").json()
    form = {"csrf_token": clients.tokens["analyst_a"], "name": scenario["name"],
            "horizon_years": "5", "n_draws": str(scenario["n_draws"]), "seed": "7",
            **{f"ov__{k}": str(v) for k, v in scenario["overrides"].items()
               if not isinstance(v, dict)},
            "ov__discount_rate": "not a number"}
    bad = client.post(f"/scenarios/{run_scenario.scenario_id}", data=form)
    assert bad.status_code == 400 and "is not a number" in bad.text
    form["ov__discount_rate"] = "0.035"
    good = client.post(f"/scenarios/{run_scenario.scenario_id}", data=form,
                       follow_redirects=False)
    assert good.status_code == 303
    saved = client.get(f"/api/scenarios/{run_scenario.scenario_id}").json()["overrides"]
    assert saved["discount_rate"] == 0.035
    unknown = client.patch(f"/api/scenarios/{run_scenario.scenario_id}",
                           headers=clients.headers("analyst_a"),
                           json={"overrides": {"no_such_assumption": 1.0}})
    assert unknown.status_code == 422


def test_a_failed_run_reports_why(clients: Clients) -> None:
    created = clients["analyst_a"].post(
        f"/api/las/{LA_A}/scenarios", headers=clients.headers("analyst_a"),
        json={"name": "Missing assumptions", "model": MODEL, "n_draws": 100})
    scenario_id = created.json()["id"]
    missing = [a for a in services.assumption_rows(MODEL, {}) if a["missing"]]
    started = clients["analyst_a"].post(f"/api/scenarios/{scenario_id}/run",
                                        headers=clients.headers("analyst_a")).json()
    job = wait_for_job(clients["analyst_a"], started["id"])
    if missing:
        assert job["status"] == "failed" and missing[0]["id"] in job["error"]
        page = clients["analyst_a"].get(f"/scenarios/{scenario_id}").text
        assert "The last run failed" in page and "No sourced value" in page
    else:
        assert job["status"] == "succeeded"


def test_downloads_come_from_the_reports_engine(clients: Clients,
                                                run_scenario: RunScenario) -> None:
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF"), ("html", b"<!")):
        response = clients["viewer_a"].get(
            f"/scenarios/{run_scenario.scenario_id}/download/{fmt}")
        assert response.status_code == 200, (fmt, response.text[:300])
        assert response.content[:4].lstrip().upper().startswith(magic.upper()), fmt
        assert "attachment" in response.headers["content-disposition"]


def test_api_is_documented(app: Any, clients: Clients) -> None:
    spec = clients["viewer_a"].get("/api/openapi.json").json()
    assert "/api/las/{la_code}/benchmark" in spec["paths"]
    docs = clients["viewer_a"].get("/api/docs").text
    assert "POST /api/scenarios/{scenario_id}/run" in docs
    assert "cdn" not in docs.lower()


def test_pages_send_security_headers(clients: Clients) -> None:
    response = clients["viewer_a"].get(f"/la/{LA_A}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_backtest_runs_in_the_background_and_is_shown_with_its_table(
        clients: Clients, backtest_job: str) -> None:
    page = clients["viewer_a"].get(f"/la/{LA_A}/scenarios").text
    figure = re.search(r'<figure class="chart-figure" id="backtest-figure">.*?</figure>', page,
                       flags=re.S)
    assert figure is not None and "<table" in figure.group(0) and "MASE" in figure.group(0)
    assert "Run a backtest" not in page, "a viewer cannot start one"
    result = clients["programme"].get(f"/api/las/{LA_A}/backtest").json()
    assert result["best_method"] and result["summary"]
    scored = {row["method"] for row in result["summary"] if row["n_forecasts"]}
    assert DEFAULT_METHOD in scored, "the default learns from every LA, so it is scored too"
    assert method_words(DEFAULT_METHOD) in figure.group(0)
    assert clients["programme"].get(f"/api/jobs/{backtest_job}").status_code == 404


def test_the_demand_method_can_be_chosen_and_auto_uses_the_backtest(
        clients: Clients, backtest_job: str) -> None:
    client, headers = clients["analyst_a"], clients.headers("analyst_a")
    refused = client.post(f"/api/las/{LA_A}/scenarios", headers=headers,
                          json={"name": "Bad method", "model": MODEL, "method": "crystal_ball"})
    assert refused.status_code == 422
    created = client.post(f"/api/las/{LA_A}/scenarios", headers=headers, json={
        "name": "Auto method", "model": MODEL, "method": "auto", "n_draws": 100,
        "overrides": runnable_overrides(MODEL)})
    assert created.status_code == 201 and created.json()["method"] == "auto"
    scenario_id = created.json()["id"]
    job = wait_for_job(client, client.post(f"/api/scenarios/{scenario_id}/run",
                                           headers=headers).json()["id"], timeout=120)
    assert job["status"] == "succeeded", job
    result = client.get(f"/api/scenarios/{scenario_id}/result").json()["result"]
    ranked = client.get(f"/api/las/{LA_A}/backtest").json()
    assert result["method"] == ranked["best_method"], "auto picks what the backtest ranks first"


def test_reports_include_realised_benefit_once_the_la_has_gone_live(clients: Clients) -> None:
    client, headers = clients["analyst_b"], clients.headers("analyst_b")
    run = create_and_run(clients, "analyst_b", LA_B, "Wakefield business case", n_draws=100)
    before = client.get(f"/scenarios/{run.scenario_id}/download/xlsx")
    assert before.status_code == 200
    listed = client.get(f"/la/{LA_B}/downloads").text
    assert "Wakefield business case" in listed and "/download/pdf" in listed
    uploaded = client.post(f"/api/las/{LA_B}/actuals", headers=headers, files={"file": (
        "wakefield.csv", b"period,measure,placement,count,spend_gbp\n2025-26 Q1,cla,all,600,\n",
        "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    started = client.post(f"/api/las/{LA_B}/implementations", headers=headers,
                          json={"scenario_id": run.scenario_id, "go_live_date": "2025-04-01"})
    assert wait_for_job(client, started.json()["id"])["status"] == "succeeded"
    tracking = client.get(f"/api/las/{LA_B}/tracking").json()["implementations"]
    assert tracking and tracking[0]["periods"]
    after = client.get(f"/scenarios/{run.scenario_id}/download/xlsx")
    assert after.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(after.content), read_only=True)
    before_book = openpyxl.load_workbook(io.BytesIO(before.content), read_only=True)
    assert len(workbook.sheetnames) > len(before_book.sheetnames)


def test_download_cache_drops_the_least_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(downloads, "_cache", OrderedDict())
    files = {n: downloads.Download(b"%d" % n, f"{n}.pdf", "application/pdf")
             for n in range(downloads._CACHE_SIZE + 1)}
    for n in range(downloads._CACHE_SIZE):
        downloads._keep((str(n), "pdf", "v"), files[n])
    assert downloads._cached(("0", "pdf", "v")) is files[0]
    downloads._keep((str(downloads._CACHE_SIZE), "pdf", "v"), files[downloads._CACHE_SIZE])
    assert downloads._cached(("0", "pdf", "v")) is files[0]
    assert downloads._cached(("1", "pdf", "v")) is None
    assert len(downloads._cache) == downloads._CACHE_SIZE
