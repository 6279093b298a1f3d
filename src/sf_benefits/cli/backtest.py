"""`sf-benefits backtest`: score the demand models on every LA and forecast origin in the store."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sf_benefits.cli.common import (
    console,
    csv_text,
    fail,
    open_store,
    output_file,
    progress_bar,
    resolve_authority,
    write_csv,
)
from sf_benefits.project.defaults import BACKTEST_METHODS, DEMAND_METHODS

if TYPE_CHECKING:
    import pandas as pd

    from sf_benefits.project.backtest import BacktestResult


class BacktestFormat(StrEnum):
    """How the accuracy summary is written."""

    table = "table"
    csv = "csv"


def parse_methods(values: list[str] | None) -> list[str]:
    """Method names from repeated and/or comma-separated options (default: all but arima)."""
    if not values:
        return list(BACKTEST_METHODS)
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [n for n in names if n not in DEMAND_METHODS]
    if unknown:
        raise fail(f"unknown method(s) {', '.join(unknown)}; choose from "
                   f"{', '.join(DEMAND_METHODS)}")
    return names


def _number(value: Any, pattern: str) -> str:
    number = float(value)
    return "–" if math.isnan(number) else pattern.format(number)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def render_table(result: BacktestResult, title: str) -> Table:
    """The accuracy table: one row per method and horizon."""
    coverage = f"coverage_{result.level}"
    table = Table("Method", "Years ahead", "MAPE", "MASE", f"{result.level}% interval coverage",
                  "Forecasts", title=title)
    previous = None
    for row in _records(result.summary):
        method = str(row["method"])
        table.add_row(method if method != previous else "", str(row["horizon"]),
                      _number(row["MAPE"], "{:.1f}%"), _number(row["MASE"], "{:.2f}"),
                      _number(float(row[coverage]) * 100, "{:.0f}%"),
                      f"{int(row['n_forecasts']):,}")
        previous = method
    return table


def describe(result: BacktestResult, scope: str) -> str:
    """One line saying what was backtested."""
    origins = result.origins
    span = f"origins {origins[0]}–{origins[1]}" if origins else "no usable origin"
    return (f"Backtest of children looked after at 31 March, {scope}: {result.n_las} LA(s), "
            f"{span}, at least {result.min_train_years} years of history before each origin")


def backtest(
    la: Annotated[str | None, typer.Option("--la", help="One LA: name, 3-digit or GSS code")]
    = None,
    methods: Annotated[list[str] | None, typer.Option(
        "--methods", help=f"Methods, comma-separated or repeated, from "
        f"{', '.join(DEMAND_METHODS)} (default: {', '.join(BACKTEST_METHODS)})")]
    = None,
    output: Annotated[BacktestFormat, typer.Option("--format")] = BacktestFormat.table,
    out: Annotated[Path | None, typer.Option(help="Write the summary (csv) or table here")]
    = None,
    forecasts_out: Annotated[Path | None, typer.Option(
        "--forecasts-out", help="Also write every scored forecast as CSV")] = None,
    min_train_years: Annotated[int, typer.Option(help="Years of history before an origin")] = 5,
    by_placement: Annotated[bool, typer.Option(help="Also score CLA by placement type")] = False,
    database_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Score the demand methods on the past: MAPE, MASE and 80% interval coverage 1–3 years ahead.

    Projects from every past origin and compares with what happened, by method and horizon, with
    naive and linear-trend benchmarks; with --la, only that LA is scored, and a method that
    learns across LAs still learns from every LA."""
    from sf_benefits.project.backtest import run_backtest
    from sf_benefits.store import queries

    chosen = parse_methods(methods)
    for path in (out, forecasts_out):
        if path is not None:
            output_file(path)
    store = open_store(database_url)
    la_codes = None
    scope = "all LAs"
    if la is not None:
        authority = resolve_authority(store, la)
        la_codes = [authority.la_code]
        scope = f"{authority.la_name} ({authority.la_code})"
    history = queries.demand_history(store)
    if history.empty or (la_codes is not None and not history["la_code"].isin(la_codes).any()):
        raise fail("the store holds no CLA history for this selection: run `sf-benefits data "
                   "load` first")
    with progress_bar("Backtesting") as progress:
        result = run_backtest(history, methods=chosen, horizons=(1, 2, 3),
                              min_train_years=min_train_years, la_codes=la_codes,
                              by_placement=by_placement, progress=progress)
    if result.forecasts.empty:
        raise fail(f"no forecast could be scored: each LA needs more than {min_train_years} "
                   "recorded years of CLA at 31 March")
    if forecasts_out is not None:
        write_csv(result.forecasts, forecasts_out)
    if output is BacktestFormat.csv:
        text = csv_text(result.summary)
        if by_placement and result.placement_summary is not None:
            text += "\n" + csv_text(result.placement_summary)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
        return
    console.print(describe(result, scope), soft_wrap=True, highlight=False)
    table = render_table(result, "Accuracy by method and years ahead (total CLA at 31 March)")
    console.print(table)
    if by_placement and result.placement_summary is not None:
        console.print(_placement_table(result.placement_summary, result.level))
    if not result.skipped.empty:
        counts = result.skipped.groupby("method").size()
        console.print("Not scored (history unusable for the method): "
                      + ", ".join(f"{m} {n}" for m, n in counts.items()))
    best = result.best_method()
    if best is not None:
        console.print(_best_method_text(result, best), highlight=False)
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            Console(file=handle, width=140).print(table)


def _best_method_text(result: BacktestResult, best: str) -> str:
    """Which method `--method auto` picks and why, naming any with a lower MASE it passed over
    because its 80% intervals held too few outcomes."""
    from sf_benefits.project.backtest import MIN_COVERAGE_80

    scores = result.mean_mase().dropna()
    coverage = result.summary.groupby("method")["coverage_80"].mean()
    passed_over = [f"{m} (MASE {scores[m]:.2f}, intervals held {coverage.get(m, 0.0):.2%})"
                   for m in scores.index[:list(scores.index).index(best)]]
    if not passed_over:
        return (f"Lowest mean MASE over 1–3 years: [bold]{best}[/] "
                "(what `--method auto` would pick)")
    return (f"Lowest mean MASE over 1–3 years among methods whose 80% intervals held at least "
            f"{MIN_COVERAGE_80:.0%} of outcomes: [bold]{best}[/] (what `--method auto` would "
            f"pick); passed over: {', '.join(passed_over)}")


def _placement_table(summary: pd.DataFrame, level: int) -> Table:
    table = Table("Method", "Placement", "Years ahead", "MAPE", "MASE",
                  f"{level}% coverage", "Forecasts", title="By placement type")
    for row in _records(summary):
        table.add_row(str(row["method"]), str(row["placement"]), str(row["horizon"]),
                      _number(row["MAPE"], "{:.1f}%"), _number(row["MASE"], "{:.2f}"),
                      _number(float(row[f"coverage_{level}"]) * 100, "{:.0f}%"),
                      f"{int(row['n_forecasts']):,}")
    return table
