"""`sf-benefits benchmark` and `sf-benefits neighbours`: render the benchmark engine's results."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from sf_benefits.cli.common import (
    console,
    csv_text,
    default_output,
    embedded_or_store,
    fail,
    open_store,
    output_file,
    resolve_authority,
    write_csv,
)

if TYPE_CHECKING:
    from sf_benefits.benchmark import BenchmarkResult
    from sf_benefits.benchmark.engine import IndicatorBenchmark

CHART_SUFFIXES = (".png", ".html")


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"


class NeighbourSource(StrEnum):
    published = "published"
    computed = "computed"


def format_value(value: float | str | None, unit: str) -> str:
    """A value as a finance reader expects it: £ with separators, % with one decimal place;
    "c" where the publisher suppressed it, "–" where there is none."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit.startswith("GBP"):
        return f"£{value:,.0f}"
    if unit == "%":
        return f"{value:.1f}%"
    return f"{value:,.1f}"


WIDE_TABLE_COLUMNS = 150
"""Below this terminal width the benchmark prints one block per indicator instead of a table."""


def _render_table(result: BenchmarkResult) -> None:
    from sf_benefits.benchmark.engine import MARKER_NOTE, shown

    la = result.la
    console.print(f"[bold]{la.la_name}[/] ({la.la_code}, {la.old_la_code}) — {la.region_name}; "
                  f"neighbours: {result.neighbour_model}")
    console.print("Neighbours: " + ", ".join(n.la_name for n in result.neighbours))
    if console.width < WIDE_TABLE_COLUMNS:
        _render_blocks(result)
    else:
        table = Table("Indicator", "Year", la.la_name, "Neighbour mean", "Neighbour median",
                      "Region", "England", "Rank (neighbours)", "Rank (England)", "Band",
                      "Trend")
        for b in result.indicators:
            unit = b.indicator.unit
            table.add_row(
                b.indicator.label, str(b.year or "–"),
                format_value(shown(b.la_value, b.la_status), unit),
                format_value(b.neighbour_mean, unit), format_value(b.neighbour_median, unit),
                format_value(shown(b.region_value, b.region_status), unit),
                format_value(shown(b.england_value, b.england_status), unit),
                _rank(b.rank_among_neighbours, b.neighbours_ranked),
                _rank(b.national_rank, b.las_ranked), b.quartile_band or "–", _trend(b) or "–")
        console.print(table)
    console.print("Rank 1 and band A are best for indicators with a polarity; for neutral "
                  f"indicators they mark the lowest values. {MARKER_NOTE} "
                  "Every column: --format csv or xlsx.", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}")


def _rank(rank: int | None, of: int | None) -> str:
    return f"{rank} of {of}" if rank else "–"


def _trend(b: IndicatorBenchmark) -> str:
    """The LA's last four figures up to the benchmark's year (later years are not its trend)."""
    from sf_benefits.benchmark.engine import shown

    shown_la = [v for v in (shown(t.la, t.la_status) for t in b.trend_rows
                            if b.year is None or t.year <= b.year) if v is not None]
    return " → ".join(format_value(v, b.indicator.unit) for v in shown_la[-4:])


def _render_blocks(result: BenchmarkResult) -> None:
    """One short block per indicator, readable in an 80-column terminal."""
    from sf_benefits.benchmark.engine import shown

    la = result.la
    for b in result.indicators:
        unit = b.indicator.unit
        console.print(f"\n[bold]{b.indicator.label}[/] ({b.year or 'no year'})", highlight=False)
        console.print(
            f"  {la.la_name} [bold]{format_value(shown(b.la_value, b.la_status), unit)}[/] · band "
            f"{b.quartile_band or '–'} · rank {_rank(b.national_rank, b.las_ranked)} in England, "
            f"{_rank(b.rank_among_neighbours, b.neighbours_ranked)} neighbours", highlight=False)
        console.print(
            f"  Neighbours {format_value(b.neighbour_mean, unit)} (median "
            f"{format_value(b.neighbour_median, unit)}) · {la.region_name or 'Region'} "
            f"{format_value(shown(b.region_value, b.region_status), unit)} · England "
            f"{format_value(shown(b.england_value, b.england_status), unit)}", highlight=False)
        trend = _trend(b)
        if trend:
            console.print(f"  Trend {trend}", highlight=False)


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
    from sf_benefits import config
    from sf_benefits.benchmark import indicators
    from sf_benefits.benchmark.authorities import all_authorities
    from sf_benefits.benchmark.engine import benchmark_from_tables
    from sf_benefits.benchmark.table_cache import cached_indicator_tables

    if chart is not None:
        output_file(chart, *CHART_SUFFIXES)
    if out is not None:
        if output is OutputFormat.table:
            raise fail("--out needs --format csv or xlsx")
        output_file(out, f".{output.value}")
    unknown = [i for i in indicator or [] if i not in indicators()]
    if unknown:
        raise fail(f"unknown indicator(s) {', '.join(unknown)}; choose from "
                   f"{', '.join(indicators())}")
    with embedded_or_store(database_url,
                           embedded=neighbours is NeighbourSource.published) as store:
        authority = resolve_authority(store, la)
        try:
            tables = cached_indicator_tables(store, database_url or config.database_url(),
                                             config.data_dir() / "cache")
            result = benchmark_from_tables(
                store, all_authorities(store), {i: tables[i] for i in indicator or indicators()},
                authority, year, neighbours.value, neighbour_model)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    _check_year(result, year)
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
        from sf_benefits.reports.benchmark_workbook import write_benchmark_workbook

        path = output_file(out or default_output(
            f"{result.la.la_name.lower().replace(' ', '-')}-benchmark.xlsx"))
        write_benchmark_workbook(result, path)
        console.print(f"Wrote {path}" if out else f"Wrote {path.resolve()} (give --out to choose)")
    if chart:
        from sf_benefits.benchmark.charts import benchmark_chart_html, benchmark_chart_png

        if chart.suffix.lower() == ".html":
            chart.write_text(benchmark_chart_html(result), encoding="utf-8")
        else:
            benchmark_chart_png(result, chart)
        console.print(f"Wrote {chart}")


def _check_year(result: BenchmarkResult, year: int | None) -> None:
    """Refuse a --year for which the store holds no figure at all, naming the years it holds."""
    if year is None:
        return
    held = sorted({t.year for b in result.indicators for t in b.trend_rows})
    if year not in held:
        span = f"{held[0]} to {held[-1]}" if held else "none"
        raise fail(f"no published figures for the year ending 31 March {year} in the store "
                   f"(years held: {span}); see `sf-benefits data status`")


def add_commands(app: typer.Typer) -> None:
    """Add `benchmark` and `neighbours` to the `sf-benefits` command group."""
    app.command("benchmark")(benchmark)
    app.command("neighbours")(neighbours_command)


def neighbours_command(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    model: Annotated[str | None, typer.Option(help="Published model (default: newest)")] = None,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Published and computed statistical neighbours side by side, with their overlap."""
    from sf_benefits.benchmark.neighbours import compare_neighbours

    store = open_store(database_url)
    target = resolve_authority(store, la)
    try:
        table = compare_neighbours(store, target.la_code, model)
    except ValueError as exc:
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
    if table.attrs["why_no_computed"]:
        console.print(f"Note: {table.attrs['why_no_computed']}.", highlight=False)
    else:
        console.print(f"In both lists (✓): {table.attrs['overlap']} of 10")
