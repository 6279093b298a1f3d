"""The report document and `build_report`: suppression everywhere, the price base next to every
£, tracking when given, and `sf-benefits report` end to end on a synthetic store."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from pypdf import PdfReader
from typer.testing import CliRunner

from sf_benefits.benchmark import resolve_la
from sf_benefits.cli.main import app
from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.reports import ReportInput, build_document, build_report
from sf_benefits.reports.document import Chart, ReportDocument, Table
from sf_benefits.reports.formatting import format_value
from sf_benefits.store import Store
from sf_benefits.track import record_implementation
from sf_benefits.track.realised import RealisedBenefit, StatusThresholds
from tests.reports.fixtures import fixture_overrides

runner = CliRunner()


def _tables(document: ReportDocument) -> list[Table]:
    return list(document.tables())


def _realised() -> RealisedBenefit:
    periods = pd.DataFrame({
        "period": ["2025-26", "2026-27"], "actual_cla": [470.0, 3.0],
        "baseline_cla_p10": [460.0, 470.0], "baseline_cla_p50": [480.0, 490.0],
        "baseline_cla_p90": [500.0, 510.0], "business_case_cla_p50": [472.0, 470.0],
        "children_avoided": [10.0, 487.0], "saving_gbp": [600_000.0, 700_000.0],
        "saving_gbp_low": [100_000.0, 150_000.0], "saving_gbp_high": [900_000.0, 1_100_000.0],
        "cumulative_saving_gbp": [600_000.0, 1_300_000.0],
        "cumulative_saving_gbp_low": [100_000.0, 250_000.0],
        "cumulative_saving_gbp_high": [900_000.0, 2_000_000.0],
        "cumulative_expected_saving_gbp": [500_000.0, 1_400_000.0],
        "status": ["ahead", "on track"],
    })
    return RealisedBenefit("impl-1", date(2025, 4, 1), "2024-25", "2024 release",
                           StatusThresholds(), periods)


def test_no_count_of_one_to_five_in_any_table(report_input: ReportInput) -> None:
    document = build_document(ReportInput(report_input.benchmark, report_input.projection,
                                          tracking=_realised()))
    suppressed = 0
    for table in _tables(document):
        for column in table.columns:
            if column.kind != "count":
                continue
            for value in table.frame[column.key]:
                if value == SUPPRESSED:
                    suppressed += 1
                    continue
                assert value is None or not 1 <= value <= 5, (table.key, column.key, value)
    assert suppressed > 0
    tracking = document.section("tracking").blocks
    realised = next(b for b in tracking if isinstance(b, Table) and b.key == "tracking_realised")
    assert realised.frame["actual_cla"].tolist() == [470, SUPPRESSED]
    assert realised.frame["children_avoided"].tolist()[1] == SUPPRESSED, (
        "baseline P50 less children avoided would reveal the suppressed actual")


def test_a_suppressed_benchmark_count_cannot_be_backed_out_of_its_gap(
        report_input: ReportInput) -> None:
    bench = report_input.benchmark
    item = bench.indicators[0]
    as_count = dataclasses.replace(
        item, indicator=item.indicator.model_copy(update={"unit": "children"}), la_value=3.0,
        neighbour_mean=4.0, england_value=2.0, gap_to_neighbour_mean=-1.0)
    document = build_document(ReportInput(
        dataclasses.replace(bench, indicators=[as_count]), report_input.projection))
    table = next(t for t in _tables(document) if t.key == "benchmark_indicators")
    row = table.frame.iloc[0]
    assert [row["la_value"], row["neighbour_mean"], row["england_value"], row["gap"]] == [
        SUPPRESSED] * 4
    words = " ".join(document.summary) + " ".join(f.explanation for f in document.key_figures)
    assert "mean of c" in words and "England c" in words


def test_every_money_table_states_its_price_base(report_input: ReportInput) -> None:
    document = build_document(report_input)
    for table in _tables(document):
        if table.key.startswith("benchmark_"):
            if any(table.kind(c, i) == "money" for c in table.columns
                   for i in range(len(table.frame))):
                assert "cash (outturn) prices" in table.note, table.key
        elif any(c.kind == "money" for c in table.columns):
            assert "£ 2024-25 prices" in table.note, table.key
    for chart in (b for s in document.sections for b in s.blocks if isinstance(b, Chart)):
        if chart.table.column(chart.series[0]).kind == "money":
            assert "£ 2024-25 prices" in chart.title
    assert any("£ 2024-25 prices" in f.explanation for f in document.key_figures
               if f.kind == "money")


def test_summary_uses_the_engines_figures(report_input: ReportInput) -> None:
    document = build_document(report_input)
    projection = report_input.projection
    words = " ".join(document.summary)
    assert "net present value (NPV)" in words and "£ 2024-25 prices" in words
    assert format_value(projection.probability_net_present_value_positive, "fraction") in words
    assert report_input.benchmark.la.la_name in words


def test_tracking_section_is_written_in_every_format(report_input: ReportInput,
                                                      tmp_path: Path) -> None:
    with_tracking = ReportInput(report_input.benchmark, report_input.projection,
                                tracking=_realised(), generated_on=date(2026, 11, 23))
    document = build_document(with_tracking)
    summary = " ".join(document.summary)
    assert "realised savings to 2026-27 are withheld (c: a count of children" in summary
    assert "£1.3 million" not in summary, "2026-27's actual is 3: its running total would tell"
    for report_format in ("xlsx", "html", "pdf"):
        path = build_report(with_tracking, report_format, tmp_path / f"t.{report_format}")
        assert path.stat().st_size > 0
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert "tracking" in book.sheetnames
    assert "Realised benefit by period" in (tmp_path / "t.html").read_text(encoding="utf-8")
    pdf_text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "t.pdf").pages)
    assert "Realised benefit by period" in pdf_text and "Tracking" in pdf_text


def test_unknown_format_is_refused(report_input: ReportInput, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx, html, pdf"):
        build_report(report_input, "docx", tmp_path / "r.docx")
    assert not (tmp_path / "r.docx").exists()


def test_cli_writes_the_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                dfe_dir: Path) -> None:
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("SF_BENEFITS_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["data", "load", "--from", str(dfe_dir)]).exit_code == 0
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump(fixture_overrides()), encoding="utf-8")
    common = ["report", "--la", "warrington", "--model", "family_safeguarding", "--years", "3",
              "--draws", "200", "--seed", "5", "--overrides", str(overrides)]

    out_of_range = tmp_path / "out_of_range.yaml"
    out_of_range.write_text("fs_reduction_in_starts: -5\n", encoding="utf-8")
    refused = runner.invoke(app, [*common[:-1], str(out_of_range)])
    assert refused.exit_code == 1
    assert "fs_reduction_in_starts: -5 is outside its valid range" in refused.output

    out = tmp_path / "warrington.xlsx"
    result = runner.invoke(app, [*common, "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "warrington.xlsx")
    facts = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True) if row[0]}
    assert facts["Local authority"].startswith("Warrington")
    assert facts["Price base"] == "£ 2024-25 prices"

    store = Store.open(None)
    try:
        authority = resolve_la(store, "warrington")
        record_implementation(store, authority.la_code, authority.la_name, "family_safeguarding",
                              date(2024, 4, 1), "report test")
    finally:
        store.close()
    result = runner.invoke(app, [*common, "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Tracking left out" in result.output

    unknown = runner.invoke(app, ["report", "--la", "Atlantis", "--model", "family_safeguarding"])
    assert unknown.exit_code == 1
    assert "Atlantis" in unknown.output
