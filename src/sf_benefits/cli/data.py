"""`sf-benefits data …`: load published files into the store, fetch them, show what is loaded."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from sf_benefits import config
from sf_benefits.cli.common import console, csv_text, fail, open_store, progress_bar

app = typer.Typer(help="Load, fetch and inspect the published data.", no_args_is_help=True)

MISSING_DATA = (
    "No data directory at {path}.\n"
    "  Get the official files with:   sf-benefits data fetch --to {path}\n"
    "  or point at a copy with:       sf-benefits data load --from DIR  "
    "(or set SF_BENEFITS_SOURCE_DIR)"
)


@app.command("load")
def load(
    source: Annotated[Path | None, typer.Option("--from", help="Directory of published files "
                                                "(default: ../shared/data)")] = None,
    database_url: Annotated[str | None, typer.Option(help="Store URL (default: embedded)")] = None,
) -> None:
    """Load DfE tidy CSVs, LAIT, ONS population and the lookups; all or nothing, idempotent."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.ingest.loader import discover, load_directory

    directory = source or config.default_source_dir()
    if not directory.is_dir():
        raise fail(MISSING_DATA.format(path=directory))
    if not discover(directory):
        raise fail(f"no data files (CSV, XLSX, Parquet) in {directory}: nothing loaded.\n"
                   + MISSING_DATA.split("\n", 1)[1].format(path=directory))
    try:
        with progress_bar("Loading") as progress:
            report = load_directory(lambda: open_store(database_url), directory, progress)
    except IngestError as exc:
        raise fail(str(exc)) from exc
    if not report.files:
        _print_skipped(report.skipped)
        raise fail(f"none of the {len(report.skipped)} files in {directory} is a published "
                   "table SF Benefits reads (DfE tidy CSV, LA lookup, neighbours, population, "
                   "LAIT): no figures loaded")
    console.print(f"Loaded {report.observations:,} observations for "
                  f"{report.local_authorities} LAs from "
                  f"{sum(len(v) for v in report.files.values())} files into {report.store}")
    if report.neighbour_models:
        console.print(f"Statistical neighbour models: {', '.join(report.neighbour_models)}")
    _print_skipped(report.skipped)
    _prepare_benchmark_tables(database_url)


def _prepare_benchmark_tables(database_url: str | None) -> None:
    """Build the benchmark's national tables of the data just loaded, so that the first
    benchmark reads them from the cache like every later one."""
    from sf_benefits.benchmark.table_cache import cached_indicator_tables

    store = open_store(database_url)
    try:
        with console.status("Preparing the benchmark tables"):
            cached_indicator_tables(store, database_url or config.database_url(),
                                    config.data_dir() / "cache")
    finally:
        store.close()


def _print_skipped(paths: list[str]) -> None:
    """One line naming the files a load did not read (tables no reader is for)."""
    if paths:
        console.print(f"[yellow]Not read[/] ({len(paths)} files, tables SF Benefits does not "
                      "use): " + ", ".join(Path(p).name for p in paths), highlight=False)


@app.command("fetch")
def fetch_command(
    to: Annotated[Path | None, typer.Option(help="Directory to write (default: "
                                            "SF_BENEFITS_SOURCE_DIR or ../shared/data)")] = None,
    base_url: Annotated[str | None, typer.Option(help="Mirror to download from instead of "
                                                 "explore-education-statistics")] = None,
) -> None:
    """Download the official published files; nothing is replaced unless every file arrives."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.ingest.fetch import fetch

    directory = to or config.default_source_dir()
    try:
        with progress_bar("Downloading") as progress:
            files = fetch(directory, base_url, progress=progress)
    except IngestError as exc:
        raise fail(str(exc)) from exc
    for item in files:
        console.print(f"{item.name}: {item.bytes:,} bytes, sha256 {item.sha256[:12]}…")
    console.print(f"Now run: sf-benefits data load --from {directory}")


class StatusFormat(StrEnum):
    table = "table"
    csv = "csv"


@app.command("status")
def status(
    output: Annotated[StatusFormat, typer.Option(
        "--format", help="table, or csv: the benchmark indicators' coverage only")
    ] = StatusFormat.table,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List the datasets in the store (source file, rows, load time) and, for every benchmark
    indicator, the files it is read from, its basis, years and LAs in the last year."""
    import pandas as pd
    from sqlalchemy import select

    from sf_benefits.store.schema import data_load

    store = open_store(database_url)
    if output is StatusFormat.csv:
        from sf_benefits.benchmark.tables import indicator_coverage

        console.print(csv_text(indicator_coverage(store)), end="", highlight=False,
                      soft_wrap=True)
        return
    with store.engine.connect() as conn:
        loads = pd.read_sql(select(data_load).order_by(data_load.c.dataset), conn)
    table = Table(Column("dataset", overflow="fold"), Column("rows", no_wrap=True), "loaded at",
                  Column("source file", overflow="fold"), title=f"Store: {store.url}")
    for row in loads.itertuples():
        table.add_row(str(row.dataset), f"{row.rows:,}", str(row.loaded_at)[:19],
                      str(row.source_file))
    console.print(table)
    if loads.empty:
        return
    from sf_benefits.benchmark.tables import indicator_coverage

    found = Table(Column("indicator", overflow="fold"), Column("read from", overflow="fold"),
                  Column("basis", overflow="fold"), Column("years", no_wrap=True),
                  "LAs in last year",
                  title="Benchmark indicators in the store")
    for item in indicator_coverage(store).to_dict("records"):
        years = (f"{item['first_year']}–{item['last_year']}" if pd.notna(item["last_year"])
                 else "[red]not found[/]")
        found.add_row(item["indicator_id"], item["files"] or "–", item["basis"] or "–", years,
                      str(item["las_in_last_year"]))
    console.print(found)
