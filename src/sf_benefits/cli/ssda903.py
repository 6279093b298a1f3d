"""`sf-benefits ssda903 validate|load|project`: an LA's own SSDA903 returns in the child-level
engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from sf_benefits.cli.common import console, errors, fail, open_store
from sf_benefits.csv_export import write_csv
from sf_benefits.disclosure import RowTotal, suppress_counts
from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.ingest.ssda903 import (
    PseudonymKeyError,
    ValidatorUnavailable,
    check_returns,
    dfe_problems,
    latest_load,
    load_returns,
)
from sf_benefits.ingest.ssda903.load import Ssda903Data
from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.project.childlevel import ALL_AGES, ChildLevelModel, RateScenario

app = typer.Typer(help="Validate, load and project from an LA's SSDA903 returns (child level).",
                  no_args_is_help=True)

Files = Annotated[list[Path], typer.Argument(help="SSDA903 header and episodes files (CSV or XLSX)")]
DatabaseUrl = Annotated[str | None, typer.Option(help="Store URL (default: embedded store).")]
EntryMultiplier = Annotated[float, typer.Option(
    "--entry-multiplier", min=0.0,
    help="Scenario: multiply entries to care by this factor at full effect (1 = baseline).")]
RampYears = Annotated[float, typer.Option(
    "--ramp-years", min=0.0, help="Scenario: years until the entry change is at full effect.")]


def _scenario(entry_multiplier: float, ramp_years: float) -> RateScenario | None:
    if entry_multiplier == 1.0:
        return None
    return RateScenario(f"entries x {entry_multiplier:g}", entry_multiplier=entry_multiplier,
                        years_to_full_effect=ramp_years)


def _latest(la_code: str, database_url: str | None) -> Ssda903Data:
    store = open_store(database_url)
    try:
        return latest_load(store, la_code)
    except LookupError as error:
        raise fail(str(error)) from error
    finally:
        store.close()


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
    la_code: Annotated[str, typer.Option(
        "--la", help="LA code, for the DfE location rules.")] = "E10000015",
) -> None:
    """Check returns against the structural rules (and the full DfE rules); list every problem."""
    problems: list[Problem] = []
    try:
        checked = check_returns(files)
        console.print(f"Structural rules: no problems in {len(checked.episodes)} episodes of "
                      f"{len(checked.children)} children, years "
                      f"{', '.join(map(str, checked.collection_years))}.")
    except IngestError as error:
        problems = error.problems
        _print_problems(problems, "Structural rules (these stop a load)")
    if dfe:
        try:
            found = dfe_problems(files, la_code)
        except ValidatorUnavailable as error:
            errors.print(f"DfE rules not run: {error}")
        else:
            if found:
                _print_problems(found, "DfE validation rules (csc-validator-be-903)")
            else:
                console.print("DfE rules: no problems.")
    if problems:
        raise typer.Exit(1)


@app.command("load")
def load(
    files: Files,
    la_code: Annotated[str, typer.Option(
        "--la", help="The LA's 9-character code, e.g. E10000015.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Check, pseudonymise (keyed hash of CHILD) and store returns; all or nothing."""
    store = open_store(database_url)
    try:
        summary = load_returns(store, files, la_code)
    except PseudonymKeyError as error:
        raise fail(str(error)) from error
    except IngestError as error:
        _print_problems(error.problems, "Nothing was loaded")
        raise typer.Exit(1) from error
    finally:
        store.close()
    console.print(f"Loaded {summary.episodes} episodes of {summary.children} children for "
                  f"{summary.la_code}, years {', '.join(map(str, summary.collection_years))} "
                  f"(load {summary.load_id}).")


@app.command("project")
def project(
    la_code: Annotated[str, typer.Option("--la", help="LA whose latest load to project.")],
    years: Annotated[int, typer.Option("--years", min=1, max=20, help="Years ahead.")] = 3,
    draws: Annotated[int, typer.Option("--draws", min=20, help="Monte Carlo draws.")] = 200,
    seed: Annotated[int, typer.Option(
        "--seed", help="Random seed (same seed, same figures).")] = 903,
    window_years: Annotated[float, typer.Option(
        help="Years of history the rates are estimated on.")] = 2.0,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write the full table as CSV.")] = None,
    entry_multiplier: EntryMultiplier = 1.0,
    ramp_years: RampYears = 0.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Project children in care by placement and age band, with 80% intervals."""
    data = _latest(la_code, database_url)
    model = ChildLevelModel(window_years=window_years, n_draws=draws, seed=seed).fit(data)
    frame = model.predict(years, level=[80], scenario=_scenario(entry_multiplier, ramp_years))
    counts = ["mean", "lo-80", "hi-80"]
    if output is not None:
        exported = suppress_counts(
            frame, counts,
            row_totals=[RowTotal("placement", ALL_PLACEMENTS, ("date", "age_band")),
                        RowTotal("age_band", ALL_AGES, ("date", "placement"))])
        write_csv(exported, output)
        console.print(f"Wrote {len(exported)} rows to {output}")
    shown = frame[(frame["age_band"] == ALL_AGES) & (frame["date"].dt.month == 3)]
    year_ends = suppress_counts(shown.reset_index(drop=True), counts,
                                row_totals=[RowTotal("placement", ALL_PLACEMENTS, ("date",))])
    table = Table(title=f"Children looked after at 31 March, {la_code} (mean and 80% interval; "
                        f"rates from {model.rates.reference_start:%d/%m/%Y} to "
                        f"{model.rates.reference_end:%d/%m/%Y})")
    table.add_column("placement")
    dates = sorted(pd.to_datetime(year_ends["date"]).unique())
    for when in dates:
        table.add_column(f"{pd.Timestamp(when):%Y}")
    for place, rows in year_ends.groupby("placement", sort=False):
        cells = []
        for when in dates:
            row = rows[pd.to_datetime(rows["date"]) == when].iloc[0]
            cells.append(f"{row['mean']} ({row['lo-80']}–{row['hi-80']})")
        table.add_row(str(place), *cells)
    console.print(table)


@app.command("rates")
def rates(
    la_code: Annotated[str, typer.Option("--la", help="LA whose latest load to analyse.")],
    window_years: Annotated[float, typer.Option(
        help="Years of history the rates are estimated on.")] = 2.0,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write every rate as CSV.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Moves between placements and out of care per child-year, by age band (events 1-5 shown
    as 'c')."""
    model = ChildLevelModel(window_years=window_years).fit(_latest(la_code, database_url))
    moves = model.transition_rates()
    moves = moves[moves["events"] > 0].reset_index(drop=True)
    shown = suppress_counts(moves, ["events"])
    if output is not None:
        write_csv(shown, output)
        console.print(f"Wrote {len(shown)} rows to {output}")
    table = Table(title=f"Moves per child-year, {la_code}, {model.rates.reference_start:%d/%m/%Y}"
                        f" to {model.rates.reference_end:%d/%m/%Y}")
    for column in ("age band", "from", "to", "moves", "child-years", "rate per year"):
        table.add_column(column)
    for row in shown.itertuples(index=False):
        table.add_row(str(row.age_band), str(row[1]), str(row.to), str(row.events),
                      f"{row.exposure_years:.1f}", f"{row.rate_per_year:.3f}")
    console.print(table)


@app.command("appraise")
def appraise(
    la_code: Annotated[str, typer.Option("--la", help="LA whose latest load to appraise.")],
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
        help="Years of history the rates are estimated on.")] = 2.0,
    entry_multiplier: EntryMultiplier = 1.0,
    ramp_years: RampYears = 0.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Appraise an innovation (the LA-level effects, costs, NPV) on this LA's child-level
    baseline."""
    from sf_benefits.assumptions import MissingAssumptionError
    from sf_benefits.project.childlevel import run_childlevel_projection

    data = _latest(la_code, database_url)
    try:
        result = run_childlevel_projection(
            data, model, horizon=years, n_draws=draws, seed=seed, overrides=overrides,
            overrides_by=by, window_years=window_years,
            rate_scenario=_scenario(entry_multiplier, ramp_years), sensitivity=False)
    except MissingAssumptionError as error:
        raise fail(f"{error}\nSee them with `sf-benefits assumptions list --model {model}`.",
                   code=2) from None
    table = Table(title=f"{result.model_title} on the child-level baseline of {la_code} "
                        f"({result.price_base_year} prices)")
    for column in ("measure", "P10", "P50", "P90", "unit"):
        table.add_column(column)
    for row in result.summary().itertuples(index=False):
        cells = ["" if pd.isna(v) else f"{v:,.2f}" for v in (row.p10, row.p50, row.p90)]
        table.add_row(str(row.measure), *cells, str(row.unit))
    console.print(table)
    counts = result.suppressed_counts()
    totals = counts[counts["placement"] == ALL_PLACEMENTS]
    console.print(totals.to_string(index=False))
