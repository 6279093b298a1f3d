"""Charts of a benchmark result: a PNG for documents and a self-contained interactive HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from matplotlib import transforms  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

from sf_benefits.benchmark.engine import (  # noqa: E402
    MARKER_NOTE,
    NOT_PUBLISHED,
    TREND_STATUS,
    BenchmarkResult,
    IndicatorBenchmark,
    published_values,
    shown,
)
from sf_benefits.disclosure import SUPPRESSED  # noqa: E402


def _bars(b: IndicatorBenchmark, la_name: str) -> tuple[list[str], list[float | str | None]]:
    """Names and values as published: a number, "c" where suppressed, None where none."""
    neighbours = published_values(b.neighbour_values, {"value": "status"})
    return [la_name, *neighbours["la_name"]], [shown(b.la_value, b.la_status),
                                               *neighbours["value"]]


def _numbers(values: Sequence[object]) -> list[float | None]:
    return [v if isinstance(v, float) else None for v in values]


TREND_SERIES: tuple[tuple[str, str | None], ...] = (
    ("la", None), ("neighbour_mean", "neighbour mean"), ("region", "region"),
    ("england", "England"))
"""Each trend line and its label (None: the LA's name)."""


@matplotlib.rc_context({"text.parse_math": False})
def benchmark_chart_png(result: BenchmarkResult, path: Path) -> None:
    """One row per indicator: the LA and its neighbours (bars) and the trend (lines); a
    suppressed figure is marked "c", one never published "–"; names are drawn as typed, a "$"
    never starting mathtext."""
    rows = len(result.indicators)
    fig, axes = plt.subplots(rows, 2, figsize=(13, 3.2 * rows), squeeze=False)
    for (bar_ax, trend_ax), b in zip(axes, result.indicators, strict=True):
        names, values = _bars(b, result.la.la_name)
        heights = [v if isinstance(v, float) else 0 for v in values]
        colours = ["#1d70b8" if i == 0 else "#b1b4b6" for i in range(len(names))]
        bar_ax.barh(names[::-1], heights[::-1], color=colours[::-1])
        for y, v in enumerate(values[::-1]):
            if v == SUPPRESSED:
                bar_ax.plot(0, y, marker="|", markersize=12, color="#505a5f")
                bar_ax.text(0, y, f"  {SUPPRESSED} (suppressed)", va="center", fontsize=7)
            elif v is None:
                bar_ax.text(0, y, f"  {NOT_PUBLISHED} (not published)", va="center", fontsize=7)
        for value, label, style in ((b.neighbour_mean, "neighbour mean", "--"),
                                    (b.england_value, "England", ":")):
            if value is not None:
                bar_ax.axvline(value, color="#0b0c0c", linestyle=style, label=label)
        bar_ax.set_title(f"{b.indicator.label} ({b.year})", fontsize=9)
        bar_ax.tick_params(labelsize=7)
        bar_ax.legend(fontsize=7)
        trend = published_values(b.trend, TREND_STATUS)
        foot = transforms.blended_transform_factory(trend_ax.transData, trend_ax.transAxes)
        for column, series in TREND_SERIES:
            line, = trend_ax.plot(trend["year"], _numbers(list(trend[column])), marker="o",
                                  label=series or result.la.la_name)
            hidden = trend["year"][trend[column] == SUPPRESSED]
            for year in hidden:
                trend_ax.plot(year, 0.03, marker="s", color=line.get_color(), transform=foot,
                              clip_on=False)
                trend_ax.text(year, 0.07, SUPPRESSED, ha="center", fontsize=8,
                              color=line.get_color(), transform=foot)
        trend_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        trend_ax.set_title(f"Trend: {b.indicator.unit}", fontsize=9)
        trend_ax.tick_params(labelsize=7)
        trend_ax.legend(fontsize=7)
    fig.text(0.01, 0.002, MARKER_NOTE, fontsize=7)
    fig.tight_layout(rect=(0, 0.02 / max(rows, 1), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def benchmark_chart_html(result: BenchmarkResult) -> str:
    """A standalone HTML page (plotly inlined, no external requests), a data table under each chart."""
    sections = []
    for i, b in enumerate(result.indicators):
        fig = make_subplots(rows=1, cols=2, subplot_titles=("LA and neighbours", "Trend"))
        names, values = _bars(b, result.la.la_name)
        fig.add_trace(go.Bar(x=_numbers(values), y=names, orientation="h",
                             name=b.indicator.unit), 1, 1)
        hidden = [n for n, v in zip(names, values, strict=True) if v == SUPPRESSED]
        if hidden:
            fig.add_trace(go.Scatter(x=[0] * len(hidden), y=hidden, mode="markers+text",
                                     text=[SUPPRESSED] * len(hidden), textposition="middle right",
                                     marker={"symbol": "line-ns-open", "size": 14},
                                     name=f"{SUPPRESSED} = suppressed"), 1, 1)
        trend = published_values(b.trend, TREND_STATUS)
        for column, label in TREND_SERIES:
            name = label or result.la.la_name
            fig.add_trace(go.Scatter(x=trend["year"], y=_numbers(list(trend[column])),
                                     name=name), 1, 2)
            years = list(trend["year"][trend[column] == SUPPRESSED])
            if years:
                fig.add_trace(go.Scatter(x=years, y=[0] * len(years), mode="markers+text",
                                         text=[SUPPRESSED] * len(years), textposition="top center",
                                         marker={"symbol": "line-ew-open", "size": 14},
                                         name=f"{name}: {SUPPRESSED} = suppressed"), 1, 2)
        fig.update_layout(title=f"{b.indicator.label} ({b.year})", height=420)
        plot = fig.to_html(full_html=False, include_plotlyjs=(i == 0))
        table = trend.drop(columns="indicator_id", errors="ignore").to_html(
            index=False, na_rep=NOT_PUBLISHED,
            float_format=lambda v: f"{v:,.1f}", classes="data")
        sections.append(f"<section>{plot}<h3>Data</h3>{table}"
                        f"<p>{html.escape(MARKER_NOTE)} Source: "
                        f"{html.escape(b.indicator.source)}</p></section>")
    title = html.escape(f"Benchmark: {result.la.la_name}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:Arial,sans-serif;margin:2em;color:#0b0c0c}"
            "table.data{border-collapse:collapse}table.data td,table.data th"
            "{border:1px solid #b1b4b6;padding:4px 8px;text-align:right}</style></head>"
            f"<body><h1>{title}</h1>" + "".join(sections) + "</body></html>")
