"""`sf-benefits sweep`: every LA x every innovation model on Dask, with national totals."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from sf_benefits.cli.common import console, errors, fail, open_store
from sf_benefits.cli.project import money_text
from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_PRICE_BASE, DEFAULT_SEED

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

    from sf_benefits.project.sweep import LAInput, SweepReport

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def sweep(
    out: Annotated[Path, typer.Option("--out", help="Folder for the sweep's tables, part files "
                                                    "and manifest (resumes a sweep there)")],
    all_las: Annotated[bool, typer.Option("--all-las", help="Every current LA in the store")] = False,
    la: Annotated[list[str] | None, typer.Option(
        "--la", help="An LA code to include (repeat for several)")] = None,
    returns: Annotated[Path | None, typer.Option(
        "--returns", help="Child-level: a folder with one sub-folder of SSDA903 returns per LA")
    ] = None,
    models: Annotated[str, typer.Option(
        "--models", help="'all' or a comma-separated list of innovation models")] = "all",
    draws: Annotated[int, typer.Option("--draws", min=1, help="Monte Carlo draws per LA")] = 10_000,
    seed: Annotated[int, typer.Option("--seed")] = DEFAULT_SEED,
    years: Annotated[int, typer.Option("--years", min=1, help="Years to project")] = 5,
    method: Annotated[str, typer.Option(
        "--method", help="Demand method, LA level (see `sf-benefits project --help`)")
    ] = DEFAULT_METHOD,
    price_base: Annotated[str, typer.Option("--price-base")] = DEFAULT_PRICE_BASE,
    sensitivity: Annotated[bool, typer.Option(
        "--sensitivity", help="Also each LA's one-at-a-time sensitivity (slower)")] = False,
    overrides: Annotated[Path | None, typer.Option(
        "--overrides", help="YAML or CSV of values replacing defaults, for every LA")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who supplied the overrides")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write every table as CSV")] = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help=f"Dask scheduler address, e.g. tcp://host:8786 (or set {SCHEDULER_ENV});"
                            " default: a local cluster sized to this machine")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Workers of the local cluster (default: one per CPU core)")] = None,
    serial: Annotated[bool, typer.Option("--serial", help="Run in this process, without Dask")
                      ] = False,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries of a failed LA")] = 2,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Appraise every LA under every model (Monte Carlo P10/P50/P90), with regional and national
    totals and the assumptions that matter most for England's NPV; resumable."""
    from sf_benefits.assumptions import AssumptionError, load_overrides
    from sf_benefits.project.sweep import MODELS, SweepSettings, run_sweep, write_outputs

    chosen = MODELS if models == "all" else tuple(m.strip() for m in models.split(",") if m.strip())
    unknown = sorted(set(chosen) - set(MODELS))
    if unknown:
        raise fail(f"unknown model(s) {unknown}; choose from {list(MODELS)} or 'all'")
    try:
        loaded, file_by = load_overrides(overrides) if overrides else (None, None)
    except AssumptionError as error:
        raise fail(str(error)) from None
    settings = SweepSettings(models=chosen, n_draws=draws, seed=seed, horizon=years, method=method,
                             price_base_year=price_base, sensitivity=sensitivity,
                             overrides=loaded, overrides_by=by or file_by)
    inputs, panel = _inputs(all_las, la, returns, database_url)
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    with ExitStack() as stack:
        client = None if serial else _client(stack, address, workers)
        where = "in this process" if client is None else f"on Dask ({_describe(client)})"
        console.print(f"Sweeping {len(inputs)} LA(s) x {len(chosen)} model(s), {draws:,} draws, "
                      f"seed {seed}, {where}")
        try:
            report = run_sweep(inputs, settings, out, client=client, retries=retries,
                               progress=True, panel=panel)
        except ValueError as error:
            raise fail(str(error)) from None
    written = write_outputs(report, csv=csv)
    _render(report, price_base)
    console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")
    if report.failed or report.results.empty:
        raise typer.Exit(1)


def _inputs(all_las: bool, la: list[str] | None, returns: Path | None,
            database_url: str | None) -> tuple[list[LAInput], pd.DataFrame | None]:
    """The LAs' inputs and the panel of every LA's history (None for SSDA903 returns), read
    here: workers never open the store."""
    from sf_benefits.ingest.ssda903 import PseudonymKeyError
    from sf_benefits.ingest.ssda903.load import pseudonym_key, read_returns_by_la
    from sf_benefits.project.inputs import projection_data
    from sf_benefits.project.sweep import inputs_from_returns, inputs_from_store
    from sf_benefits.store import queries

    if sum([all_las, bool(la), returns is not None]) != 1:
        raise fail("give exactly one of --all-las, --la CODE or --returns FOLDER")
    store = open_store(database_url)
    try:
        if returns is not None:
            return inputs_from_returns(read_returns_by_la(returns, pseudonym_key()),
                                       queries.local_authorities(store)), None
        found = inputs_from_store(store, la or None)
        panel = projection_data(store).panel
    except (ValueError, PseudonymKeyError) as error:
        raise fail(str(error)) from None
    finally:
        store.close()
    if not found:
        raise fail("the store holds no LA; run `sf-benefits data load` first")
    return found, panel


def _client(stack: ExitStack, address: str | None, workers: int | None) -> Client:
    """A client of the cluster at `address`, or of a local cluster (one single-threaded worker
    process per core: the appraisal is numpy and pandas work that holds the GIL in places)."""
    from distributed import Client, LocalCluster

    if address:
        return stack.enter_context(Client(address))
    cluster = stack.enter_context(
        LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1))
    return stack.enter_context(Client(cluster))


def _describe(client: Client) -> str:
    info = client.scheduler_info()
    threads = sum(w["nthreads"] for w in info["workers"].values())
    return f"{info['address']}, {len(info['workers'])} worker(s), {threads} thread(s)"


def _render(report: SweepReport, price_base: str) -> None:
    results = report.results
    england = (results[(results["level"] == "country")
                       & (results["measure"] == "net_present_value")]
               if not results.empty else results)
    table = Table("Model", "England NPV P10", "P50", "P90",
                  title=f"England: net present value (£, {price_base} prices)")
    for row in england.to_dict("records"):
        table.add_row(str(row["model"]), money_text(float(row["p10"])),
                      money_text(float(row["p50"])), money_text(float(row["p90"])))
    console.print(table)
    if not report.variance.empty:
        table = Table("Model", "Rank", "Assumption", "Share of NPV variance",
                      title="What drives the uncertainty of England's NPV")
        for row in report.variance.to_dict("records"):
            table.add_row(str(row["model"]), str(row["rank"]), str(row["assumption"]),
                          f"{float(row['share_of_variance']):.1%}")
        console.print(table)
    runs = report.runs
    apart = runs[(runs["status"] == "ok") & ~runs["in_totals"]] if not runs.empty else runs
    for row in apart.to_dict("records"):
        console.print(f"Not in the totals: {row['la_code']} {row['model']} (projection starts "
                      f"{row['first_financial_year']}: its published data end earlier)")
    refused = runs[runs["status"] != "ok"] if not runs.empty else runs
    for row in refused.to_dict("records"):
        errors.print(f"[yellow]Refused:[/] {row['la_code']} {row['model']}: {row['reason']}")
    for code, error in report.failed.items():
        errors.print(f"[red]Failed after retries:[/] {code}: {error}")
    if report.resumed:
        console.print(f"Resumed: {report.resumed} LA(s) were already finished in this folder")
