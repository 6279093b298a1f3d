"""`sf-benefits report`: run the benchmark and projection (and tracking, where the LA has an
implementation of the model) and render them as an Excel workbook, HTML report or PDF paper."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from sf_benefits.cli.common import (
    console,
    default_output,
    errors,
    fail,
    open_store,
    output_file,
    projection_errors,
    require_care_history,
    resolve_authority,
)
from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_PRICE_BASE, DEFAULT_SEED

if TYPE_CHECKING:
    from sf_benefits.store import Store
    from sf_benefits.track.realised import RealisedBenefit


class ReportFormatChoice(StrEnum):
    """The export formats of `sf-benefits report`."""

    xlsx = "xlsx"
    html = "html"
    pdf = "pdf"


def default_report_path(la_name: str, model: str, report_format: str) -> Path:
    """`<la>-<model>-report.<format>` in the output folder, safe as a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{la_name} {Path(model).stem}".lower()).strip("-")
    return default_output(f"{slug or 'report'}-report.{report_format}")


def _realised_benefit(store: Store, la_code: str, model: str) -> RealisedBenefit | None:
    """The realised benefit of the LA's implementation of `model`, if one is recorded."""
    from sf_benefits.track import TrackError, list_implementations, realised_for

    matches = [i for i in list_implementations(store)
               if i.la_code == la_code and i.model == Path(model).stem]
    if not matches:
        return None
    latest = max(matches, key=lambda i: i.recorded_at)
    try:
        return realised_for(store, latest.implementation_id)
    except TrackError as error:
        errors.print(f"[yellow]Tracking left out:[/] {escape(str(error))}", highlight=False)
        return None


def report(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    model: Annotated[str, typer.Option(
        "--model", help="family_safeguarding, family_valued, no_wrong_door or a YAML file of a "
                        "custom model")],
    report_format: Annotated[ReportFormatChoice, typer.Option(
        "--format", help="xlsx (workbook), html (interactive report) or pdf (board paper)")
    ] = ReportFormatChoice.xlsx,
    out: Annotated[Path | None, typer.Option(
        "--out", help="File to write, ending in the format's suffix (default: "
                 "out/<la>-<model>-report.<format>)")] = None,
    years: Annotated[int, typer.Option("--years", min=1, max=30, help="Years to project")] = 5,
    draws: Annotated[int, typer.Option("--draws", min=1, help="Monte Carlo draws")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = DEFAULT_SEED,
    method: Annotated[str, typer.Option(
        "--method", help="Demand method (see `sf-benefits project --help`)")] = DEFAULT_METHOD,
    price_base: Annotated[str, typer.Option(
        "--price-base", help="Financial year of the £")] = DEFAULT_PRICE_BASE,
    overrides: Annotated[Path | None, typer.Option(
        "--overrides", help="YAML or CSV of the LA's own values (id: {value, source, ...})"),
    ] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Who supplied the overrides (recorded with each)")] = None,
    neighbours: Annotated[str, typer.Option(
        "--neighbours", help="published (DfE/NFER) or computed")] = "published",
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Write a report for one LA and one innovation: benchmark, projection, money, assumptions."""
    from sf_benefits.benchmark import benchmark_la
    from sf_benefits.project.inputs import projection_data
    from sf_benefits.reports import ReportInput, build_report

    if neighbours not in ("published", "computed"):
        raise fail("--neighbours must be 'published' or 'computed'")
    if out is not None:
        output_file(out, f".{report_format.value}")
    store = open_store(database_url)
    try:
        authority = resolve_authority(store, la)
        with projection_errors(model):
            with console.status("Benchmarking against neighbours…"):
                benchmark = benchmark_la(store, authority, neighbours=neighbours)
                data = projection_data(store)
            require_care_history(store, data, authority.la_code, authority.la_name)
            with console.status(f"Projecting {draws:,} draws over {years} years…"):
                projection = data.project(
                    authority.la_code, model=model, horizon=years, method=method,
                    n_draws=draws, seed=seed, price_base_year=price_base, overrides=overrides,
                    overrides_by=by)
        realised = _realised_benefit(store, authority.la_code, model)
    finally:
        store.close()

    target = output_file(out or default_report_path(authority.la_name, model,
                                                    report_format.value))
    with console.status(f"Writing the {report_format.value} report…"):
        written = build_report(
            ReportInput(benchmark, projection, tracking=realised), report_format.value, target)
    console.print(escape(f"Wrote {written} ({authority.la_name}, {projection.model_title}, "
                         f"£ {projection.price_base_year} prices; counts from 1 to 5 "
                         "suppressed)"), highlight=False)
