"""`sf-benefits track …`: record implementations, lock baselines, import actuals, show benefits."""

from __future__ import annotations

import getpass
import math
from dataclasses import asdict
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from sf_benefits.cli.common import (
    console,
    errors,
    fail,
    open_store,
    output_file,
    progress_bar,
    projection_errors,
    require_care_history,
    resolve_authority,
    write_csv,
)
from sf_benefits.track.adopters import DATE_PRECISIONS, MODELS

if TYPE_CHECKING:
    import pandas as pd

    from sf_benefits.store import Store

app = typer.Typer(help="Track realised benefits against the locked baseline and comparable LAs.",
                  no_args_is_help=True)

DatabaseUrl = Annotated[str | None, typer.Option(help="Store URL (default: embedded store)")]
TABLE_SUFFIXES = (".csv", ".xlsx")


class Comparison(StrEnum):
    neighbours = "neighbours"
    computed = "computed"


def _money(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    return f"−£{-number:,.0f}" if number < 0 else f"£{number:,.0f}"


def _pct(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):+.1f}%"  # type: ignore[arg-type]


def _range(low: object, high: object) -> str:
    if _money(low) == "–" or _money(high) == "–":
        return "–"
    return f"{_money(low)} to {_money(high)}"


def _children(value: object) -> str:
    """A count already through disclosure control, as the terminal shows it."""
    from sf_benefits.disclosure import SUPPRESSED, whole_children

    if value == SUPPRESSED:
        return SUPPRESSED
    count = whole_children(value)
    return "–" if count is None else f"{count:,}"


def _export(frames: dict[str, pd.DataFrame], out: Path) -> None:
    """Write frames to .xlsx (one sheet each, no formulas) or .csv (first frame)."""
    import pandas as pd

    output_file(out, *TABLE_SUFFIXES)
    if out.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(out, engine="xlsxwriter", engine_kwargs={"options": {
                "strings_to_formulas": False, "strings_to_urls": False}}) as writer:
            for name, frame in frames.items():
                frame.to_excel(writer, sheet_name=name[:31], index=False)
    else:
        write_csv(next(iter(frames.values())), out)
    console.print(f"Wrote {out}")


def _resolve(store: Store, la: str, la_name: str | None) -> tuple[str, str]:
    found = resolve_authority(store, la, la_name=la_name,
                              hint=" (or give its GSS code with --la-name)")
    return found.la_code, found.la_name


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date: write it as YYYY-MM-DD") from None


def _withdraw_hint(implementation_id: str) -> str:
    return (f"If it was recorded in error and has no locked baseline, withdraw it with "
            f"`sf-benefits track withdraw {implementation_id[:8]} --reason \"...\"`.")


@app.command("implement")
def implement(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    model: Annotated[str, typer.Option(help=f"One of: {', '.join(MODELS)}")],
    go_live: Annotated[str, typer.Option(help="Go-live date YYYY-MM-DD")],
    scenario: Annotated[str, typer.Option(help="Name of the business-case scenario")],
    precision: Annotated[str, typer.Option(help="day, month or window")] = "day",
    basis: Annotated[str, typer.Option(help="Where the go-live date comes from")]
    = "Recorded by the LA.",
    earliest: Annotated[str | None, typer.Option(help="Window start (precision=window)")] = None,
    latest: Annotated[str | None, typer.Option(help="Window end (precision=window)")] = None,
    la_name: Annotated[str | None, typer.Option(help="LA name when the store has no LA list")]
    = None,
    lock: Annotated[bool, typer.Option(
        "--lock/--no-lock", help="Run the projection now and lock it as the baseline")] = False,
    n_draws: Annotated[int, typer.Option(help="Monte Carlo draws for the locked projection")]
    = 2000,
    overrides: Annotated[Path | None, typer.Option(help="YAML of LA overrides for the run")]
    = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record an implementation; with --lock, also project and lock its baseline at go-live.

    Both are written in one transaction: nothing is recorded when the lock fails."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.track import TrackError, list_implementations, record_implementation

    if precision not in DATE_PRECISIONS:
        raise fail(f"--precision must be one of {', '.join(DATE_PRECISIONS)}")
    if model not in MODELS:
        raise fail(f"--model must be one of {', '.join(MODELS)}")
    go_live_date = _date(go_live, "--go-live")
    window = (_date(earliest, "--earliest") if earliest else None,
              _date(latest, "--latest") if latest else None)
    store = open_store(database_url)
    code, name = _resolve(store, la, la_name)
    for existing in list_implementations(store):
        if (existing.la_code, existing.model) == (code, model):
            raise fail(f"{name} already has a {MODELS[model]} implementation (id "
                       f"{existing.implementation_id[:8]}, go-live {existing.go_live_date}). "
                       + _withdraw_hint(existing.implementation_id))
    projected = None
    if lock:
        from sf_benefits.project.inputs import projection_data
        from sf_benefits.track.service import lock_projected, project_to_go_live, store_data_vintage

        data = projection_data(store)
        require_care_history(store, data, code, name, " (nothing was recorded)")
        with console.status("Projecting the baseline from the data up to go-live…"), \
                projection_errors(model):
            projected = project_to_go_live(
                data, code, model, go_live_date, store_data_vintage(store), n_draws=n_draws,
                sensitivity=False, overrides=overrides)
    try:
        with store.transaction() as conn:
            implementation = record_implementation(
                store, code, name, model, go_live_date, scenario, date_precision=precision,
                go_live_basis=basis, go_live_earliest=window[0], go_live_latest=window[1],
                conn=conn)
            locked = (None if projected is None else lock_projected(
                store, implementation.implementation_id, projected, conn=conn))
    except (TrackError, IngestError) as exc:
        raise fail(f"nothing was recorded: {exc}") from exc
    console.print(f"Recorded {implementation.la_name} — {implementation.model_label}, go-live "
                  f"{implementation.go_live_date} (id {implementation.implementation_id})")
    if locked is not None:
        console.print(f"Locked baseline ({locked.method}, seed {locked.seed}, "
                      f"{locked.price_base_year} prices, sha256 {locked.content_sha256[:12]})")


@app.command("withdraw")
def withdraw_command(
    implementation: Annotated[str, typer.Argument(help="Implementation id (or 6+ char prefix)")],
    reason: Annotated[str, typer.Option(help="Why it is withdrawn (kept in the audit log)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Withdraw an implementation recorded in error, while its baseline is not locked.

    The audit log keeps what was withdrawn, by whom and why."""
    from sf_benefits.track import TrackError, withdraw_implementation
    from sf_benefits.web.audit import Actor, record

    if not reason.strip():
        raise fail("--reason must say why the implementation is withdrawn")
    store = open_store(database_url)
    try:
        with store.transaction() as conn:
            withdrawn = withdraw_implementation(store, implementation, conn=conn)
            record(conn, Actor(None, None, "cli"), "implementation.withdraw",
                   la_code=withdrawn.la_code, target_type="implementation",
                   target_id=withdrawn.implementation_id,
                   detail={"reason": reason, "os_user": getpass.getuser(),
                           "implementation": asdict(withdrawn)})
    except TrackError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Withdrew {withdrawn.la_name} — {withdrawn.model_label}, go-live "
                  f"{withdrawn.go_live_date} (id {withdrawn.implementation_id}); recorded in the "
                  "audit log")


def _read_unit_costs(path: Path) -> dict[str, float]:
    import pandas as pd

    frame = pd.read_csv(path)
    if not {"placement", "annual_cost_gbp"} <= set(frame.columns):
        raise fail(f"{path.name}: needs columns placement, annual_cost_gbp")
    return dict(zip(frame["placement"].astype(str), frame["annual_cost_gbp"].astype(float),
                    strict=True))


@app.command("lock")
def lock_command(
    implementation: Annotated[str, typer.Argument(help="Implementation id (or 6+ char prefix)")],
    baseline: Annotated[Path, typer.Option(help="CSV: series, year, measure, placement, "
                                                "p10, p50, p90")],
    unit_costs: Annotated[Path, typer.Option(help="CSV: placement, annual_cost_gbp")],
    price_base: Annotated[str, typer.Option(help="Price base year of the unit costs, 2024-25")],
    data_vintage: Annotated[str, typer.Option(help="Data the baseline was fitted to")],
    assumptions_version: Annotated[str, typer.Option(help="Assumptions set and version")],
    method: Annotated[str, typer.Option(help="Projection method")],
    seed: Annotated[int | None, typer.Option(help="Random seed of the run")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Lock a baseline from files; it can never be changed afterwards."""
    import pandas as pd

    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.track import TrackError, lock_baseline

    store = open_store(database_url)
    try:
        locked = lock_baseline(store, implementation, pd.read_csv(baseline),
                               _read_unit_costs(unit_costs), price_base_year=price_base,
                               data_vintage=data_vintage, assumptions_version=assumptions_version,
                               method=method, seed=seed,
                               unit_cost_source=f"business case file {unit_costs.name}")
    except (TrackError, IngestError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"Locked baseline of {locked.implementation_id} (sha256 "
                  f"{locked.content_sha256[:12]})")


@app.command("revise")
def revise_command(
    implementation: Annotated[str, typer.Argument(help="Implementation id (or prefix)")],
    baseline: Annotated[Path, typer.Option(help="CSV as for `lock`, re-run on revised data")],
    unit_costs: Annotated[Path, typer.Option(help="CSV: placement, annual_cost_gbp")],
    price_base: Annotated[str, typer.Option()],
    data_vintage: Annotated[str, typer.Option()],
    assumptions_version: Annotated[str, typer.Option()],
    method: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option(help="Why the data were revised")],
    database_url: DatabaseUrl = None,
) -> None:
    """Record a data revision beside the locked baseline (the lock itself is untouched)."""
    import pandas as pd

    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.track import TrackError, record_baseline_revision

    store = open_store(database_url)
    try:
        revised = record_baseline_revision(
            store, implementation, pd.read_csv(baseline), _read_unit_costs(unit_costs),
            price_base_year=price_base, data_vintage=data_vintage,
            assumptions_version=assumptions_version, method=method, reason=reason)
    except (TrackError, IngestError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"Recorded revision {revised.revision} beside the lock")


@app.command("template")
def template_command(
    out: Annotated[Path, typer.Option(help="template.xlsx or template.csv")],
) -> None:
    """Write a blank actuals template (see docs/actuals-template.md)."""
    from sf_benefits.track import write_template

    try:
        write_template(output_file(out, *TABLE_SUFFIXES))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Wrote {out}")


@app.command("import-actuals")
def import_actuals_command(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    file: Annotated[Path, typer.Argument(help="Filled-in template (.csv or .xlsx)")],
    note: Annotated[str, typer.Option(help="What this import is, e.g. 'Q2 correction'")] = "",
    la_name: Annotated[str | None, typer.Option()] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import the LA's own figures as a new version; a bad file changes nothing."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.track import import_actuals

    store = open_store(database_url)
    code, name = _resolve(store, la, la_name)
    try:
        done = import_actuals(store, code, file, note)
    except IngestError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Imported {done.rows} rows for {name} as version {done.version}")


@app.command("import-dfe")
def import_dfe_command(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    vintage: Annotated[str, typer.Option(help="Release, e.g. 'CLA 2024 (Nov 2024)'")],
    database_url: DatabaseUrl = None,
) -> None:
    """Record the DfE figures now in the store for an LA as a new actuals version."""
    from sf_benefits.ingest.errors import IngestError
    from sf_benefits.store.queries import care_history
    from sf_benefits.track import import_dfe_release

    store = open_store(database_url)
    code, name = _resolve(store, la, None)
    try:
        done = import_dfe_release(store, code, care_history(store, [code]), vintage)
    except IngestError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Recorded {done.rows} DfE rows for {name} as version {done.version}")


@app.command("actuals")
def actuals_command(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    history: Annotated[bool, typer.Option(help="Every version, superseded rows included")]
    = False,
    out: Annotated[Path | None, typer.Option(help=".csv or .xlsx")] = None,
    la_name: Annotated[str | None, typer.Option()] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the actuals in force (or their whole history); counts 1–5 are shown as 'c'."""
    from sf_benefits.disclosure import suppress_actuals
    from sf_benefits.track import actuals_history, current_actuals

    if out:
        output_file(out, *TABLE_SUFFIXES)
    store = open_store(database_url)
    code, name = _resolve(store, la, la_name)
    frame = actuals_history(store, code) if history else current_actuals(store, code)
    frame = suppress_actuals(frame, by_version=history)
    if out:
        _export({"actuals": frame}, out)
        return
    table = _folding_table("Period", "Measure", "Placement", "Count", "Spend", "Source", "Version",
                  *(["Superseded"] if history else []), title=f"Actuals — {name}")
    for row in frame.itertuples():
        table.add_row(str(row.period), str(row.measure), str(row.placement),
                      _children(row.count), _money(row.spend_gbp),
                      str(row.source), str(row.version),
                      *([str(row.superseded)] if history else []))
    console.print(table)


def _folding_table(*headers: str, title: str | None = None) -> Table:
    """A table whose cells wrap, long words and figures folded onto the next line, so nothing is
    cut short with '…' on a narrow terminal."""
    return Table(*(Column(h, overflow="fold") for h in headers), title=title)


WIDE_REALISED_COLUMNS = 150
"""Narrower than this, realised benefit prints one line a period: its table's figures would be
cut short."""


@app.command("realised")
def realised_command(
    implementation: Annotated[str, typer.Argument(help="Implementation id (or prefix)")],
    out: Annotated[Path | None, typer.Option(help=".csv or .xlsx")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Realised benefit to date against the locked baseline, with interval and status."""
    from sf_benefits.disclosure import suppress_realised, suppress_realised_summary
    from sf_benefits.track import TrackError, get_implementation, realised_for

    if out:
        output_file(out, *TABLE_SUFFIXES)
    store = open_store(database_url)
    try:
        imp = get_implementation(store, implementation)
        result = realised_for(store, imp.implementation_id)
    except TrackError as exc:
        raise fail(str(exc)) from exc
    frames = result.to_frames()
    periods = suppress_realised(frames["realised_by_period"])
    frames["realised_by_period"] = periods
    frames["realised_summary"] = suppress_realised_summary(frames["realised_summary"], periods)
    if out:
        _export(frames, out)
        return
    console.print(f"[bold]{imp.la_name}[/] — {imp.model_label}; go-live {imp.go_live_date}"
                  f"{' (approximate)' if imp.approximate else ''}; £ at "
                  f"{result.price_base_year} prices; baseline data: "
                  f"{result.baseline_data_vintage}")
    table = Table("Period", "Actual CLA", "Baseline P50 (P10–P90)", "Children avoided",
                  "Saving", "Saving interval", "Cumulative", "Expected cumulative", "Status")
    for row in periods.to_dict("records"):
        cells = (
            str(row["period"]), _children(row["actual_cla"]),
            f"{_children(row['baseline_cla_p50'])} ({_children(row['baseline_cla_p10'])}–"
            f"{_children(row['baseline_cla_p90'])})",
            _children(row["children_avoided"]), _money(row["saving_gbp"]),
            f"{_money(row['saving_gbp_low'])} to {_money(row['saving_gbp_high'])}",
            _money(row["cumulative_saving_gbp"]), _money(row["cumulative_expected_saving_gbp"]),
            str(row["status"]))
        table.add_row(*cells)
        if console.width < WIDE_REALISED_COLUMNS:
            console.print(
                f"{cells[0]}: actual CLA {cells[1]}, baseline P50 {cells[2]}, children avoided "
                f"{cells[3]}; saving {cells[4]} ({cells[5]}); cumulative {cells[6]} against "
                f"{cells[7]} expected; {cells[8]}", highlight=False)
    if console.width >= WIDE_REALISED_COLUMNS:
        console.print(table)
    console.print(f"Status to date: [bold]{result.status}[/]. Rule: {result.thresholds.source}")
    for reason in result.skipped:
        console.print(f"[yellow]Skipped:[/] {reason}")


@app.command("effects")
def effects_command(
    implementation: Annotated[str, typer.Argument(help="Implementation id (or prefix)")],
    comparison: Annotated[Comparison, typer.Option(
        help="neighbours: published non-adopting neighbours; computed: nearest 20")]
    = Comparison.neighbours,
    out: Annotated[Path | None, typer.Option(help=".csv or .xlsx")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Effect on CLA from difference-in-differences and synthetic control, with placebo checks."""
    from sf_benefits.track import CounterfactualError, TrackError, effects_for, get_implementation

    if out:
        output_file(out, *TABLE_SUFFIXES)
    store = open_store(database_url)
    try:
        imp = get_implementation(store, implementation)
        estimates = effects_for(store, imp.implementation_id, comparison=comparison.value)
    except (TrackError, CounterfactualError) as exc:
        raise fail(str(exc)) from exc
    if out:
        _export(estimates.to_frames(), out)
        return
    console.print(f"[bold]{imp.la_name}[/] — first treated year {estimates.first_post_year}; "
                  f"DiD against {estimates.comparison_basis}")
    table = _folding_table("Method", "Effect on CLA", "95% interval", "p (placebo)", "Pre-period fit",
                  "Placebo in time")
    if estimates.did is not None:
        d = estimates.did
        pit = d.placebo_in_time
        table.add_row("Difference-in-differences", _pct(d.effect_pct),
                      f"{_pct(d.interval_pct[0])} to {_pct(d.interval_pct[1])}",
                      f"{d.p_value_placebo:.2f}",
                      f"pre-trend {'ok' if d.pre_trend_ok else 'NOT parallel'} "
                      f"(p {d.pre_trend_p_value:.2f})",
                      "–" if pit is None else f"{pit.fake_first_post_year}: "
                      f"{_pct(pit.effect_pct)} ({'ok' if pit.covers_zero else 'not zero'})")
    if estimates.synthetic_control is not None:
        s = estimates.synthetic_control
        pit = s.placebo_in_time
        table.add_row("Synthetic control", _pct(s.effect_pct),
                      f"{_pct(s.interval_pct[0])} to {_pct(s.interval_pct[1])}",
                      f"{s.p_value_placebo:.2f}", f"RMSPE {s.pre_period_rmspe:.1f} per 10k",
                      "–" if pit is None else f"{pit.fake_first_post_year}: "
                      f"{_pct(pit.effect_pct)} ({'ok' if pit.covers_zero else 'not zero'})")
    console.print(table)
    for problem in estimates.problems:
        errors.print(f"[yellow]Not estimated:[/] {problem}")


@app.command("programme")
def programme_command(
    effects: Annotated[bool, typer.Option("--effects/--no-effects",
                                          help="Also estimate DiD and synthetic control")] = True,
    out: Annotated[Path | None, typer.Option(help=".csv or .xlsx")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """All recorded implementations side by side by model (the DfE programme view)."""
    from sf_benefits.track import programme_view

    if out:
        output_file(out, *TABLE_SUFFIXES)
    store = open_store(database_url)
    with progress_bar("Programme view") as update:
        view = programme_view(store, with_effects=effects, progress=update)
    if out:
        _export(view.to_frames(), out)
        return
    table = _folding_table("Model", "LA", "Go-live", "Status", "Saving to date", "Interval",
                  "DiD effect", "SC effect", title="SFPC programme")
    for row in view.table.to_dict("records"):
        table.add_row(
            str(row["model_label"]), str(row["la_name"]),
            f"{row['go_live_date']}{' ~' if row['go_live_approximate'] else ''}",
            str(row["status"]), _money(row["cumulative_saving_gbp"]),
            _range(row["cumulative_saving_gbp_low"], row["cumulative_saving_gbp_high"]),
            _pct(row["did_effect_pct"]), _pct(row["sc_effect_pct"]))
    console.print(table)
    console.print("~ = approximate go-live date (see `sf-benefits track list`).")
    for note in view.notes:
        console.print(f"[yellow]Note:[/] {note}")


@app.command("list")
def list_command(database_url: DatabaseUrl = None) -> None:
    """Recorded implementations with their go-live date and its basis."""
    from sf_benefits.track import list_implementations

    store = open_store(database_url)
    table = _folding_table("Id", "Model", "LA", "Go-live", "Precision", "Basis")
    for imp in list_implementations(store):
        table.add_row(imp.implementation_id[:8], imp.model, imp.la_name, str(imp.go_live_date),
                      imp.date_precision, imp.go_live_basis)
    console.print(table)


@app.command("seed-demo")
def seed_demo_command(database_url: DatabaseUrl = None) -> None:
    """Record the 18 real SFPC adopters with model and go-live date (approximate ones flagged)."""
    from sf_benefits.track import seed_demo

    store = open_store(database_url)
    recorded = seed_demo(store)
    approximate = sum(1 for i in recorded if i.approximate)
    console.print(f"Recorded {len(recorded)} SFPC implementations ({approximate} with an "
                  "approximate go-live date; see `sf-benefits track list`).")
