"""View models shared by pages and API: tables with typed columns, charts with their table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sf_benefits.disclosure import SUPPRESSED

PALETTE = {"la": "#1d70b8", "neighbours": "#f47738", "region": "#4c2c92", "england": "#505a5f",
           "baseline": "#505a5f", "scenario": "#00703c", "band": "rgba(0,112,60,0.18)",
           "baseline_band": "rgba(80,90,95,0.15)", "actual": "#d4351c"}


@dataclass(frozen=True)
class Column:
    """One table column: the row key, its heading, and how its cells are formatted."""

    key: str
    label: str
    kind: str = ""


@dataclass
class DataTable:
    """A table of plain values; the template formats each cell by its column's kind."""

    caption: str
    columns: list[Column]
    rows: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """Caption, columns and rows as JSON (row keys starting with _ are display hints)."""
        return {"caption": self.caption,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind}
                            for c in self.columns],
                "rows": [{k: v for k, v in r.items() if not k.startswith("_")}
                         for r in self.rows]}


@dataclass
class Chart:
    """A plotly figure (data and layout as JSON) with the table that holds the same figures."""

    id: str
    title: str
    figure: dict[str, Any]
    table: DataTable
    note: str = ""


def plain(value: Any) -> Any:
    """A JSON-safe scalar: NaN and missing become None, numpy numbers become Python numbers."""
    if value is None:
        return None
    if isinstance(value, str | int):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-safe dicts."""
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def chart_values(values: list[Any]) -> list[float | None]:
    """Values for a chart axis: suppressed ('c') or missing values become gaps."""
    out: list[float | None] = []
    for value in values:
        v = plain(value)
        out.append(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None)
    return out


def suppressed_marks(x: list[Any], values: list[Any], name: str,
                     meaning: str = "count from 1 to 5, not shown",
                     horizontal: bool = False) -> list[dict[str, Any]]:
    """A trace marking, at the foot of the chart (the left of a horizontal bar chart), each
    point whose figure is suppressed: a "c" as in the tables, so a gap in a line or a missing
    bar is never read as zero or as missing data."""
    hidden = [xi for xi, v in zip(x, values, strict=True) if v == SUPPRESSED]
    if not hidden:
        return []
    at_zero = [0] * len(hidden)
    axes = {"x": at_zero, "y": hidden} if horizontal else {"x": hidden, "y": at_zero}
    return [{"type": "scatter", "mode": "markers+text", **axes,
             "text": [SUPPRESSED] * len(hidden),
             "textposition": "middle right" if horizontal else "top center",
             "marker": {"symbol": "line-ns-open" if horizontal else "line-ew-open", "size": 14,
                        "color": "#505a5f"},
             "name": f"{name}: {SUPPRESSED} = {meaning}",
             "hovertemplate": (f"%{{{'y' if horizontal else 'x'}}}: {name} suppressed "
                               f"({SUPPRESSED})<extra></extra>")}]
