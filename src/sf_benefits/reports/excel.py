"""Excel workbook: a summary sheet, one sheet per report section, native Excel charts.

Numbers are written as numbers (the engine's values) with display formats for £, thousands and
percentages. Every piece of text is written as a string cell, never a formula, and text that
starts with a character a spreadsheet could treat as a formula (= + - @ tab, CR, LF) is
prefixed with an apostrophe, as OWASP advises against formula ("CSV") injection.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from sf_benefits.reports.document import Chart, ColumnKind, ReportDocument, Section, Table
from sf_benefits.reports.formatting import (
    BAR_COLOURS,
    EXCEL_FORMATS,
    NOT_AVAILABLE,
    SERIES_COLOURS,
    is_missing,
    is_suppressed,
    price_base_note,
)

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
CHART_DATA_SHEET = "chart_data"


def safe_text(text: str) -> str:
    """Text that no spreadsheet will evaluate: a leading formula character gets an apostrophe."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def excel_table_name(key: str) -> str:
    """The Excel table (ListObject) name used for a report table with this key."""
    return "t_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def unique_headers(labels: list[str]) -> list[str]:
    """Column headings made unique (Excel tables refuse repeats): "England", "England (2)"."""
    seen: dict[str, int] = {}
    unique: list[str] = []
    for label in labels:
        key = label.casefold()
        seen[key] = seen.get(key, 0) + 1
        unique.append(label if seen[key] == 1 else f"{label} ({seen[key]})")
    return unique


def write_workbook(document: ReportDocument, path: Path) -> Path:
    """Write the report as an .xlsx workbook at `path` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": False,
        },
    )
    try:
        _Writer(workbook, document).write()
    finally:
        workbook.close()
    return path


class _Writer:
    """Lays one document out in one workbook."""

    def __init__(self, workbook: Workbook, document: ReportDocument) -> None:
        self.book = workbook
        self.doc = document
        self.title = workbook.add_format({"bold": True, "font_size": 16})
        self.heading = workbook.add_format({"bold": True, "font_size": 12})
        self.note = workbook.add_format({"italic": True, "font_color": "#505a5f"})
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#dee0e2", "border": 1, "text_wrap": True}
        )
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.right = workbook.add_format({"align": "right"})
        self.numbers = {kind: workbook.add_format({"num_format": fmt})
                        for kind, fmt in EXCEL_FORMATS.items()}
        self.chart_cells: list[tuple[int, int, str | float]] = []
        self.chart_row = 0

    def write(self) -> None:
        self.book.set_properties({
            "title": self.doc.title,
            "subject": f"{self.doc.la_name}: {self.doc.model_name}",
            "author": "SF Benefits",
            "comments": price_base_note(self.doc.price_base_year),
        })
        self._summary_sheet()
        for section in self.doc.sections:
            self._section_sheet(section)
        if self.chart_cells:
            data = self.book.add_worksheet(CHART_DATA_SHEET)
            for row, col, value in self.chart_cells:
                if isinstance(value, str):
                    self._text(data, row, col, value)
                else:
                    data.write_number(row, col, value)
            data.hide()

    def _text(self, sheet: Worksheet, row: int, col: int, text: str, fmt: Any = None) -> None:
        sheet.write_string(row, col, safe_text(text), fmt)

    def _value(self, sheet: Worksheet, row: int, col: int, value: object,
               kind: ColumnKind) -> None:
        if is_missing(value):
            sheet.write_string(row, col, NOT_AVAILABLE, self.right)
        elif is_suppressed(value):
            sheet.write_string(row, col, str(value), self.right)
        elif isinstance(value, str) or kind == "text":
            self._text(sheet, row, col, str(value))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            sheet.write_number(row, col, float(value), self.numbers.get(kind))
        else:
            self._text(sheet, row, col, str(value))

    def _summary_sheet(self) -> None:
        sheet = self.book.add_worksheet("summary")
        sheet.set_column(0, 0, 48)
        sheet.set_column(1, 1, 20)
        sheet.set_column(2, 2, 90)
        doc = self.doc
        self._text(sheet, 0, 0, doc.title, self.title)
        facts = [
            ("Local authority", f"{doc.la_name} ({doc.la_code})"),
            ("Scenario", doc.scenario),
            ("Innovation", doc.model_name),
            ("Price base", price_base_note(doc.price_base_year)),
            ("Produced", doc.generated_on.isoformat()),
        ]
        row = 2
        for label, value in facts:
            self._text(sheet, row, 0, label, self.header)
            self._text(sheet, row, 1, value)
            row += 1
        row += 1
        self._text(sheet, row, 0, "Summary", self.heading)
        row += 1
        for paragraph in doc.summary:
            sheet.merge_range(row, 0, row, 2, "", self.wrap)
            self._text(sheet, row, 0, paragraph, self.wrap)
            sheet.set_row(row, 15 * max(1, len(paragraph) // 140 + 1))
            row += 1
        row += 1
        self._text(sheet, row, 0, "Key figures", self.heading)
        row += 1
        for col, heading in enumerate(("Measure", "Value", "What it means")):
            self._text(sheet, row, col, heading, self.header)
        row += 1
        for figure in doc.key_figures:
            self._text(sheet, row, 0, figure.label)
            self._value(sheet, row, 1, figure.value, figure.kind)
            self._text(sheet, row, 2, figure.explanation, self.wrap)
            row += 1
        if doc.caveats:
            row += 1
            self._text(sheet, row, 0, "Caveats", self.heading)
            row += 1
            for caveat in doc.caveats:
                sheet.merge_range(row, 0, row, 2, "", self.wrap)
                self._text(sheet, row, 0, caveat, self.wrap)
                sheet.set_row(row, 15 * max(1, len(caveat) // 140 + 1))
                row += 1
        sheet.activate()

    def _section_sheet(self, section: Section) -> None:
        sheet = self.book.add_worksheet(section.key[:31])
        self._text(sheet, 0, 0, section.title, self.title)
        row = 1
        for paragraph in section.paragraphs:
            self._text(sheet, row, 0, paragraph)
            row += 1
        widths: dict[int, int] = {}
        for block in section.blocks:
            row += 1
            table = block.table if isinstance(block, Chart) else block
            top = row
            row = self._table(sheet, row, table, widths)
            if isinstance(block, Chart):
                self._chart(sheet, top, len(table.columns) + 1, block)
                row = max(row, top + 20)
        for col, width in widths.items():
            sheet.set_column(col, col, min(max(width, 10), 60))

    def _table(self, sheet: Worksheet, row: int, table: Table, widths: dict[int, int]) -> int:
        self._text(sheet, row, 0, table.title, self.heading)
        row += 1
        if table.note:
            self._text(sheet, row, 0, table.note, self.note)
            row += 1
        header = row
        labels = unique_headers([c.label for c in table.columns])
        for col, label in enumerate(labels):
            widths[col] = max(widths.get(col, 0), len(label) + 2)
        records = table.frame[[c.key for c in table.columns]].itertuples(index=False, name=None)
        for offset, record in enumerate(records, start=1):
            for col, (column, value) in enumerate(zip(table.columns, record, strict=True)):
                self._value(sheet, header + offset, col, value, table.kind(column, offset - 1))
                if column.kind == "text" or isinstance(value, str):
                    widths[col] = max(widths.get(col, 0), min(len(str(value)) + 2, 60))
        last = header + max(len(table.frame), 1)
        sheet.add_table(header, 0, last, len(labels) - 1, {
            "name": excel_table_name(table.key),
            "columns": [{"header": safe_text(label)} for label in labels],
            "style": "Table Style Light 9",
            "autofilter": False,
        })
        return last + 1

    def _chart(self, sheet: Worksheet, row: int, col: int, chart: Chart) -> None:
        """A native chart of the block's table; suppressed and missing points are gaps."""
        cells = self.chart_cells
        table = chart.table
        first = self.chart_row
        keys = [chart.x, *chart.series, *(k for band in chart.bands for k in band)]
        keys = list(dict.fromkeys(keys))
        frame = table.frame
        for offset, key in enumerate(keys):
            cells.append((first, offset, table.column(key).label))
            for i, value in enumerate(frame[key].tolist(), start=1):
                if is_missing(value) or is_suppressed(value):
                    continue
                if key == chart.x:
                    cells.append((first + i, offset, str(value)))
                elif isinstance(value, (int, float, np.integer, np.floating)):
                    cells.append((first + i, offset, float(value)))
        last = first + len(frame)
        self.chart_row = last + 2
        position = {k: i for i, k in enumerate(keys)}

        def ref(key: str) -> list[Any]:
            return [CHART_DATA_SHEET, first + 1, position[key], last, position[key]]

        categories = ref(chart.x)
        if chart.kind == "bar":
            excel_chart = self.book.add_chart({"type": "bar" if chart.horizontal else "column"})
        else:
            excel_chart = self.book.add_chart({"type": "line"})
        assert excel_chart is not None
        for number, key in enumerate(chart.series):
            colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
            series: dict[str, Any] = {
                "name": safe_text(table.column(key).label),
                "categories": categories,
                "values": ref(key),
            }
            if chart.kind == "bar":
                series["fill"] = {"color": BAR_COLOURS["normal"]}
                series["points"] = [{"fill": {"color": BAR_COLOURS[chart.bar_role(x)]}}
                                    for x in frame[chart.x].tolist()]
            else:
                series["line"] = {"color": colour, "width": 2.25}
            excel_chart.add_series(series)
        for number, (low, high) in enumerate(chart.bands):
            colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
            for key in (low, high):
                excel_chart.add_series({
                    "name": safe_text(table.column(key).label),
                    "categories": categories,
                    "values": ref(key),
                    "line": {"color": colour, "width": 1, "dash_type": "dash"},
                })
        excel_chart.set_title({"name": safe_text(chart.title)})
        axis = {"name": safe_text(chart.y_label)}
        if chart.kind == "bar" and chart.horizontal:
            excel_chart.set_x_axis(axis)
        else:
            excel_chart.set_y_axis(axis)
        excel_chart.show_blanks_as("gap")
        excel_chart.set_legend({"position": "bottom"})
        excel_chart.set_size({"width": 720, "height": 380})
        sheet.insert_chart(row, col, excel_chart)
