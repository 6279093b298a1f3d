"""Reports: render the engines' results as an Excel workbook, an HTML report or a PDF board paper.

`build_report(ReportInput(benchmark, projection, tracking), "xlsx", path)` writes one file; all
three formats come from the same `ReportDocument`, with counts of children already suppressed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from sf_benefits.reports.content import ReportInput, build_document
from sf_benefits.reports.document import ReportDocument

ReportFormat = Literal["xlsx", "html", "pdf"]
FORMATS: tuple[str, ...] = get_args(ReportFormat)


def _unknown_format(report_format: str) -> ValueError:
    return ValueError(
        f"unknown report format {report_format!r}; choose one of {', '.join(FORMATS)}")


def write_document(document: ReportDocument, report_format: str, path: Path | str) -> Path:
    """Render an already built document in one format."""
    target = Path(path)
    if report_format == "xlsx":
        from sf_benefits.reports.excel import write_workbook

        return write_workbook(document, target)
    if report_format == "html":
        from sf_benefits.reports.html import write_html

        return write_html(document, target)
    if report_format == "pdf":
        from sf_benefits.reports.pdf import write_pdf

        return write_pdf(document, target)
    raise _unknown_format(report_format)


def build_report(report_input: ReportInput, report_format: str, path: Path | str) -> Path:
    """Write the report for `report_input` as xlsx, html or pdf at `path`; returns the path."""
    if report_format not in FORMATS:
        raise _unknown_format(report_format)
    return write_document(build_document(report_input), report_format, path)


__all__ = ["FORMATS", "ReportDocument", "ReportFormat", "ReportInput", "build_document",
           "build_report", "write_document"]
