"""The Excel workbook: values equal the engines', text is never a formula, charts are native."""

from __future__ import annotations

import math
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.project.result import ProjectionResult
from sf_benefits.reports import ReportInput, build_document, build_report
from sf_benefits.reports.excel import excel_table_name, safe_text
from tests.reports.fixtures import EVIL_TEXT, make_benchmark, make_projection

SHEETS = ["summary", "benchmark", "projections", "money", "uncertainty", "sensitivity",
          "assumptions"]


def read_table(path: Path, key: str) -> pd.DataFrame:
    """One Excel table (ListObject) of the workbook, by the report table's key."""
    book = openpyxl.load_workbook(path)
    name = excel_table_name(key)
    for sheet in book.worksheets:
        if name in sheet.tables:
            rows = list(sheet[sheet.tables[name].ref])
            header = [c.value for c in rows[0]]
            return pd.DataFrame([[c.value for c in row] for row in rows[1:]], columns=header)
    raise AssertionError(f"no Excel table {name}")


@pytest.fixture(scope="module")
def workbook(report_input: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(report_input, "xlsx", tmp_path_factory.mktemp("xlsx") / "report.xlsx")


def test_sheets_follow_the_issue(workbook: Path) -> None:
    book = openpyxl.load_workbook(workbook)
    assert [s for s in book.sheetnames if s != "chart_data"] == SHEETS
    assert book["chart_data"].sheet_state == "hidden"


def test_money_values_equal_the_engine(workbook: Path, projection: ProjectionResult) -> None:
    table = read_table(workbook, "money_by_year")
    engine = projection.money
    assert len(table) == len(engine)
    assert table["Financial year"].tolist() == engine["financial_year"].tolist()
    for label, column in (("P10", "p10"), ("P50", "p50"), ("P90", "p90"), ("Mean", "mean")):
        assert table[label].tolist() == pytest.approx(engine[column].tolist(), rel=1e-12)

    appraisal = read_table(workbook, "money_appraisal").set_index("Measure")["Value"]
    assert appraisal["Net present value (NPV), P50"] == pytest.approx(
        projection.net_present_value.p50, rel=1e-12)
    assert appraisal["Return on investment (ROI), P50"] == pytest.approx(
        projection.return_on_investment.p50, rel=1e-12)
    assert appraisal["Price base"] == projection.price_base_year == "2024-25"
    assert appraisal["Payback year (central case)"] == (
        projection.payback_year or "not within the horizon")

    book = openpyxl.load_workbook(workbook)
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Net present value (NPV), P50"] == pytest.approx(
        projection.net_present_value.p50, rel=1e-12)
    assert summary["Price base"] == "£ 2024-25 prices"
    money_cell = next(c for row in book["summary"].iter_rows() for c in row
                      if c.value == summary["Net present value (NPV), P50"])
    assert "£" in money_cell.number_format and "#,##0" in money_cell.number_format


def test_projection_counts_equal_the_engine_after_suppression(
        workbook: Path, projection: ProjectionResult) -> None:
    table = read_table(workbook, "projection_by_placement")
    engine = projection.counts[projection.counts["series"].isin(["baseline", "scenario"])]
    assert len(table) == len(engine) // 2
    shown_small = 0
    for _, row in engine.iterrows():
        label = "All placements" if row["placement"] == ALL_PLACEMENTS else None
        match = table[table["Year (31 March)"] == row["year"]]
        match = match[match["Placement"] == label] if label else match
        for stat in ("p10", "p50", "p90"):
            heading = f"{row['series'].capitalize()} {stat.upper()}"
            whole = math.floor(row[stat] + 0.5)
            cells = match[heading].tolist()
            assert whole in cells or SUPPRESSED in cells
            if 1 <= whole <= 5:
                shown_small += 1
    assert shown_small > 0, "the fixture should hold small counts so suppression is exercised"
    for column in table.columns[2:]:
        for value in table[column]:
            assert value == SUPPRESSED or (isinstance(value, int | float) and not 1 <= value <= 5)
    assert (table.iloc[:, 2:] == SUPPRESSED).to_numpy().sum() > 0


def test_assumptions_and_benchmark_equal_the_engine(workbook: Path, projection: ProjectionResult,
                                                    report_input: ReportInput) -> None:
    table = read_table(workbook, "assumptions")
    engine = projection.assumptions
    assert table["Parameter"].tolist() == engine["id"].tolist()
    assert table["Value"].tolist() == pytest.approx(engine["value"].tolist(), rel=1e-12)
    assert table["Confidence grade"].tolist() == engine["confidence"].tolist()
    assert table["Unit"].tolist() == engine["unit"].tolist()
    assert table["Source"].tolist() == [safe_text(s) for s in engine["source"]]

    bench = read_table(workbook, "benchmark_indicators")
    indicators = report_input.benchmark.indicators
    assert bench["Testshire"].tolist() == pytest.approx([i.la_value for i in indicators])
    assert bench["England"].tolist() == pytest.approx([i.england_value for i in indicators])


def test_native_charts_are_in_the_workbook(workbook: Path, report_input: ReportInput) -> None:
    charts = sum(1 for s in build_document(report_input).sections for b in s.blocks
                 if type(b).__name__ == "Chart")
    with zipfile.ZipFile(workbook) as archive:
        names = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
    assert len(names) == charts >= 4


def test_text_from_users_and_files_is_stored_as_text(tmp_path: Path) -> None:
    benchmark = make_benchmark(la_name=EVIL_TEXT[0], neighbour_names=EVIL_TEXT[1:])
    projection = make_projection(overrides_by=EVIL_TEXT[1])
    path = build_report(ReportInput(benchmark, projection, generated_on=date(2026, 11, 23)),
                        "xlsx", tmp_path / "evil.xlsx")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in archive.read(name).decode("utf-8"), name
            if name.startswith("xl/charts/"):
                series_names = re.findall(r"<c:tx><c:v>([^<]*)</c:v>",
                                          archive.read(name).decode("utf-8"))
                assert not any(n.startswith(("=", "+", "-", "@")) for n in series_names), name
    book = openpyxl.load_workbook(path)
    texts: list[str] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), (
                        sheet.title, cell.coordinate, cell.value)
    for evil in EVIL_TEXT:
        assert any(t.startswith("'" + evil) for t in texts), evil
    assert "'" + EVIL_TEXT[0] in read_table(path, "benchmark_headline_data")["Area"].tolist()
