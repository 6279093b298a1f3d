"""`sf-benefits forecast`: the baseline forecast of children looked after at 31 March for every LA."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sf_benefits.cli.common import console, csv_text, fail, open_store, output_file
from sf_benefits.project import DEFAULT_METHOD


class ForecastFormat(StrEnum):
    """How the forecast is written."""

    table = "table"
    csv = "csv"


def forecast(
    all_las: Annotated[bool, typer.Option("--all-las", help="Forecast every LA in the store")]
    = False,
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=10,
                                         help="Years after the last year in the store")] = 3,
    output: Annotated[ForecastFormat, typer.Option("--format")] = ForecastFormat.table,
    out: Annotated[Path | None, typer.Option("--out", help="Write the forecast here")] = None,
    method: Annotated[str, typer.Option(
        "--method", help="Demand method (default: the backtest's pick)")] = DEFAULT_METHOD,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """P10/P50/P90 of children looked after at 31 March for each LA and each year after the last
    year in the store, under the codes LAs have in those years (columns la_code, la_name, year,
    p10, p50, p90)."""
    from sf_benefits.project.demand import METHODS, DemandModelError
    from sf_benefits.project.national import forecast_all_las
    from sf_benefits.store import queries

    if not all_las:
        raise fail("say --all-las: the forecast learns from, and is written for, every LA")
    if out is not None:
        output_file(out)
    if method not in METHODS:
        raise fail(f"unknown method {method}; choose from {', '.join(METHODS)}")
    store = open_store(database_url)
    try:
        history = queries.demand_history(store)
        names = dict(queries.local_authorities(store)[["la_code", "la_name"]].itertuples(
            index=False, name=None))
        changes = queries.boundary_changes(store)
    finally:
        store.close()
    if history.empty:
        raise fail("the store holds no CLA history: run `sf-benefits data load` first")
    try:
        result = forecast_all_las(history, horizon, names, changes, method=method)
    except DemandModelError as error:
        raise fail(str(error)) from None
    if output is ForecastFormat.csv:
        text = csv_text(result.table)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
    else:
        table = Table("LA code", "LA", "Year", "P10", "P50", "P90",
                      title=f"Children looked after at 31 March, {method} forecast from "
                            f"{result.last_year}")
        for row in result.table.itertuples(index=False):
            table.add_row(str(row.la_code), str(row.la_name), str(row.year), f"{row.p10:,.0f}",
                          f"{row.p50:,.0f}", f"{row.p90:,.0f}")
        console.print(table)
    report = typer.echo if out is not None or output is ForecastFormat.table else _stderr
    report(f"{result.table['la_code'].nunique()} LAs, years {result.years[0]}-{result.years[-1]}, "
           f"method {method}" + (f"; written to {out}" if out is not None else ""))
    for note in result.notes:
        report(f"note: {note}")
    for row in result.not_forecast.itertuples(index=False):
        report(f"not forecast: {row.la_code}: {row.reason}")


def _stderr(message: str) -> None:
    typer.echo(message, err=True)
