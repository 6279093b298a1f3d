"""Charts of a benchmark result: a PNG for documents and a self-contained interactive HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

from sf_benefits.benchmark.engine import BenchmarkResult, IndicatorBenchmark  # noqa: E402


def _bars(b: IndicatorBenchmark, la_name: str) -> tuple[list[str], list[float | None]]:
    names = [la_name, *b.neighbour_values["la_name"]]
    values = [b.la_value, *b.neighbour_values["value"]]
    return names, values


@matplotlib.rc_context({"text.parse_math": False})
def benchmark_chart_png(result: BenchmarkResult, path: Path) -> None:
    """One row per indicator: the LA and its neighbours (bars) and the trend (lines); names are
    drawn as typed, a "$" never starting mathtext."""
    rows = len(result.indicators)
    fig, axes = plt.subplots(rows, 2, figsize=(13, 3.2 * rows), squeeze=False)
    for (bar_ax, trend_ax), b in zip(axes, result.indicators, strict=True):
        names, values = _bars(b, result.la.la_name)
        heights = [v if v is not None else 0 for v in values]
        colours = ["#1d70b8" if i == 0 else "#b1b4b6" for i in range(len(names))]
        bar_ax.barh(names[::-1], heights[::-1], color=colours[::-1])
        for y, v in enumerate(values[::-1]):
            if v is None:
                bar_ax.text(0, y, " suppressed / not published", va="center", fontsize=7)
        for value, label, style in ((b.neighbour_mean, "neighbour mean", "--"),
                                    (b.england_value, "England", ":")):
            if value is not None:
                bar_ax.axvline(value, color="#0b0c0c", linestyle=style, label=label)
        bar_ax.set_title(f"{b.indicator.label} ({b.year})", fontsize=9)
        bar_ax.tick_params(labelsize=7)
        bar_ax.legend(fontsize=7)
        trend = b.trend
        for column, label in (("la", result.la.la_name), ("neighbour_mean", "neighbour mean"),
                              ("region", "region"), ("england", "England")):
            trend_ax.plot(trend["year"], trend[column], marker="o", label=label)
        trend_ax.set_title(f"Trend: {b.indicator.unit}", fontsize=9)
        trend_ax.tick_params(labelsize=7)
        trend_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def benchmark_chart_html(result: BenchmarkResult) -> str:
    """A standalone HTML page (plotly inlined, no external requests), a data table under each chart."""
    sections = []
    for i, b in enumerate(result.indicators):
        fig = make_subplots(rows=1, cols=2, subplot_titles=("LA and neighbours", "Trend"))
        names, values = _bars(b, result.la.la_name)
        fig.add_trace(go.Bar(x=values, y=names, orientation="h", name=b.indicator.unit), 1, 1)
        for column, label in (("la", result.la.la_name), ("neighbour_mean", "neighbour mean"),
                              ("region", "region"), ("england", "England")):
            fig.add_trace(go.Scatter(x=b.trend["year"], y=b.trend[column], name=label), 1, 2)
        fig.update_layout(title=f"{b.indicator.label} ({b.year})", height=420)
        plot = fig.to_html(full_html=False, include_plotlyjs=(i == 0))
        table = b.trend.to_html(index=False, na_rep="–", float_format=lambda v: f"{v:,.1f}",
                                classes="data")
        sections.append(f"<section>{plot}<h3>Data</h3>{table}"
                        f"<p>Source: {html.escape(b.indicator.source)}</p></section>")
    title = html.escape(f"Benchmark: {result.la.la_name}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:Arial,sans-serif;margin:2em;color:#0b0c0c}"
            "table.data{border-collapse:collapse}table.data td,table.data th"
            "{border:1px solid #b1b4b6;padding:4px 8px;text-align:right}</style></head>"
            f"<body><h1>{title}</h1>" + "".join(sections) + "</body></html>")
