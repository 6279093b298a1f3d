"""How values are shown: £ with thousands separators, percentages with %, counts as integers.

Shared by the HTML and PDF renderers (as text) and the Excel renderer (as number formats, so
cells keep the engine's values and only their display changes).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sf_benefits.benchmark.engine import NOT_PUBLISHED
from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.reports.document import ColumnKind

NOT_AVAILABLE = NOT_PUBLISHED
"""Shown where a value does not exist or was not published ("–", as on the web pages and the
command line; "c" is kept for a suppressed figure)."""

NUMERIC_KINDS: frozenset[ColumnKind] = frozenset(
    {"count", "money", "percent", "fraction", "rate", "number"})
"""Kinds shown right-aligned as numbers."""

SERIES_COLOURS = ("#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#505a5f", "#912b88")
BAR_COLOURS = {"highlight": "#d4351c", "muted": "#b1b4b6", "normal": "#1d70b8"}
"""Chart colours shared by every format: the LA's own bar stands out, reference bars are grey."""

EXCEL_FORMATS: dict[ColumnKind, str] = {
    "count": "#,##0",
    "money": "[$£-809]#,##0;-[$£-809]#,##0",
    "percent": '0.0"%"',
    "fraction": "0.0%",
    "rate": "#,##0.0",
    "number": "General",
    "year": "0",
}


def price_base_note(price_base_year: str) -> str:
    """The label placed next to every £ table or figure, e.g. "£ 2024-25 prices"."""
    return f"£ {price_base_year} prices"


def is_missing(value: object) -> bool:
    """True for None, NaN, infinities and pandas' missing markers: no finite value to show."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(value)
    return False


def format_value(value: object, kind: ColumnKind) -> str:
    """A value as text for a table cell or a sentence."""
    if is_missing(value):
        return NOT_AVAILABLE
    if isinstance(value, str):
        return value
    if kind == "text":
        return str(value)
    if kind == "year":
        return str(int(value)) if isinstance(value, (int, float)) else str(value)
    number = float(value)  # type: ignore[arg-type]
    if kind == "count":
        return f"{int(round(number)):,}"
    if kind == "money":
        sign = "-" if number < 0 else ""
        return f"{sign}£{abs(number):,.0f}"
    if kind == "percent":
        return f"{number:.1f}%"
    if kind == "fraction":
        return f"{number * 100:.1f}%"
    if kind == "rate":
        return f"{number:,.1f}"
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.4g}"


def money_in_words(value: float | None) -> str:
    """A £ amount for a sentence: "£2.6 million", "£640,000", or "not available"."""
    if value is None or not math.isfinite(value):
        return "not available"
    sign = "minus " if value < 0 else ""
    size = abs(value)
    if size >= 1_000_000:
        return f"{sign}£{size / 1_000_000:,.1f} million"
    return f"{sign}£{size:,.0f}"


def is_suppressed(value: object) -> bool:
    """True for a count shown as "c"."""
    return isinstance(value, str) and value == SUPPRESSED
