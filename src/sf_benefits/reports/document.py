"""The report as the renderers see it: sections of words, tables and charts, already suppressed.

`content.build_document` fills this from the engines' result objects; the Excel, HTML and PDF
renderers only lay it out, so the three formats always show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import pandas as pd

ColumnKind = Literal[
    "text", "count", "money", "percent", "fraction", "rate", "number", "year", "by_row"
]
"""How a column is shown: `percent` holds percentage points (12.5 -> 12.5%), `fraction` holds a
share (0.125 -> 12.5%), `count` holds whole children or "c", `rate` is per 10,000, and `by_row`
takes each row's kind from the table's `row_kinds` (for tables that mix units by row)."""

ChartKind = Literal["line", "bar", "fan"]


@dataclass(frozen=True)
class Column:
    """One column of a table: its key in the frame, its heading, and how its values are shown."""

    key: str
    label: str
    kind: ColumnKind


@dataclass(frozen=True)
class Table:
    """A table of values exactly as exported (counts already suppressed), with its heading and
    a note that states the price base of any £ column."""

    key: str
    title: str
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    note: str = ""
    row_kinds: tuple[ColumnKind, ...] = ()

    def __post_init__(self) -> None:
        missing = [c.key for c in self.columns if c.key not in self.frame.columns]
        if missing:
            raise KeyError(f"table {self.key!r} lists columns that its frame lacks: {missing}")
        by_row = any(c.kind == "by_row" for c in self.columns)
        if by_row and len(self.row_kinds) != len(self.frame):
            raise ValueError(f"table {self.key!r} needs one row kind per row")

    def kind(self, column: Column, row: int) -> ColumnKind:
        """How the cell in `column` and `row` (0-based position) is shown."""
        return self.row_kinds[row] if column.kind == "by_row" else column.kind

    def column(self, key: str) -> Column:
        """The column whose key is `key`."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(f"table {self.key!r} has no column {key!r}")


@dataclass(frozen=True)
class Chart:
    """A chart drawn from columns of its own data table, which every format shows under it.

    `line`/`bar`: one series per column in `series` against column `x` (`bar` draws horizontal
    bars when `horizontal`). `fan`: lines for `series` plus a shaded band for each (low, high)
    pair in `bands` (P10 to P90 around a P50 line).
    """

    key: str
    title: str
    kind: ChartKind
    table: Table
    x: str
    series: tuple[str, ...]
    y_label: str
    bands: tuple[tuple[str, str], ...] = ()
    horizontal: bool = False
    highlight: str | None = None
    muted: tuple[str, ...] = ()

    def bar_role(self, x: object) -> str:
        """"highlight" for the LA's own bar, "muted" for reference bars (means, England)."""
        text = str(x)
        if text == self.highlight:
            return "highlight"
        return "muted" if text in self.muted else "normal"


Block = Table | Chart


@dataclass(frozen=True)
class Section:
    """One part of the report (one Excel sheet, one HTML section, one or more PDF pages)."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class KeyFigure:
    """A headline number for the summary, with the words that explain it."""

    label: str
    value: float | int | str | None
    kind: ColumnKind
    explanation: str = ""


@dataclass(frozen=True)
class ReportDocument:
    """Everything a report shows, in order. `price_base_year` is stated next to every £ figure."""

    title: str
    la_name: str
    la_code: str
    model_name: str
    price_base_year: str
    generated_on: date
    summary: tuple[str, ...]
    key_figures: tuple[KeyFigure, ...]
    sections: tuple[Section, ...]
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    scenario: str = "the model's default assumptions"
    """Which scenario (or run) the figures come from, named on every format's first page."""

    def section(self, key: str) -> Section:
        """The section whose key is `key`."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"the report has no section {key!r}")

    def tables(self) -> Sequence[Table]:
        """Every table in the report, including the data table under each chart."""
        found: list[Table] = []
        for section in self.sections:
            for block in section.blocks:
                found.append(block.table if isinstance(block, Chart) else block)
        return found
