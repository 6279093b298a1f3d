"""`sf-benefits benchmark` and `sf-benefits neighbours`: render the benchmark engine's results."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sf_benefits.benchmark import BenchmarkResult, UnknownLocalAuthority, benchmark_la, resolve_la
from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.charts import benchmark_chart_html, benchmark_chart_png
from sf_benefits.benchmark.neighbours import compare_neighbours
from sf_benefits.cli.common import console, fail, open_store
from sf_benefits.csv_export import csv_text, write_csv
from sf_benefits.reports.benchmark_workbook import write_benchmark_workbook


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"


class NeighbourSource(StrEnum):
    published = "published"
    computed = "computed"


def format_value(value: float | None, unit: str) -> str:
    """A value as a finance reader expects it: £ with separators, % with one decimal place."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit.startswith("GBP"):
        return f"£{value:,.0f}"
    if unit == "%":
        return f"{value:.1f}%"
    return f"{value:,.1f}"


def _render_table(result: BenchmarkResult) -> None:
    la = result.la
    console.print(f"[bold]{la.la_name}[/] ({la.la_code}, {la.old_la_code}) — {la.region_name}; "
                  f"neighbours: {result.neighbour_model}")
    console.print("Neighbours: " + ", ".join(n.la_name for n in result.neighbours))
    table = Table("Indicator", "Year", la.la_name, "Neighbour mean", "Neighbour median",
                  "Region", "England", "Rank (neighbours)", "Rank (England)", "Band", "Trend")
    for b in result.indicators:
        unit = b.indicator.unit
        trend = b.trend.dropna(subset=["la"])
        spark = " → ".join(format_value(v, unit) for v in trend["la"].tail(4))
        table.add_row(
            b.indicator.label, str(b.year or "–"), format_value(b.la_value, unit),
            format_value(b.neighbour_mean, unit), format_value(b.neighbour_median, unit),
            format_value(b.region_value, unit), format_value(b.england_value, unit),
            f"{b.rank_among_neighbours} of {b.neighbours_ranked}" if b.rank_among_neighbours
            else "–",
            f"{b.national_rank} of {b.las_ranked}" if b.national_rank else "–",
            b.quartile_band or "–", spark or "–")
    console.print(table)
    console.print("Rank 1 and band A are best for indicators with a polarity; for neutral "
                  "indicators they mark the lowest values. '–' means suppressed or not published.")
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}")


def benchmark(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    year: Annotated[int | None, typer.Option(help="Year ending 31 March (default: latest)")] = None,
    indicator: Annotated[list[str] | None, typer.Option(
        "--indicators", help="Indicator ids (repeat); default: all")] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    out: Annotated[Path | None, typer.Option(help="File for csv/xlsx output")] = None,
    chart: Annotated[Path | None, typer.Option(help="Write a chart: .png or .html")] = None,
    neighbours: Annotated[NeighbourSource, typer.Option()] = NeighbourSource.published,
    neighbour_model: Annotated[str | None, typer.Option(help="Published model, e.g. nfer_2021")]
    = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Benchmark an LA against its statistical neighbours, region and England."""
    store = open_store(database_url)
    unknown = [i for i in indicator or [] if i not in indicators()]
    if unknown:
        raise fail(f"unknown indicator(s) {', '.join(unknown)}; choose from "
                   f"{', '.join(indicators())}")
    try:
        result = benchmark_la(store, la, year, indicator or None, neighbours.value,
                              neighbour_model)
    except (UnknownLocalAuthority, ValueError) as exc:
        raise fail(str(exc)) from exc
    if output is OutputFormat.table:
        _render_table(result)
    elif output is OutputFormat.csv:
        summary = result.to_frames()["summary"]
        if out:
            write_csv(summary, out)
            console.print(f"Wrote {out}")
        else:
            console.print(csv_text(summary), end="", highlight=False, soft_wrap=True)
    else:
        path = out or Path(f"{result.la.la_name.lower().replace(' ', '-')}-benchmark.xlsx")
        write_benchmark_workbook(result, path)
        console.print(f"Wrote {path}")
    if chart:
        if chart.suffix.lower() == ".html":
            chart.write_text(benchmark_chart_html(result), encoding="utf-8")
        elif chart.suffix.lower() == ".png":
            benchmark_chart_png(result, chart)
        else:
            raise fail("--chart must end in .png or .html")
        console.print(f"Wrote {chart}")


def neighbours_command(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    model: Annotated[str | None, typer.Option(help="Published model (default: newest)")] = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Published and computed statistical neighbours side by side, with their overlap."""
    store = open_store(database_url)
    try:
        target = resolve_la(store, la)
        table = compare_neighbours(store, target.la_code, model)
    except (UnknownLocalAuthority, ValueError) as exc:
        raise fail(str(exc)) from exc
    from sf_benefits.store.queries import local_authorities

    names = dict(zip(*local_authorities(store)[["la_code", "la_name"]].T.values, strict=True))
    out = Table("Rank", f"Published ({table.attrs['model']})", "Computed",
                title=f"Statistical neighbours of {target.la_name}")
    def show(code: object, both: object) -> str:
        return "" if code is None else f"{names.get(str(code), code)}{' ✓' if both else ''}"

    for row in table.itertuples():
        out.add_row(str(row.rank), show(row.published, row.published_in_both),
                    show(row.computed, row.computed_in_both))
    console.print(out)
    console.print(f"In both lists (✓): {table.attrs['overlap']} of 10")
