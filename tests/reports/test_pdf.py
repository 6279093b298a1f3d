"""The PDF board paper: four to six pages that render, and the text a board member looks for."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from sf_benefits.reports import ReportInput, build_document, build_report
from sf_benefits.reports.document import Table
from sf_benefits.reports.formatting import format_value
from tests.reports.fixtures import make_benchmark, make_projection

POPPLER_MISSING = ("poppler-utils (pdftotext, pdftoppm) is not installed; "
                   "`apt-get install -y poppler-utils`")


@pytest.fixture(scope="module")
def pdf_file(report_input: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(report_input, "pdf", tmp_path_factory.mktemp("pdf") / "report.pdf")


def _expected_text(report_input: ReportInput) -> list[str]:
    npv = report_input.projection.net_present_value.p50
    return [report_input.benchmark.la.la_name, "NPV", "2024-25", format_value(npv, "money"),
            "Caveats", "Assumptions and sources"]


def test_four_to_six_pages_with_the_key_text_pypdf(pdf_file: Path,
                                                   report_input: ReportInput) -> None:
    reader = PdfReader(pdf_file)
    assert 4 <= len(reader.pages) <= 6
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in _expected_text(report_input):
        assert expected in text, expected


def test_pdftotext_finds_la_name_npv_and_price_base(pdf_file: Path,
                                                   report_input: ReportInput) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip(POPPLER_MISSING)
    text = subprocess.run(["pdftotext", "-layout", str(pdf_file), "-"], check=True,
                          capture_output=True, text=True).stdout
    for expected in _expected_text(report_input):
        assert expected in text, expected
    assert "£ 2024-25 prices" in text


def _pdf_text(path: Path) -> str:
    """The PDF's text in reading order, runs of whitespace (line wraps, cell breaks) made one space."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def test_sources_and_assumption_grades_are_listed_as_in_the_html(
        pdf_file: Path, report_input: ReportInput) -> None:
    document = build_document(report_input)
    text = _pdf_text(pdf_file)
    assert ("DfE LAIT, TotalLACFinance (section 251 outturn, gross spend on children looked "
            "after)") in document.sources
    for source in document.sources:
        assert " ".join(source.split()) in text, source
    assert "Confidence grade" in text
    assumptions = document.section("assumptions").blocks[0]
    assert isinstance(assumptions, Table)
    discount = assumptions.frame.set_index("id").loc["discount_rate"]
    assert (discount["source"], discount["confidence"]) == (
        "HM Treasury (2025) Review of discounting in the Green Book: Terms of Reference "
        "(+1 more)", "A")
    assert "HM Treasury (2025) A" in text  # the table cites publisher (year); sources list in full


def test_every_page_renders_to_a_non_empty_image(pdf_file: Path, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip(POPPLER_MISSING)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf_file), str(tmp_path / "page")],
                   check=True, capture_output=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 4 <= len(pages) <= 6
    for page in pages:
        with Image.open(page) as image:
            grey = image.convert("L")
            dark = sum(grey.histogram()[:200])
            assert dark > 0.01 * grey.width * grey.height, page.name


def test_text_with_markup_is_printed_not_interpreted(tmp_path: Path) -> None:
    name = "Bath & <b>North</b> East <font size=40>Somerset</font>"
    report = ReportInput(make_benchmark(la_name=name), make_projection(),
                         generated_on=date(2026, 11, 23))
    path = build_report(report, "pdf", tmp_path / "markup.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    assert "<b>North</b>" in text
