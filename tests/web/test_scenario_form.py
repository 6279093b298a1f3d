"""The scenario builder as a web-only user meets it: every kind of assumption (one number, or a
series by year) can be entered, uploaded and saved again whichever way it was first saved, a
projection can be finished without the API, and no failure shows an exception class name or the
command-line tool's wording."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from typing import Any

from sf_benefits.assumptions import MissingAssumptionError, assumptions_for
from sf_benefits.store import Store
from sf_benefits.web.audit import Actor
from sf_benefits.web.jobs import JobRunner, job_row
from sf_benefits.web.messages import UNEXPECTED, user_message
from sf_benefits.web.overrides import series_from_text
from tests.web.conftest import LA_A, MODEL, Clients, runnable_overrides

TECHNICAL = ("Error", "Traceback", "YAML", "{'", "override (", "PATCH /api", "--")


class FormFields(HTMLParser):
    """The fields of one form on a page, as a browser would submit them unchanged."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside = action, False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif self.inside and tag == "input" and "name" in a and a.get("type") != "file":
            self.fields[a["name"]] = a.get("value", "")
        elif self.inside and tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif self.inside and tag == "select":
            self._select = a["name"]
        elif self._select and tag == "option" and "selected" in a:
            self.fields[self._select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def form_on(page: str, action: str) -> dict[str, str]:
    parser = FormFields(action)
    parser.feed(page)
    return dict(parser.fields)


def _series_text(values: dict[str, float]) -> str:
    return "\n".join(f"{day[:4]}-{int(day[2:4]) + 1:02d}\t{value:g}"
                     for day, value in values.items())


def test_a_scenario_saved_through_the_api_is_edited_and_saved_in_the_form(
        clients: Clients) -> None:
    client, headers = clients["analyst_a"], clients.headers("analyst_a")
    overrides = {**runnable_overrides(MODEL),
                 "deadweight": {"source": "Trial value", "value": 0.1}}
    created = client.post(f"/api/las/{LA_A}/scenarios", headers=headers, json={
        "name": "Made through the API", "model": MODEL, "n_draws": 100, "overrides": overrides})
    assert created.status_code == 201, created.text
    scenario_id = created.json()["id"]
    page = client.get(f"/scenarios/{scenario_id}").text
    assert "{'source'" not in page and "{&#39;source" not in page
    fields = form_on(page, f"/scenarios/{scenario_id}")
    assert fields["ov__deadweight"] == "0.1"
    saved = client.post(f"/scenarios/{scenario_id}", data=fields, follow_redirects=False)
    assert saved.status_code == 303, saved.text[-1500:]
    after = client.get(f"/api/scenarios/{scenario_id}").json()["overrides"]
    assert after == overrides
    fields["ov__deadweight"] = "0.25"
    assert client.post(f"/scenarios/{scenario_id}", data=fields,
                       follow_redirects=False).status_code == 303
    changed = client.get(f"/api/scenarios/{scenario_id}").json()["overrides"]["deadweight"]
    assert changed == {"source": "Trial value", "value": 0.25}


def test_a_web_only_user_enters_every_kind_of_assumption_and_finishes_a_projection(
        clients: Clients) -> None:
    client, token = clients["analyst_a"], clients.tokens["analyst_a"]
    created = client.post(f"/la/{LA_A}/scenarios", data={
        "csrf_token": token, "name": "Web only", "model": MODEL, "horizon_years": "3",
        "n_draws": "100", "seed": "11"}, follow_redirects=False)
    assert created.status_code == 303, created.text[-1500:]
    path = created.headers["location"].split("?")[0]
    fields = form_on(client.get(path).text, path)
    deflator = {"values": {f"{year}-04-01": 100.0 for year in range(2000, 2041)}}
    for pid, value in {**runnable_overrides(MODEL), "gdp_deflator_index": deflator}.items():
        if isinstance(value, dict):
            assert f"ovs__{pid}" in fields, pid
            fields[f"ovs__{pid}"] = _series_text(value["values"])
        else:
            assert f"ov__{pid}" in fields, pid
            fields[f"ov__{pid}"] = f"{value:,g}"
    assert client.post(path, data=fields, follow_redirects=False).status_code == 303
    page = client.get(path).text
    assert "2024-04-01, 100" in form_on(page, path)["ovs__gdp_deflator_index"]
    assert client.post(f"{path}/run", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    scenario_id = path.rsplit("/", 1)[1]
    deadline = time.monotonic() + 120
    result = client.get(f"/api/scenarios/{scenario_id}/result")
    while result.status_code == 404:
        page = client.get(path).text
        assert "The last run failed" not in page, page[page.find("The last run failed"):][:800]
        assert time.monotonic() < deadline
        time.sleep(0.2)
        result = client.get(f"/api/scenarios/{scenario_id}/result")
    assert result.status_code == 200 and result.json()["result"]["headline"]


def test_series_and_assumptions_upload_in_the_form(clients: Clients) -> None:
    assert series_from_text("2024-25, 102.4\n2025\t£1,050\n2026-04-01 ; 99", "x") == {
        "2024-04-01": 102.4, "2025-04-01": 1050.0, "2026-04-01": 99.0}
    client, token = clients["analyst_a"], clients.tokens["analyst_a"]
    created = client.post(f"/api/las/{LA_A}/scenarios", headers=clients.headers("analyst_a"),
                          json={"name": "Uploaded values", "model": MODEL, "n_draws": 100})
    scenario_id = created.json()["id"]
    upload = ("id,value,effective_from,source\n"
              "deadweight,0.2,,Our evaluation\n"
              "gdp_deflator_index,95.5,2022-04-01,ONS\n"
              "gdp_deflator_index,100,2023-04-01,ONS\n")
    done = client.post(f"/scenarios/{scenario_id}/assumptions-file", data={"csrf_token": token},
                       files={"file": ("values.csv", upload.encode("cp1252"), "text/csv")},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[-1500:]
    saved = client.get(f"/api/scenarios/{scenario_id}").json()["overrides"]
    assert saved["deadweight"] == {"value": 0.2, "source": "Our evaluation"}
    assert saved["gdp_deflator_index"]["values"] == {"2022-04-01": 95.5, "2023-04-01": 100.0}
    fields = form_on(client.get(f"/scenarios/{scenario_id}").text, f"/scenarios/{scenario_id}")
    assert fields["ovs__gdp_deflator_index"] == "2022-04-01, 95.5\n2023-04-01, 100"
    fields["ovs__gdp_deflator_index"] = "2022-23 95.5\nnot a line"
    bad = client.post(f"/scenarios/{scenario_id}", data=fields)
    assert bad.status_code == 400 and "line 2" in bad.text


def test_failures_are_told_in_plain_words(web_store: Store) -> None:
    params = assumptions_for(MODEL)
    missing = [params["gdp_deflator_index"], params["deadweight"]]
    text = user_message(MissingAssumptionError(missing))
    assert "gdp_deflator_index" in text and not any(w in text for w in TECHNICAL), text

    def broken(_store: Store, _params: dict[str, Any], _progress: Any) -> dict[str, Any]:
        raise KeyError("internal detail")

    runner = JobRunner(web_store, {"broken": broken}, mode="thread", workers=1)
    try:
        job_id = runner.submit(web_store, "broken", LA_A, {}, Actor(None, "test", None))
    finally:
        runner.shutdown()
    job = job_row(web_store, job_id)
    assert job is not None and job["status"] == "failed" and job["error"] == UNEXPECTED
