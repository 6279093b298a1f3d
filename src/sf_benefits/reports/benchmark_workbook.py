"""The benchmark as an Excel workbook an analyst would send on: readable headings, number formats
by unit (rates to one decimal, £ with separators, percentages), a frozen header row, filters, the
LAIT-style quartile band colours, and native Excel charts of the trend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from sf_benefits.benchmark import BenchmarkResult
from sf_benefits.benchmark.engine import SUPPRESSED_MEANING
from sf_benefits.disclosure import SUPPRESSED

BAND_COLOURS = {"A": "#C6EFCE", "B": "#E2EFDA", "C": "#FFEB9C", "D": "#FFC7CE"}
"""LAIT's quartile shading: A (best quarter of LAs) green through D (worst) red."""
BAND_TEXT = {"A": "#006100", "B": "#375623", "C": "#9C5700", "D": "#9C0006"}

SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("indicator", "Indicator", "text"), ("unit", "Unit", "text"), ("year", "Year", "year"),
    ("la_value", "This LA", "value"), ("neighbour_mean", "Statistical neighbours (mean)", "value"),
    ("neighbour_median", "Statistical neighbours (median)", "value"),
    ("region_value", "Region", "value"), ("england_value", "England", "value"),
    ("gap_to_neighbour_mean", "Gap to neighbour mean", "value"),
    ("rank_text", "Rank among neighbours", "text"), ("national_text", "Rank in England", "text"),
    ("quartile_band", "Quartile band", "band"), ("polarity_text", "Better when", "text"),
    ("source", "Source", "text"),
)
POLARITY = {"high_is_better": "higher", "low_is_better": "lower",
            "neutral": "neither (lowest ranked 1)"}
TREND_SERIES = (("la", "This LA"), ("neighbour_mean", "Neighbour mean"), ("region", "Region"),
                ("england", "England"))


def number_format(unit: str) -> str:
    """The Excel number format for an indicator's unit."""
    text = unit.lower()
    if "gbp" in text or "£" in text:
        return "£#,##0"
    if text.strip() == "%":
        return '0.0"%"'
    return "#,##0.0"


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    return None if pd.isna(number) else number


def _rank(rank: Any, of: Any) -> str:
    return f"{int(rank)} of {int(of)}" if _number(rank) is not None and _number(of) else ""


class _Book:
    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                                    "strings_to_urls": False,
                                                    "nan_inf_to_errors": False})
        self.header = self.book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                            "bg_color": "#1F4E79", "font_color": "#FFFFFF",
                                            "border": 1})
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.note = self.book.add_format({"italic": True, "font_color": "#505050"})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.marker = self.book.add_format({"align": "right", "valign": "top"})
        self.formats: dict[str, Any] = {}
        self.bands = {band: self.book.add_format({"bg_color": colour, "bold": True,
                                                  "align": "center",
                                                  "font_color": BAND_TEXT[band]})
                      for band, colour in BAND_COLOURS.items()}

    def number(self, pattern: str) -> Any:
        if pattern not in self.formats:
            self.formats[pattern] = self.book.add_format({"num_format": pattern,
                                                          "valign": "top"})
        return self.formats[pattern]


def _summary_sheet(book: _Book, result: BenchmarkResult, summary: pd.DataFrame) -> None:
    sheet = book.book.add_worksheet("Summary")
    la = result.la
    sheet.write_string(0, 0, f"{la.la_name} ({la.la_code}) against its statistical neighbours, "
                             f"region and England", book.title)
    neighbours = ", ".join(n.la_name for n in result.neighbours)
    sheet.write_string(1, 0, f"Neighbours ({result.neighbour_model}): {neighbours}. Money is in "
                             "cash terms of each financial year. Band A is the best quarter of "
                             "LAs in England, D the worst (for neutral indicators A is the "
                             f"lowest). {SUPPRESSED}: {SUPPRESSED_MEANING}. Blank: no figure "
                             "published.", book.note)
    top = 3
    for col, (_key, label, _kind) in enumerate(SUMMARY_COLUMNS):
        sheet.write_string(top, col, label, book.header)
    for i, row in enumerate(summary.to_dict("records"), start=top + 1):
        row = {**row, "rank_text": _rank(row["rank_among_neighbours"], row["neighbours_ranked"]),
               "national_text": _rank(row["national_rank"], row["las_ranked"]),
               "polarity_text": POLARITY.get(str(row["polarity"]), str(row["polarity"]))}
        fmt = book.number(number_format(str(row["unit"])))
        for col, (key, _label, kind) in enumerate(SUMMARY_COLUMNS):
            value = row.get(key)
            if kind == "value":
                number = _number(value)
                if value == SUPPRESSED:
                    sheet.write_string(i, col, SUPPRESSED, book.marker)
                elif number is None:
                    sheet.write_blank(i, col, None, fmt)
                else:
                    sheet.write_number(i, col, number, fmt)
            elif kind == "year":
                year = _number(value)
                if year is not None:
                    sheet.write_number(i, col, int(year), book.number("0"))
            elif kind == "band" and _text(value) in book.bands:
                sheet.write_string(i, col, _text(value), book.bands[_text(value)])
            else:
                sheet.write_string(i, col, _text(value), book.wrap)
    last = top + len(summary)
    sheet.freeze_panes(top + 1, 1)
    sheet.autofilter(top, 0, max(last, top), len(SUMMARY_COLUMNS) - 1)
    widths = {"Indicator": 48, "Unit": 22, "Source": 50}
    for col, (_key, label, _kind) in enumerate(SUMMARY_COLUMNS):
        sheet.set_column(col, col, widths.get(label, 14))
    sheet.set_row(top, 32)


def _long_sheet(book: _Book, name: str, frame: pd.DataFrame, columns: list[tuple[str, str]],
                units: dict[str, str], labels: dict[str, str]) -> None:
    sheet = book.book.add_worksheet(name)
    for col, (_key, label) in enumerate(columns):
        sheet.write_string(0, col, label, book.header)
    for i, row in enumerate(frame.to_dict("records"), start=1):
        fmt = book.number(number_format(units.get(str(row.get("indicator_id")), "")))
        for col, (key, _label) in enumerate(columns):
            value = labels.get(str(row[key]), row[key]) if key == "indicator_id" else row[key]
            number = _number(value) if key not in ("la_code", "la_name", "indicator_id") else None
            if key in ("year", "rank") and number is not None:
                sheet.write_number(i, col, int(number), book.number("0"))
            elif number is not None:
                sheet.write_number(i, col, number, fmt)
            elif isinstance(value, str):
                sheet.write_string(i, col, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    for col, (key, _label) in enumerate(columns):
        sheet.set_column(col, col, 48 if key == "indicator_id" else 16)


def _chart_sheet(book: _Book, result: BenchmarkResult, trend: pd.DataFrame,
                 units: dict[str, str], labels: dict[str, str]) -> None:
    """One native line chart per indicator (LA, neighbour mean, region, England by year), with
    its figures in a table beside it for readers who cannot see the chart. A suppressed figure
    is a gap in the chart (Excel would draw a "c" cell as zero), named in the last column."""
    sheet = book.book.add_worksheet("Trend charts")
    sheet.write_string(0, 0, f"{result.la.la_name}: each indicator over time", book.title)
    row = 2
    for indicator_id, rows in trend.groupby("indicator_id", sort=False):
        rows = rows.sort_values("year")
        fmt = book.number(number_format(units.get(str(indicator_id), "")))
        sheet.write_string(row, 0, labels.get(str(indicator_id), str(indicator_id)), book.title)
        sheet.write_string(row + 1, 0, "Year", book.header)
        for col, (_key, label) in enumerate(TREND_SERIES, start=1):
            sheet.write_string(row + 1, col, label, book.header)
        sheet.write_string(row + 1, len(TREND_SERIES) + 1, "Suppressed (c)", book.header)
        first = row + 2
        for i, item in enumerate(rows.to_dict("records")):
            sheet.write_number(first + i, 0, int(item["year"]), book.number("0"))
            for col, (key, _label) in enumerate(TREND_SERIES, start=1):
                number = _number(item.get(key))
                if number is not None:
                    sheet.write_number(first + i, col, number, fmt)
            hidden = [label for key, label in TREND_SERIES if item.get(key) == SUPPRESSED]
            if hidden:
                sheet.write_string(first + i, len(TREND_SERIES) + 1, ", ".join(hidden))
        last = first + len(rows) - 1
        chart = book.book.add_chart({"type": "line"})
        for col, (_key, label) in enumerate(TREND_SERIES, start=1):
            chart.add_series({"name": label, "categories": ["Trend charts", first, 0, last, 0],
                              "values": ["Trend charts", first, col, last, col],
                              "marker": {"type": "circle", "size": 4}})
        chart.set_title({"name": labels.get(str(indicator_id), str(indicator_id))[:80],
                         "name_font": {"size": 11}})
        chart.set_y_axis({"name": units.get(str(indicator_id), ""),
                          "num_format": number_format(units.get(str(indicator_id), ""))})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 620, "height": 300})
        sheet.insert_chart(row, 7, chart)
        row = max(last + 3, row + 17)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 5, 16)


def write_benchmark_workbook(result: BenchmarkResult, path: Path) -> Path:
    """Write the benchmark workbook: Summary, Trend charts, Neighbours and Trend (data) sheets."""
    frames = result.to_frames()
    summary = frames["summary"]
    units = dict(zip(summary["indicator_id"], summary["unit"], strict=True)) if len(
        summary) else {}
    labels = dict(zip(summary["indicator_id"], summary["indicator"], strict=True)) if len(
        summary) else {}
    book = _Book(Path(path))
    try:
        _summary_sheet(book, result, summary)
        if not frames["trend"].empty:
            _chart_sheet(book, result, frames["trend"], units, labels)
        if not frames["neighbours"].empty:
            _long_sheet(book, "Neighbours", frames["neighbours"], [
                ("indicator_id", "Indicator"), ("year", "Year"), ("rank", "Rank"),
                ("la_code", "LA code"), ("la_name", "Local authority"), ("value", "Value")],
                units, labels)
        if not frames["trend"].empty:
            _long_sheet(book, "Trend", frames["trend"], [
                ("indicator_id", "Indicator"), ("year", "Year"), ("la", "This LA"),
                ("neighbour_mean", "Neighbour mean"), ("region", "Region"),
                ("england", "England")], units, labels)
    finally:
        book.book.close()
    return Path(path)
