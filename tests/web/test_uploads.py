"""Bad uploads of actuals and assumption values: every one is refused in plain words with a 4xx
(422 naming the problem, 413 when too large), none reaches a 5xx, and nothing is stored."""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
import pytest

from tests.web.conftest import LA_A, Clients, RunScenario

HEADER = "period,measure,placement,count,spend_gbp\n"
GOOD_ROWS = "2019-20,spend,all,,£1234567\n"
TECHNICAL = ("Error", "Traceback", "codec", "zipfile", "BadZip", "0x", "utf-8", "YAML")


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["2019-20", "spend", "all", None, 1000])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fuzz_cases() -> list[tuple[str, str, bytes]]:
    generator = random.Random(13)
    xlsx = _xlsx()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return [
        ("not a zip", "actuals.xlsx", b"period,measure\nthis is text, not a workbook\n"),
        ("truncated xlsx", "actuals.xlsx", xlsx[: len(xlsx) // 2]),
        ("zip without a workbook", "actuals.xlsx", zipped.getvalue()),
        ("empty xlsx", "actuals.xlsx", b""),
        ("empty csv", "actuals.csv", b""),
        ("binary csv", "actuals.csv", bytes(generator.randrange(256) for _ in range(4096))),
        ("truncated csv", "actuals.csv", (HEADER + '2019-20,cla,"all').encode()),
        ("ragged csv", "actuals.csv", (HEADER + "2019-20,cla,all,5,,,,,\n").encode()),
        ("wrong type", "actuals.pdf", b"%PDF-1.4 not actuals"),
        ("no extension", "actuals", HEADER.encode()),
        ("odd name", "../../\x00evil|name.csv", (HEADER + "2019-20,cla,all,x,\n").encode()),
        ("bad utf-16", "actuals.csv", b"\xff\xfe" + b"\x00\xd8" * 3),
        ("only a header", "actuals.csv", HEADER.encode()),
        ("absurd counts", "actuals.csv",
         (HEADER + "2019-20,cla,all,inf,\n2020-21,cla,all,+5,\n2021-22,cla,all,1e3,\n"
                   "2022-23,cla,all,99999999999,\n").encode()),
        ("absurd spend", "actuals.csv",
         (HEADER + "2019-20,spend,all,,inf\n2020-21,spend,all,,1e308\n"
                   "2021-22,spend,all,,NaN\n2022-23,spend,all,,-0\n").encode()),
    ]


@pytest.mark.parametrize(("case", "filename", "content"), _fuzz_cases(),
                         ids=[c[0] for c in _fuzz_cases()])
def test_a_bad_actuals_upload_is_a_422_in_plain_words(clients: Clients, case: str,
                                                      filename: str, content: bytes) -> None:
    client = clients["analyst_a"]
    before = client.get(f"/api/las/{LA_A}/tracking").json()["imports"]
    api = client.post(f"/api/las/{LA_A}/actuals", headers=clients.headers("analyst_a"),
                      files={"file": (filename, content, "application/octet-stream")})
    assert api.status_code == 422, (case, api.status_code, api.text[:300])
    messages = " ".join(p["message"] for p in api.json()["detail"])
    assert messages and not any(word in messages for word in TECHNICAL), messages
    page = client.post(f"/la/{LA_A}/actuals", data={"csrf_token": clients.tokens["analyst_a"]},
                       files={"file": (filename, content, "application/octet-stream")})
    assert page.status_code == 422, (case, page.status_code)
    assert "nothing has changed" in page.text
    assert client.get(f"/api/las/{LA_A}/tracking").json()["imports"] == before


def test_absurd_numbers_are_refused_cell_by_cell(clients: Clients) -> None:
    rows = {2: "inf", 3: "+5", 4: "1e3", 5: "5.5", 6: " 7e0"}
    body = HEADER + "".join(f"20{10 + r}-{11 + r},cla,all,{v},\n" for r, v in rows.items())
    api = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                    headers=clients.headers("analyst_a"),
                                    files={"file": ("absurd.csv", body.encode(), "text/csv")})
    assert api.status_code == 422
    refused = {(p["row"], p["column"]) for p in api.json()["detail"]}
    assert refused == {(r, "count") for r in rows}
    spend = HEADER + "2019-20,spend,all,,inf\n2020-21,spend,all,,1e308\n2021-22,spend,all,,1e12\n"
    api = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                    headers=clients.headers("analyst_a"),
                                    files={"file": ("spend.csv", spend.encode(), "text/csv")})
    assert api.status_code == 422
    assert {(p["row"], p["column"]) for p in api.json()["detail"]} == {
        (2, "spend_gbp"), (3, "spend_gbp"), (4, "spend_gbp")}


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "latin-1", "utf-8-sig"])
def test_a_file_with_pounds_is_read_in_any_excel_encoding(clients: Clients,
                                                          encoding: str) -> None:
    period = {"utf-16": "2015-16", "cp1252": "2016-17", "latin-1": "2017-18",
              "utf-8-sig": "2018-19"}[encoding]
    body = f"{HEADER}{period},spend,all,,\"£2,500,000\"\n".encode(encoding)
    api = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                    headers=clients.headers("analyst_a"),
                                    files={"file": (f"{encoding}.csv", body, "text/csv")})
    assert api.status_code == 201, api.text
    rows = clients["analyst_a"].get(f"/api/las/{LA_A}/tracking").json()["current_actuals"]
    assert any(r["period"] == period and r["spend_gbp"] == 2_500_000 for r in rows)


def test_a_huge_upload_is_refused_before_it_is_read(clients: Clients) -> None:
    huge = b"\x00" * 12_000_000
    api = clients["analyst_a"].post(f"/api/las/{LA_A}/actuals",
                                    headers=clients.headers("analyst_a"),
                                    files={"file": ("huge.xlsx", huge, "application/zip")})
    assert api.status_code == 413


@pytest.mark.parametrize(("content", "words"), [
    (b"id,value\nno_such_assumption,1\n", "no_such_assumption"),
    (b"id,value\ndiscount_rate,lots\n", "not a number"),
    (b"id,value\ndiscount_rate,inf\n", "not a usable number"),
    (b"\x00\x01\x02binary", "not a text (CSV) file"),
    (b"", "CSV override needs columns"),
])
def test_a_bad_assumptions_upload_is_a_422(clients: Clients, run_scenario: RunScenario,
                                           content: bytes, words: str) -> None:
    client = clients["analyst_a"]
    before = client.get(f"/api/scenarios/{run_scenario.scenario_id}").json()["overrides"]
    page = client.post(f"/scenarios/{run_scenario.scenario_id}/assumptions-file",
                       data={"csrf_token": clients.tokens["analyst_a"]},
                       files={"file": ("values.csv", content, "text/csv")})
    assert page.status_code == 422 and words in page.text, page.text[-2000:]
    assert client.get(f"/api/scenarios/{run_scenario.scenario_id}").json()["overrides"] == before
