"""A benchmark figure the DfE suppressed (Halton's 2024 CLA figures, published as "c") is "c" on
every page, download and API answer, with its meaning, and marked on every chart."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import openpyxl
import pandas as pd

from tests.web.conftest import Clients

HALTON, WARRINGTON = "E06000006", "E06000007"
LEGEND = "c = withheld by the DfE to protect confidentiality"


def _figure(page: str, chart_id: str) -> dict[str, Any]:
    data = re.search(rf'id="{chart_id}-data">(.*?)</script>', page, flags=re.S)
    assert data is not None, chart_id
    return dict(json.loads(data.group(1)))


def _row(page: str, label: str) -> list[str]:
    """The text of each cell in the table row headed `label`."""
    row = re.search(rf"<tr>\s*<th scope=\"row\">(?:<a [^>]*>)?{re.escape(label)}.*?</tr>", page,
                    flags=re.S)
    assert row is not None, label
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), flags=re.S)]


def test_overview_and_indicator_page_show_c_with_its_meaning(clients: Clients) -> None:
    overview = clients["programme"].get(f"/la/{HALTON}").text
    cells = _row(overview, "Children looked after at 31 March, rate per 10,000 children")
    assert cells[:2] == ["2024", "c"], cells
    assert cells[5:7] == ["–", "–"], "no rank or band from a suppressed figure"
    assert LEGEND in overview
    detail = clients["programme"].get(f"/la/{HALTON}/indicators/cla_rate_per_10k").text
    assert re.search(r"<dt>Halton, 2024</dt><dd>c</dd>", detail)
    assert LEGEND in detail
    trend = _figure(detail, "tr-cla_rate_per_10k")
    marks = [t for t in trend["data"] if t.get("text") == ["c"]]
    assert len(marks) == 1 and marks[0]["x"] == [2024] and marks[0]["y"] == [0]
    la_line = next(t for t in trend["data"] if t.get("name") == "Halton")
    assert la_line["y"][-1] is None, "a suppressed point is a gap in the line, not a zero"
    assert _row(detail, "2024")[0] == "c"


def test_neighbour_chart_marks_the_suppressed_neighbour(clients: Clients) -> None:
    detail = clients["programme"].get(f"/la/{WARRINGTON}/indicators/cla_rate_per_10k").text
    figure = _figure(detail, "nb-cla_rate_per_10k")
    bars = figure["data"][0]
    halton = bars["y"].index("Halton")
    assert bars["x"][halton] is None
    marks = [t for t in figure["data"] if t.get("text") == ["c"]]
    assert len(marks) == 1 and marks[0]["y"] == ["Halton"] and marks[0]["x"] == [0]
    assert _row(detail, "Halton") == ["c"]


def test_downloads_and_api_show_c(clients: Clients) -> None:
    csv = clients["programme"].get(f"/la/{HALTON}/benchmark.csv")
    summary = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig").set_index(
        "indicator_id")
    assert summary.loc["cla_rate_per_10k", "la_value"] == "c"
    assert float(summary.loc["cin_rate_per_10k", "la_value"]) > 0
    book = openpyxl.load_workbook(io.BytesIO(
        clients["programme"].get(f"/la/{HALTON}/benchmark.xlsx").content))
    sheet = book["Summary"]
    header = [c.value for c in sheet[4]]
    rows = {r[0].value: dict(zip(header, (c.value for c in r), strict=True))
            for r in sheet.iter_rows(min_row=5)}
    assert rows["Children looked after at 31 March, rate per 10,000 children"]["This LA"] == "c"
    assert "c: withheld by the DfE" in sheet["A2"].value
    api = clients["programme"].get(f"/api/las/{HALTON}/benchmark").json()
    by_id = {r["indicator_id"]: r for r in api["summary"]}
    assert by_id["cla_rate_per_10k"]["la_value"] == "c"
    assert by_id["cla_rate_per_10k"]["national_rank"] is None
