"""HTML report: one self-contained file (plotly.js inlined, no external requests), an
interactive chart with its data table under it, text escaped by the template engine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import plotly.io as pio

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.reports.document import Chart, ReportDocument, Table
from sf_benefits.reports.formatting import (
    BAR_COLOURS,
    NUMERIC_KINDS,
    SERIES_COLOURS,
    format_value,
    is_missing,
    is_suppressed,
    price_base_note,
)

_BAND_FILLS = ("rgba(29,112,184,0.18)", "rgba(212,53,28,0.18)", "rgba(0,112,60,0.18)")
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                  "modeBarButtonsToRemove": ["sendDataToCloud"]}


@dataclass(frozen=True)
class _Cell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class _Block:
    title: str
    note: str
    anchor: str
    headings: list[str]
    rows: list[list[_Cell]]
    chart_html: str


def _anchor(key: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", key.lower())


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sf_benefits.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _plot_value(value: object) -> float | None:
    if is_missing(value) or is_suppressed(value) or isinstance(value, str):
        return None
    return float(value)  # type: ignore[arg-type]


def _suppressed_marks(hidden: list[str], label: str, horizontal: bool) -> go.Scatter:
    """A "c" at the foot of the chart (the left of horizontal bars) for each suppressed point."""
    at_zero = [0] * len(hidden)
    return go.Scatter(x=at_zero if horizontal else hidden, y=hidden if horizontal else at_zero,
                      mode="markers+text", text=[SUPPRESSED] * len(hidden),
                      textposition="middle right" if horizontal else "top center",
                      marker={"symbol": "line-ns-open" if horizontal else "line-ew-open",
                              "size": 14, "color": "#505a5f"},
                      name=f"{label}: {SUPPRESSED} = suppressed")


def figure(chart: Chart) -> go.Figure:
    """The interactive plotly figure for a chart; a suppressed point is marked "c" at the foot,
    a missing one is a gap."""
    table = chart.table
    frame = table.frame
    x = [str(v) for v in frame[chart.x].tolist()]
    fig = go.Figure()
    for number, (low, high) in enumerate(chart.bands):
        fill = _BAND_FILLS[number % len(_BAND_FILLS)]
        fig.add_trace(go.Scatter(
            x=x, y=[_plot_value(v) for v in frame[high]], mode="lines",
            line={"width": 0}, name=table.column(high).label, showlegend=False,
        ))
        fig.add_trace(go.Scatter(
            x=x, y=[_plot_value(v) for v in frame[low]], mode="lines", line={"width": 0},
            fill="tonexty", fillcolor=fill,
            name=f"{table.column(low).label} to {table.column(high).label}",
        ))
    for number, key in enumerate(chart.series):
        values = [_plot_value(v) for v in frame[key]]
        hidden = [xv for xv, v in zip(x, frame[key], strict=True) if is_suppressed(v)]
        if hidden:
            fig.add_trace(_suppressed_marks(hidden, table.column(key).label,
                                            chart.kind == "bar" and chart.horizontal))
        if chart.kind == "bar":
            colours = [BAR_COLOURS[chart.bar_role(xv)] for xv in x]
            if chart.horizontal:
                fig.add_trace(go.Bar(y=x, x=values, orientation="h", marker={"color": colours},
                                     name=table.column(key).label))
            else:
                fig.add_trace(go.Bar(x=x, y=values, marker={"color": colours},
                                     name=table.column(key).label))
        else:
            fig.add_trace(go.Scatter(
                x=x, y=values, mode="lines+markers", connectgaps=False,
                line={"color": SERIES_COLOURS[number % len(SERIES_COLOURS)], "width": 2.5},
                name=table.column(key).label,
            ))
    axis_title: dict[str, Any] = {"title": {"text": chart.y_label}}
    fig.update_layout(
        title={"text": chart.title}, template="plotly_white", height=440,
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.18},
    )
    if chart.kind == "bar" and chart.horizontal:
        fig.update_xaxes(**axis_title)
        fig.update_yaxes(autorange="reversed", type="category")
    else:
        fig.update_yaxes(**axis_title)
        fig.update_xaxes(type="category")
    return fig


def _rows(table: Table) -> list[list[_Cell]]:
    records = table.frame[[c.key for c in table.columns]].itertuples(index=False, name=None)
    rows = []
    for i, record in enumerate(records):
        kinds = [table.kind(c, i) for c in table.columns]
        rows.append([_Cell(format_value(v, k), k in NUMERIC_KINDS)
                     for k, v in zip(kinds, record, strict=True)])
    return rows


def render_html(document: ReportDocument) -> str:
    """The whole report as one HTML string with plotly.js inlined once."""
    include_js = True
    sections = []
    for section in document.sections:
        blocks = []
        for block in section.blocks:
            table = block.table if isinstance(block, Chart) else block
            chart_html = ""
            if isinstance(block, Chart):
                chart_html = pio.to_html(
                    figure(block), full_html=False, include_plotlyjs=include_js,
                    include_mathjax=False, config=_PLOTLY_CONFIG,
                    div_id=f"chart-{_anchor(block.key)}",
                )
                include_js = False
            blocks.append(_Block(
                title=block.title, note=table.note, anchor=f"table-{_anchor(table.key)}",
                headings=[c.label for c in table.columns], rows=_rows(table),
                chart_html=chart_html,
            ))
        sections.append({"anchor": _anchor(section.key), "title": section.title,
                         "paragraphs": section.paragraphs, "blocks": blocks})
    key_figures = [
        {"label": f.label, "text": format_value(f.value, f.kind), "explanation": f.explanation}
        for f in document.key_figures
    ]
    template = _environment().get_template("report.html")
    return template.render(
        doc=document, sections=sections, key_figures=key_figures,
        price_note=price_base_note(document.price_base_year),
    )


def write_html(document: ReportDocument, path: Path) -> Path:
    """Write the report as one self-contained .html file at `path` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(document), encoding="utf-8")
    return path
