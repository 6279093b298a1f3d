"""A benchmark figure the DfE suppressed is "c" in every report format and marked on its charts;
a figure never published is "–"."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from matplotlib.figure import Figure
from pypdf import PdfReader

from sf_benefits.benchmark import BenchmarkResult
from sf_benefits.project.result import ProjectionResult
from sf_benefits.reports import ReportInput, build_document, build_report, pdf
from sf_benefits.reports.document import Chart, ReportDocument
from sf_benefits.reports.formatting import is_missing
from sf_benefits.reports.html import figure
from tests.reports.fixtures import make_benchmark

HIDDEN_NEIGHBOUR = "Neighbour 3"


def _suppressed_benchmark() -> BenchmarkResult:
    """The fixture benchmark with the headline LA value suppressed in its last year, one
    neighbour suppressed, and the region's figure not published."""
    result = make_benchmark()
    first, *others = result.indicators
    neighbours = tuple(replace(n, value=None, status="suppressed")
                       if n.la_name == HIDDEN_NEIGHBOUR else n for n in first.neighbour_rows)
    *earlier, last = first.trend_rows
    trend = (*earlier, replace(last, la=None, la_status="suppressed"))
    headline = replace(first, la_value=None, la_status="suppressed", region_value=None,
                       region_status="not available", neighbour_rows=neighbours, trend_rows=trend,
                       rank_among_neighbours=None, national_rank=None, quartile_band=None,
                       gap_to_neighbour_mean=None)
    return replace(result, indicators=[headline, *others])


@pytest.fixture(scope="module")
def document(projection: ProjectionResult) -> ReportDocument:
    return build_document(_report_input(projection))


def _report_input(projection: ProjectionResult) -> ReportInput:
    return ReportInput(_suppressed_benchmark(), projection, generated_on=date(2026, 11, 23))


def _chart(document: ReportDocument, key: str) -> Chart:
    found = next(b for b in document.section("benchmark").blocks if b.key == key)
    assert isinstance(found, Chart)
    return found


def test_document_tables_show_c_and_dash(document: ReportDocument) -> None:
    table = document.section("benchmark").blocks[0]
    row = table.frame.iloc[0]  # type: ignore[union-attr]
    assert row["la_value"] == "c" and row["gap"] == "c"
    assert is_missing(row["region_value"]), "not published is missing, shown as –"
    bars = _chart(document, "benchmark_headline").table.frame.set_index("area")["value"]
    assert bars["Testshire"] == "c" and bars[HIDDEN_NEIGHBOUR] == "c"
    assert _chart(document, "benchmark_trend").table.frame["la"].tolist()[-1] == "c"
    assert any("withheld" in caveat and "'–'" in caveat for caveat in document.caveats)
    assert any("withheld by the DfE" in words for words in document.summary)


def test_html_report_marks_each_suppressed_point(document: ReportDocument,
                                                 projection: ProjectionResult,
                                                 tmp_path: Path) -> None:
    bars = figure(_chart(document, "benchmark_headline")).to_dict()["data"]
    marks = [t for t in bars if t.get("mode") == "markers+text"]
    assert len(marks) == 1 and list(marks[0]["y"]) == ["Testshire", HIDDEN_NEIGHBOUR]
    assert list(marks[0]["x"]) == [0, 0] and list(marks[0]["text"]) == ["c", "c"]
    trend = figure(_chart(document, "benchmark_trend")).to_dict()["data"]
    marks = [t for t in trend if t.get("mode") == "markers+text"]
    assert len(marks) == 1 and list(marks[0]["x"]) == ["2024"]
    page = build_report(_report_input(projection), "html", tmp_path / "r.html").read_text()
    assert ">c</td>" in page and ">x</td>" not in page


def test_pdf_and_excel_show_c_and_mark_the_charts(projection: ProjectionResult,
                                                  document: ReportDocument, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Any] = []

    class Recorded(Figure):
        def savefig(self, *args: Any, **kwargs: Any) -> None:
            drawn.append(self)
            super().savefig(*args, **kwargs)

    monkeypatch.setattr(pdf, "Figure", Recorded)
    pdf.chart_png(_chart(document, "benchmark_headline"))
    pdf.chart_png(_chart(document, "benchmark_trend"))
    bar_marks, trend_marks = ([t.get_text() for t in f.axes[0].texts] for f in drawn)
    assert bar_marks == ["c", "c"] and trend_marks == ["c"]
    report = build_report(_report_input(projection), "pdf", tmp_path / "r.pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(report).pages).split())
    assert "rate per 10,000 children 2024 c 68.6" in text and "withheld by the DfE" in text
    book = openpyxl.load_workbook(build_report(_report_input(projection), "xlsx",
                                               tmp_path / "r.xlsx"))
    values = [c.value for row in book.worksheets[1].iter_rows() for c in row]
    assert "c" in values and "–" in values and "x" not in values
