"""`sf-benefits ssda903 validate|load|project`: an LA's own SSDA903 returns in the child-level
engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from sf_benefits.cli.common import (
    console,
    embedded_or_store,
    errors,
    fail,
    output_file,
    projection_errors,
    resolve_authority,
    warn,
    write_csv,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sf_benefits.ingest.errors import Problem
    from sf_benefits.project.childlevel import RateScenario
    from sf_benefits.project.childlevel.model import Projection
    from sf_benefits.ssda903_data import EpisodeColumns, Ssda903Data

app = typer.Typer(help="Validate, load and project from an LA's SSDA903 returns (child level).",
                  no_args_is_help=True)

Files = Annotated[list[Path], typer.Argument(
    help="SSDA903 header and episodes files (CSV or XLSX), or folders of them (a year's return, "
         "or a folder of year folders)")]
DatabaseUrl = Annotated[str | None, typer.Option(help="Store URL (default: embedded store).")]
EntryMultiplier = Annotated[float, typer.Option(
    "--entry-multiplier", min=0.0,
    help="Scenario: multiply entries to care by this factor at full effect (1 = baseline).")]
RampYears = Annotated[float, typer.Option(
    "--ramp-years", min=0.0, help="Scenario: years until the entry change is at full effect.")]


def _scenario(entry_multiplier: float, ramp_years: float) -> RateScenario | None:
    from sf_benefits.project.childlevel import RateScenario

    if entry_multiplier == 1.0:
        return None
    return RateScenario(f"entries x {entry_multiplier:g}", entry_multiplier=entry_multiplier,
                        years_to_full_effect=ramp_years)


def _latest(la: str, database_url: str | None, as_columns: bool = False
            ) -> EpisodeColumns | Ssda903Data:
    """The latest load of an LA; `as_columns` reads it from the embedded store as the engine's
    arrays (no pandas), otherwise (or from PostgreSQL) as tables."""
    with embedded_or_store(database_url) as store:
        code = resolve_authority(store, la, code_without_list=True).la_code
        try:
            if as_columns and isinstance(store, sqlite3.Connection):
                from sf_benefits.ingest.ssda903.stored import latest_episode_columns

                return latest_episode_columns(store, code)
            from sf_benefits.ingest.ssda903 import latest_load

            return latest_load(store, code, pseudonyms=False)
        except LookupError as error:
            raise fail(str(error)) from error


def _print_problems(problems: list[Problem], title: str) -> None:
    table = Table(title=title, show_lines=False)
    for column in ("file", "row", "column", "rule", "message"):
        table.add_column(column)
    for problem in problems[:200]:
        where = Path(problem.file)
        table.add_row(f"{where.parent.name}/{where.name}", str(problem.row or ""),
                      problem.column or "",
                      problem.rule, problem.message)
    errors.print(table)
    if len(problems) > 200:
        errors.print(f"... and {len(problems) - 200} more")


@app.command("validate")
def validate(
    files: Files,
    dfe: Annotated[bool, typer.Option(
        "--dfe/--no-dfe", help="Also run every DfE rule with csc-validator-be-903 (installed in "
                               "its own environment on first use).")] = True,
    dfe_warnings: Annotated[bool, typer.Option(
        "--dfe-as-warnings", help="Report DfE rule failures as warnings: exit 0 unless a "
                                  "structural rule fails.")] = False,
    la_code: Annotated[str, typer.Option(
        "--la", help="The LA (name, 3-digit or GSS code), for the DfE location rules.")]
    = "E10000015",
) -> None:
    """Check returns against the structural rules (and the full DfE rules); list every problem.

    Exits 1 when a structural rule fails, when a DfE rule fails (0 with --dfe-as-warnings) and
    when a DfE rule could not be run (it raised)."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.ingest.ssda903 import check_returns, return_files

    paths = return_files(files)
    problems: list[Problem] = []
    try:
        checked = check_returns(paths)
        console.print(f"Structural rules: no problems in {len(checked.episodes)} episodes of "
                      f"{len(checked.children)} children, years "
                      f"{', '.join(map(str, checked.collection_years))}.")
    except IngestError as error:
        problems = error.problems
        _print_problems(problems, "Structural rules (these stop a load)")
    found, failed_rules = _dfe_rules(paths, _gss_code(la_code)) if dfe else ([], False)
    if found and dfe_warnings:
        warn(f"{len(found)} DfE rule failure(s), reported as warnings (--dfe-as-warnings)")
    elif found:
        errors.print(f"{len(found)} DfE rule failure(s): the return would not pass DfE "
                     "validation (--dfe-as-warnings reports them without failing)")
    if problems or failed_rules or (found and not dfe_warnings):
        raise typer.Exit(1)


def _gss_code(la: str) -> str:
    with embedded_or_store() as store:
        return resolve_authority(store, la, code_without_list=True).la_code


def _dfe_rules(paths: list[Path], la_code: str) -> tuple[list[Problem], bool]:
    """The DfE rules' findings (printed) and whether any rule could not be run, building the
    validator's environment first if needed and saying so, since that downloads about 230 MB once."""
    from sf_benefits.ingest.ssda903 import ValidatorUnavailable, dfe_validation
    from sf_benefits.ingest.ssda903.dfe import VALIDATOR_REQUIREMENT, validator_python

    try:
        try:
            python = validator_python(install=False)
        except ValidatorUnavailable:
            errors.print(f"Installing the DfE validator ({VALIDATOR_REQUIREMENT}) in its own "
                         "environment: once, about 230 MB…")
            with console.status("Installing the DfE validator…"):
                python = validator_python()
        with console.status("Running the DfE validation rules…"):
            report = dfe_validation(paths, la_code, python=python)
    except ValidatorUnavailable as error:
        errors.print(f"DfE rules not run: {error}")
        return [], False
    if report.problems:
        _print_problems(report.problems, "DfE validation rules (csc-validator-be-903)")
    console.print(report.summary())
    for year, code, detail in report.failed:
        errors.print(f"DfE rule {code} could not be run on {year}: {detail}")
    return report.problems, bool(report.failed)


@app.command("new-key")
def new_key_command() -> None:
    """Print a new random pseudonymisation key (256 bits) for SF_BENEFITS_PSEUDONYM_KEY.

    Keep it secret and outside the data, and use the same key for every load of the same LA:
    child identifiers are replaced by a keyed hash, so a new key makes new pseudonyms."""
    from sf_benefits.ingest.ssda903 import new_key

    typer.echo(new_key())


@app.command("load")
def load(
    files: Files,
    la_code: Annotated[str, typer.Option(
        "--la", help="LA name, 3-digit code or GSS code (a GSS code before `data load`).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Check, pseudonymise (keyed hash of CHILD) and store returns; all or nothing."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.ingest.ssda903 import (
        PseudonymKeyError,
        prepare_load,
        pseudonym_key,
        return_files,
        store_load,
    )

    try:
        key = pseudonym_key()
    except PseudonymKeyError as error:
        raise fail(str(error)) from error
    try:
        prepared = prepare_load(return_files(files), key)
    except IngestError as error:
        _print_problems(error.problems, "Nothing was loaded")
        raise typer.Exit(1) from error
    # The store is opened only now, so its migrations (on first use) add nothing to the peak.
    with embedded_or_store(database_url) as store:
        authority = resolve_authority(store, la_code, code_without_list=True)
        summary = store_load(store, prepared, authority.la_code)
    console.print(f"Loaded {summary.episodes} episodes of {summary.children} children for "
                  f"{authority.la_name} ({summary.la_code}), years "
                  f"{', '.join(map(str, summary.collection_years))} (load {summary.load_id}).")


@app.command("project")
def project(
    la_code: Annotated[str, typer.Option(
        "--la", help="LA whose latest load to project: name, 3-digit or GSS code.")],
    years: Annotated[int, typer.Option("--years", min=1, max=20, help="Years ahead.")] = 3,
    draws: Annotated[int, typer.Option("--draws", min=20, help="Monte Carlo draws.")] = 200,
    seed: Annotated[int, typer.Option(
        "--seed", help="Random seed (same seed, same figures).")] = 903,
    window_years: Annotated[float, typer.Option(
        help="Years of history moves between placements are estimated on (entries: the last).")] = 3.0,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write the full table as CSV.")] = None,
    entry_multiplier: EntryMultiplier = 1.0,
    ramp_years: RampYears = 0.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Project children in care by placement and age band, with 80% intervals.

    Counts of 1-5 are shown as 'c'; the jump-off date's counts (real children) are also protected
    by secondary suppression (see sf_benefits.project.childlevel.export)."""
    from sf_benefits.project.childlevel import ChildLevelModel

    if output is not None:
        output_file(output)
    data = _latest(la_code, database_url, as_columns=True)
    model = ChildLevelModel(window_years=window_years, n_draws=draws, seed=seed).fit(data)
    projection = model.projection(years, level=[80],
                                  scenario=_scenario(entry_multiplier, ramp_years))
    jump_off = model.rates.reference_end
    if output is not None:
        from sf_benefits.project.childlevel.export import publishable_projection

        exported = publishable_projection(projection.to_frame(), jump_off)
        write_csv(exported, output)
        console.print(f"Wrote {len(exported)} rows to {output}")
    table = Table(title=f"Children looked after at 31 March, {data.la_code} (mean and 80% interval; "
                        f"rates from {model.rates.reference_start:%d/%m/%Y} to "
                        f"{model.rates.reference_end:%d/%m/%Y})")
    _year_ends(table, projection, jump_off, 80)
    console.print(table)


def _year_ends(table: Table, projection: Projection, jump_off: datetime, level: int) -> None:
    """Fill `table` with each placement's children in care at every 31 March after the
    jump-off, all ages (mean and interval, each a projected count: 1-5 shown as 'c')."""
    import numpy as np

    from sf_benefits.disclosure import suppress_count
    from sf_benefits.project.childlevel import ALL_AGES

    dates = projection.dates
    shown = np.flatnonzero((dates.astype("datetime64[M]").astype(np.int64) % 12 == 2)
                           & (dates > np.datetime64(jump_off, "ns")))
    table.add_column("placement")
    for when in dates[shown].astype("datetime64[D]").tolist():
        table.add_column(f"{when:%Y}")
    band = projection.age_bands.index(ALL_AGES)
    lo, hi = projection.bounds[level]
    for k, place in enumerate(projection.placements):
        table.add_row(place, *[f"{suppress_count(projection.mean[i, band, k])} "
                               f"({suppress_count(lo[i, band, k])}–"
                               f"{suppress_count(hi[i, band, k])})" for i in shown])


@app.command("rates")
def rates(
    la_code: Annotated[str, typer.Option(
        "--la", help="LA whose latest load to analyse: name, 3-digit or GSS code.")],
    window_years: Annotated[float, typer.Option(
        help="Years of history moves between placements are estimated on (entries: the last).")] = 3.0,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write every rate as CSV.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Moves between placements and out of care per child-year, by age band (events 1-5, and
    their rates, shown as 'c')."""
    from sf_benefits.disclosure import SUPPRESSED, suppress_counts
    from sf_benefits.project.childlevel import ChildLevelModel

    if output is not None:
        output_file(output)
    data = _latest(la_code, database_url)
    model = ChildLevelModel(window_years=window_years).fit(data)
    moves = model.transition_rates()
    moves = moves[moves["events"] > 0].reset_index(drop=True)
    shown = suppress_counts(moves, ["events"], derived=["rate_per_year"])
    if output is not None:
        write_csv(shown, output)
        console.print(f"Wrote {len(shown)} rows to {output}")
    table = Table(title=f"Moves per child-year, {data.la_code}, {model.rates.reference_start:%d/%m/%Y}"
                        f" to {model.rates.reference_end:%d/%m/%Y}")
    for column in ("age band", "from", "to", "moves", "child-years", "rate per year"):
        table.add_column(column)
    for row in shown.itertuples(index=False):
        table.add_row(str(row.age_band), str(row[1]), str(row.to), str(row.events),
                      f"{row.exposure_years:.1f}", SUPPRESSED if
                      row.rate_per_year == SUPPRESSED else f"{row.rate_per_year:.3f}")
    console.print(table)


@app.command("appraise")
def appraise(
    la_code: Annotated[str, typer.Option(
        "--la", help="LA whose latest load to appraise: name, 3-digit or GSS code.")],
    model: Annotated[str, typer.Option(
        "--model", help="family_safeguarding, family_valued, no_wrong_door or a YAML file of a "
                        "custom model")] = "family_safeguarding",
    years: Annotated[int, typer.Option("--years", min=1, max=20, help="Years ahead.")] = 5,
    draws: Annotated[int, typer.Option("--draws", min=20, help="Monte Carlo draws.")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 903,
    overrides: Annotated[Path | None, typer.Option(
        "--overrides", help="YAML or CSV of the LA's own values (id: {value, source})")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Who supplied the overrides (recorded with each)")] = None,
    window_years: Annotated[float, typer.Option(
        help="Years of history moves between placements are estimated on (entries: the last).")] = 3.0,
    entry_multiplier: EntryMultiplier = 1.0,
    ramp_years: RampYears = 0.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Appraise an innovation (the LA-level effects, costs, NPV) on this LA's child-level
    baseline."""
    from sf_benefits.cli.project import render_projection
    from sf_benefits.project.childlevel import run_childlevel_projection

    data = _latest(la_code, database_url)
    with projection_errors(model):
        result = run_childlevel_projection(
            data, model, horizon=years, n_draws=draws, seed=seed, overrides=overrides,
            overrides_by=by, window_years=window_years,
            rate_scenario=_scenario(entry_multiplier, ramp_years), sensitivity=False)
    render_projection(result, "Child-level baseline from SSDA903")
