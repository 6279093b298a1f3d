"""Tracking as the programme team reads it after an LA went live with a private scenario and
reported a small count: the suppressed count cannot be worked back out by subtraction from
anything the API, the pages or the reports publish, and the private scenario's name stays in
the LA."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.reports.content import _tracking_section, _tracking_summary
from sf_benefits.reports.document import Chart, Table
from sf_benefits.store import Store
from sf_benefits.track import list_implementations, realised_for
from sf_benefits.web import tracking_view
from tests.reports.test_pdf import check_pdf_pages
from tests.web.conftest import LA_B, Clients, runnable_overrides, wait_for_job

PRIVATE_NAME = "Wakefield private plan 7Q"
GONE_LIVE_MODEL = "no_wrong_door"
"""Not the model other web tests take live in LA B (an LA has one implementation per model)."""
SMALL = 4
ACTUALS = ("period,measure,placement,count,spend_gbp\n"
           "2023-24 Q1,cla,all,520,\n"
           f"2023-24 Q2,cla,all,{SMALL},\n"
           "2023-24 Q3,cla,all,505,\n"
           "2023-24 Q4,cla,all,498,\n")
FRACTION = {"quarter": 0.25, "month": 1 / 12, "year": 1.0}
PAIRS = (("baseline_cla_p50", "children_avoided"), ("baseline_cla_p10", "children_avoided_low"),
         ("baseline_cla_p90", "children_avoided_high"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def recovered_counts(rows: Sequence[Mapping[Any, Any]], unit_cost: float | None
                     ) -> list[float]:
    """Every value of a withheld actual a reader can work out from the published figures:
    baseline less children avoided, baseline less child-years over the year fraction, baseline
    less £ saving over unit cost, and the same from the step between two running totals."""
    found: list[float] = []
    for i, row in enumerate(rows):
        if row["actual_cla"] != SUPPRESSED:
            continue
        fraction = FRACTION.get(str(row.get("granularity", "quarter")), 0.25)
        base = _number(row["baseline_cla_p50"])
        for baseline, avoided in PAIRS:
            b, d = _number(row.get(baseline)), _number(row.get(avoided))
            if b is not None and d is not None:
                found.append(b - d)
        years = _number(row.get("child_years_avoided"))
        if base is not None and years is not None:
            found.append(base - years / fraction)
        savings = [_number(row.get("saving_gbp"))]
        now = _number(row.get("cumulative_saving_gbp"))
        before = _number(rows[i - 1].get("cumulative_saving_gbp")) if i > 0 else 0.0
        if now is not None and before is not None:
            savings.append(now - before)
        for saving in savings:
            if base is not None and saving is not None and unit_cost:
                found.append(base - saving / (unit_cost * fraction))
    return found


@pytest.fixture(scope="module")
def gone_live(clients: Clients, web_store: Store) -> str:
    """LA B went live with a private scenario and reported a quarter with 4 children; returns
    the implementation id."""
    created = clients["analyst_b"].post(
        f"/api/las/{LA_B}/scenarios", headers=clients.headers("analyst_b"),
        json={"name": PRIVATE_NAME, "model": GONE_LIVE_MODEL, "n_draws": 100, "seed": 7,
              "overrides": runnable_overrides(GONE_LIVE_MODEL)})
    assert created.status_code == 201, created.text
    scenario_id = run_scenario_of(clients, "analyst_b", created.json()["id"])
    started = clients["analyst_b"].post(
        f"/api/las/{LA_B}/implementations", headers=clients.headers("analyst_b"),
        json={"scenario_id": scenario_id, "go_live_date": "2023-04-01"})
    assert started.status_code == 202, started.text
    assert wait_for_job(clients["analyst_b"], started.json()["id"], 120)["status"] == "succeeded"
    uploaded = clients["analyst_b"].post(
        f"/api/las/{LA_B}/actuals", headers=clients.headers("analyst_b"),
        files={"file": ("wakefield.csv", ACTUALS.encode(), "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    return next(i.implementation_id for i in list_implementations(web_store)
                if i.la_code == LA_B and i.model == GONE_LIVE_MODEL)


def test_a_suppressed_actual_cannot_be_recovered_from_the_api(clients: Clients, gone_live: str,
                                                             web_store: Store) -> None:
    unit_cost = float(realised_for(web_store, gone_live).periods[
        "blended_annual_unit_cost_gbp"].iloc[0])
    for role in ("programme", "analyst_b"):
        body = clients[role].get(f"/api/las/{LA_B}/tracking").json()
        implementation = next(i for i in body["implementations"]
                              if i["model"] == GONE_LIVE_MODEL)
        rows = implementation["periods"]
        assert [r["actual_cla"] for r in rows if r["period"].startswith("2023-24")] == [
            520, SUPPRESSED, 505, 498]
        assert recovered_counts(rows, unit_cost) == []
        assert implementation["summary"]["cumulative_saving_gbp"] == SUPPRESSED
    unprotected = realised_for(web_store, gone_live).periods.to_dict("records")[:4]
    unprotected[1]["actual_cla"] = SUPPRESSED
    attack = recovered_counts(unprotected, unit_cost)
    assert attack and all(round(value) == SMALL for value in attack), attack


def test_programme_view_and_pages_withhold_the_saving(clients: Clients, gone_live: str) -> None:
    tracking_view._programme_cache.clear()  # built by earlier tests, before this go-live
    programme = clients["programme"].get("/api/programme").json()
    row = next(r for r in programme["programme"]
               if r["la_code"] == LA_B and r["model"] == GONE_LIVE_MODEL)
    assert row["cumulative_saving_gbp"] == SUPPRESSED and row["saving_suppressed"]
    page = clients["programme"].get(f"/la/{LA_B}/tracking").text
    assert re.search(r"Realised saving to [^<]*</dt>\s*<dd>c</dd>", page), page[-3000:]


def test_reports_withhold_what_would_reveal_the_count(web_store: Store, gone_live: str) -> None:
    realised = realised_for(web_store, gone_live)
    unit_cost = float(realised.periods["blended_annual_unit_cost_gbp"].iloc[0])
    section = _tracking_section(realised, None)
    table = next(b for b in section.blocks if b.key == "tracking_realised")
    chart = next(b for b in section.blocks if b.key == "tracking_chart")
    assert isinstance(table, Table) and isinstance(chart, Chart)
    rows = table.frame.to_dict("records")
    assert recovered_counts(rows, unit_cost) == []
    assert set(list(chart.table.frame["cumulative_saving_gbp"])[1:]) == {SUPPRESSED}
    assert "withheld" in _tracking_summary(realised)[0]


def test_private_scenario_names_stay_in_the_la(clients: Clients, gone_live: str) -> None:
    for role, sees in (("programme", False), ("admin", True), ("analyst_b", True),
                       ("viewer_b", True)):
        body = clients[role].get(f"/api/las/{LA_B}/tracking").json()
        names = {i["scenario_name"] for i in body["implementations"]}
        assert (PRIVATE_NAME in names) is sees, role
        assert (PRIVATE_NAME in clients[role].get(f"/la/{LA_B}/tracking").text) is sees, role
    programme = clients["programme"].get("/api/programme").text
    assert PRIVATE_NAME not in programme
    assert PRIVATE_NAME not in clients["programme"].get("/programme").text


def test_tracking_charts_mark_suppressed_points_and_draw_single_periods(
        clients: Clients, gone_live: str) -> None:
    page = clients["analyst_b"].get(f"/la/{LA_B}/tracking").text
    charts = {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        rf'id="(imp-{gone_live[:8]}-(?:cla|saving))-data">(.*?)</script>', page, flags=re.S)}
    assert len(charts) == 2
    for figure in charts.values():
        marks = [t for t in figure["data"] if t.get("text") and set(t["text"]) == {SUPPRESSED}]
        assert marks and marks[0]["x"][0] == "2023-24 Q2"
        drawn = [t for t in figure["data"] if t.get("showlegend") is not False
                 and "fill" not in t and t not in marks]
        assert all("markers" in t["mode"] for t in drawn), "a single period must still show"


def test_the_pdf_with_tracking_names_the_scenario_and_shows_no_ids(
        clients: Clients, gone_live: str, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed")
    scenario_id = gone_live_scenario(clients)
    pdf = clients["analyst_b"].get(f"/scenarios/{scenario_id}/download/pdf")
    assert pdf.status_code == 200
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    assert check_pdf_pages(path, tmp_path) == []
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert f"Scenario: {PRIVATE_NAME}" in " ".join(text.split())
    assert "Tracking" in text and gone_live not in text


def gone_live_scenario(clients: Clients) -> int:
    """LA B's scenario that went live."""
    scenarios = clients["analyst_b"].get(f"/api/las/{LA_B}/scenarios").json()
    return int(next(s["id"] for s in scenarios if s["name"] == PRIVATE_NAME))


def run_scenario_of(clients: Clients, role: str, scenario_id: int) -> int:
    """Run a saved scenario, wait for its result, and return its id."""
    started = clients[role].post(f"/api/scenarios/{scenario_id}/run",
                                 headers=clients.headers(role))
    assert started.status_code == 202, started.text
    job = wait_for_job(clients[role], started.json()["id"], 120)
    assert job["status"] == "succeeded", job
    return scenario_id
