"""`sf-benefits project` and `sf-benefits assumptions list`: render projections and assumptions."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from sf_benefits.cli.common import (
    console,
    csv_text,
    fail,
    open_store,
    output_file,
    output_folder,
    projection_errors,
    require_care_history,
    resolve_authority,
    write_csv,
)
from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENT_LABELS
from sf_benefits.project.defaults import (
    DEFAULT_METHOD,
    DEFAULT_PRICE_BASE,
    DEFAULT_SEED,
    DEMAND_METHODS,
)
from sf_benefits.project.method_words import method_technical, method_words

if TYPE_CHECKING:
    import pandas as pd

    from sf_benefits.project import ProjectionResult


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"


assumptions_app = typer.Typer(
    help="The assumptions behind projections, each with its value, source and grade.",
    no_args_is_help=True,
)


def money_text(value: float) -> str:
    """Pounds with separators, rounded to the pound; a dash when missing."""
    if value is None or math.isnan(value):
        return "–"
    return f"-£{-value:,.0f}" if value < 0 else f"£{value:,.0f}"


def thousands_text(value: float) -> str:
    """Pounds in thousands ("£26,547k"), so a year's row fits an 80-column terminal without
    cutting a figure; every pound is in `--format csv`."""
    if value is None or math.isnan(value):
        return "–"
    return f"-£{-value / 1000:,.0f}k" if value < 0 else f"£{value / 1000:,.0f}k"


def export_frames(result: ProjectionResult) -> dict[str, pd.DataFrame]:
    """Every frame of the result as exported: counts suppressed (the CSV writer makes text safe
    for spreadsheets)."""
    frames = result.to_frames()
    frames["counts"] = result.suppressed_counts()
    frames.pop("observed")
    return frames


def _band(low: object, mid: object, high: object) -> str:
    return f"{mid} ({low}–{high})"


def render_projection(result: ProjectionResult, la_name: str) -> None:
    """A projection as the terminal shows it: CLA, money, appraisal, sensitivity, assumptions."""
    console.print(
        f"[bold]{la_name}[/] ({result.la_code}) — {result.model_title}; demand forecast: "
        f"{method_words(result.method)} ({method_technical(result.method)}); "
        f"{result.n_draws:,} draws, seed {result.seed}; £ at {result.price_base_year} prices, "
        f"discounted at {result.discount_rate:.1%}"
    )
    counts = result.suppressed_counts()
    totals = counts[counts["placement"] == ALL_PLACEMENTS].set_index(["series", "year"])
    table = Table("Year (31 March)", "Baseline P50 (P10–P90)", "Scenario P50 (P10–P90)",
                  "Kept out of care P50", title="Children looked after")
    for year in sorted(counts["year"].unique()):
        base = totals.loc[("baseline", year)]
        scen = totals.loc[("scenario", year)]
        kept = totals.loc[("kept_out_of_care", year)]
        table.add_row(str(year), _band(base["p10"], base["p50"], base["p90"]),
                      _band(scen["p10"], scen["p50"], scen["p90"]), str(kept["p50"]))
    console.print(table)

    money = {(str(r["measure"]), str(r["financial_year"])): r
             for r in result.money.to_dict("records")}

    def pounds(measure: str, year: str, column: str = "p50") -> str:
        return thousands_text(float(money[(measure, year)][column]))

    table = Table("Financial year", "Baseline cost P50", "Gross savings P50", "Costs P50",
                  "Net savings P50 (P10–P90)", "Cumulative net P50",
                  title=f"Money (£ thousands, {result.price_base_year} prices; every pound in "
                        "--format csv)")
    for year in result.financial_years:
        table.add_row(
            year, pounds("baseline_cost", year), pounds("gross_savings", year),
            pounds("total_cost", year),
            f"{pounds('net_savings', year)} ({pounds('net_savings', year, 'p10')} to "
            f"{pounds('net_savings', year, 'p90')})",
            pounds("cumulative_net_savings", year),
        )
    console.print(table)

    rests_on = ", ".join(result.grade_d_drivers)
    flag = ("[yellow]rests on grade D †[/]" if rests_on else "no grade-D driver"
            if not result.sensitivity.empty else "drivers not assessed")
    npv, roi = result.net_present_value, result.return_on_investment
    table = Table("Measure", "P10", "P50", "P90", "Evidence",
                  title=f"Appraisal (£, {result.price_base_year} prices, discounted at "
                        f"{result.discount_rate:.1%})")
    for label, interval in (("Net present value", npv),
                            ("Present value of benefits", result.present_value_benefits),
                            ("Present value of costs", result.present_value_costs)):
        table.add_row(label, *(money_text(v) for v in (interval.p10, interval.p50, interval.p90)),
                      flag)
    table.add_row("Return on investment", *("–" if math.isnan(v) else f"{v:.2f}"
                                            for v in (roi.p10, roi.p50, roi.p90)), flag)
    console.print(table)
    console.print(
        f"Payback year (P50): {result.payback_year or 'not within the horizon'} ({flag}); "
        f"probability of payback within {result.horizon} years "
        f"{result.probability_of_payback:.0%}; probability NPV > 0 "
        f"{result.probability_net_present_value_positive:.0%}"
    )
    if rests_on:
        console.print(f"[yellow]† These figures rest on grade-D assumptions (expert judgement or "
                      f"arithmetic from indirect evidence) that drive the NPV: {rests_on}.[/]")
    if not result.sensitivity.empty:
        table = Table("#", Column("Parameter", overflow="fold"), "Grade", "Low – high",
                      "NPV P50 at low / high", "Swing",
                      title="What drives the NPV (one parameter at its low or high, others "
                            "central; * = driver)")
        for rank, row in enumerate(result.sensitivity.to_dict("records"), start=1):
            grade = str(row["confidence"])
            table.add_row(f"{rank}{'*' if row['driver'] else ''}", str(row["parameter_id"]),
                          f"[yellow]{grade}[/]" if grade == "D" else grade,
                          f"{_number(row['low'])} – {_number(row['high'])}",
                          f"{_millions(row['npv_p50_low'])} / {_millions(row['npv_p50_high'])}",
                          _millions(row["swing"]))
        console.print(table)
    _render_unit_costs(result)
    _render_assumptions(result.assumptions, "Assumptions used", result.price_base_year)
    if result.overrides:
        console.print(f"[bold]Your overrides (win over defaults and the LA's published costs):[/] "
                      f"{', '.join(result.overrides)}")
    for item in result.excluded:
        console.print(f"[yellow]Left out:[/] {item}")
    for note in result.notes:
        console.print(f"[dim]{note}[/]")


def _number(value: object) -> str:
    """A parameter value as read: whole with separators from 100, otherwise as few digits as it has."""
    number = float(str(value))
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:g}"


WIDE_ASSUMPTIONS_COLUMNS = 150
"""Narrower than this, assumptions print as one block each rather than a table."""


def _millions(value: object) -> str:
    """Pounds in millions to one decimal (-£1.3m), for tables that must fit 80 columns."""
    number = float(str(value))
    return f"{'-' if number < 0 else ''}£{abs(number) / 1e6:,.1f}m"


def _render_unit_costs(result: ProjectionResult) -> None:
    """Which weekly unit cost each placement used: value, price base, grade and basis."""
    frame = result.assumptions[result.assumptions["id"].str.startswith("unit_cost_")]
    table = Table(Column("Placement", overflow="fold"), "£ a week", "Price base",
                  f"£ a week at {result.price_base_year}", "Grade",
                  Column("Basis", overflow="fold"), title="Unit costs used")
    labels = {f"unit_cost_{p}_weekly": label for p, label in PLACEMENT_LABELS.items()}
    for row in frame.to_dict("records"):
        table.add_row(labels.get(str(row["id"]), str(row["id"])), money_text(float(row["value"])),
                      str(row["price_base_year"]), money_text(float(row["value_in_price_base"])),
                      str(row["confidence"]), str(row["basis"]))
    console.print(table)


def _render_assumptions(frame: pd.DataFrame, title: str, price_base_year: str | None = None
                        ) -> None:
    """Every assumption with its value, unit, price base, source, grade and status: a table on a
    wide terminal, one short block each on a narrower one, so no value is ever cut."""
    import pandas as pd

    converted = price_base_year is not None and "value_in_price_base" in frame.columns
    rows = []
    for row in frame.to_dict("records"):
        status = str(row["status"])
        rows.append({
            "id": str(row["id"]),
            "value": "NOT FOUND" if pd.isna(row["value"]) else _number(row["value"]),
            "unit": str(row["unit"]), "price_base": str(row["price_base_year"] or "–"),
            "converted": "" if not converted or pd.isna(row["value_in_price_base"])
            else money_text(float(row["value_in_price_base"])),
            "source": str(row["source"]), "grade": str(row["confidence"]),
            "status": f"[bold]{status}[/]" if status == "override" else status})
    if console.width < WIDE_ASSUMPTIONS_COLUMNS:
        console.print(f"[bold]{title}[/]")
        for r in rows:
            price = "" if r["price_base"] == "–" else f" ({r['price_base']} prices"
            price += f"; {r['converted']} at {price_base_year} prices)" if r["converted"] else (
                ")" if price else "")
            console.print(f"[bold]{r['id']}[/]: {r['value']} {r['unit']}{price} · grade "
                          f"{r['grade']} · {r['status']}", highlight=False)
            console.print(f"  Source: {r['source']}", highlight=False, markup=False)
        return
    columns: list[Column | str] = [Column("Id", no_wrap=True), "Value", "Unit", "Price base"]
    if converted:
        columns.append(f"Value at {price_base_year} prices")
    table = Table(*columns, "Source", "Grade", "Status", title=title)
    for r in rows:
        cells = [r["id"], r["value"], r["unit"], r["price_base"]]
        if converted:
            cells.append(r["converted"])
        table.add_row(*cells, r["source"], r["grade"], r["status"])
    console.print(table)


def project(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    model: Annotated[str, typer.Option(
        "--model", help="family_safeguarding, family_valued, no_wrong_door or a YAML file of a "
                        "custom model")] = "family_safeguarding",
    years: Annotated[int, typer.Option("--years", min=1, max=30,
                                       help="Years to project")] = 5,
    method: Annotated[str, typer.Option(
        "--method", help=f"Demand method: {', '.join(DEMAND_METHODS)}, statsforecast (= ets) or "
                         f"auto (best backtest on this LA); default {DEFAULT_METHOD}, the "
                         "backtest's pick on every LA")] = DEFAULT_METHOD,
    draws: Annotated[int, typer.Option("--draws", min=1, help="Monte Carlo draws")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = DEFAULT_SEED,
    price_base: Annotated[str, typer.Option("--price-base",
                                            help="Financial year of the £")] = DEFAULT_PRICE_BASE,
    overrides: Annotated[Path | None, typer.Option(
        "--overrides", help="YAML or CSV of the LA's own values (id: {value, source})")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Who supplied the overrides (recorded with each)")] = None,
    discount_rate: Annotated[float | None, typer.Option(
        "--discount-rate", help="Real discount rate (default: Green Book 3.5%)")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for CSV files of every table (counts suppressed 1-5)")] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Fan chart PNG")] = None,
    chart_benefit: Annotated[Path | None, typer.Option(
        "--chart-benefit", help="Cumulative net benefit PNG")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Project care demand and its cost with and without an innovation, with P10/P50/P90."""
    from sf_benefits.project.inputs import projection_data

    for path in (chart, chart_benefit):
        if path is not None:
            output_file(path, ".png")
    store = open_store(database_url)
    try:
        authority = resolve_authority(store, la)
        data = projection_data(store)
        require_care_history(store, data, authority.la_code, authority.la_name)
    finally:
        store.close()
    with projection_errors(model):
        result = data.project(
            authority.la_code, model=model, horizon=years, method=method, n_draws=draws,
            seed=seed, price_base_year=price_base, overrides=overrides,
            discount_rate=discount_rate, overrides_by=by)

    frames = export_frames(result)
    if output_format is OutputFormat.csv:
        typer.echo(csv_text(frames["money"]), nl=False)
    else:
        render_projection(result, authority.la_name)
    if out is not None:
        output_folder(out)
        stem = f"{authority.la_code}_{result.model}"
        for name, frame in frames.items():
            write_csv(frame, out / f"{stem}_{name}.csv")
        if output_format is OutputFormat.table:
            console.print(f"Wrote {len(frames)} CSV files to {out}")
    if chart is not None or chart_benefit is not None:
        from sf_benefits.project.charts import cumulative_benefit_png, fan_chart_png

        if chart is not None:
            fan_chart_png(result, chart, authority.la_name)
        if chart_benefit is not None:
            cumulative_benefit_png(result, chart_benefit, authority.la_name)


@assumptions_app.command("list")
def list_assumptions(
    model: Annotated[str | None, typer.Option(
        "--model", help="Add one innovation model's parameters (name or YAML file)")] = None,
    missing: Annotated[bool, typer.Option(
        "--missing", help="Only parameters without a value (to supply as overrides)")] = False,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """List parameters: id, value, unit, price base, source and confidence grade."""
    from sf_benefits.assumptions import AssumptionError, assumptions_for, load_defaults, load_model

    try:
        params = assumptions_for(load_model(model)) if model else load_defaults()
    except AssumptionError as error:
        raise fail(str(error)) from None
    table = params.table()
    if missing:
        table = table[table["value"].isna()]
    if output_format is OutputFormat.csv:
        typer.echo(csv_text(table), nl=False)
        return
    title = "Assumptions" + (f" for {model}" if model else " (defaults)")
    _render_assumptions(table, title)
    labels = ", ".join(f"{k} = {v}" for k, v in PLACEMENT_LABELS.items())
    console.print(f"[dim]Unit costs are per placement type: {labels}.[/]")


@assumptions_app.command("template")
def assumptions_template(
    model: Annotated[str, typer.Option(
        "--model", help="Innovation model (name or YAML file)")] = "family_safeguarding",
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the template here instead of printing it")] = None,
) -> None:
    """An override file to fill in: every parameter the model ships without a sourced value."""
    from sf_benefits.assumptions import AssumptionError, assumptions_for, load_model, override_template

    try:
        text = override_template(assumptions_for(load_model(model)))
    except AssumptionError as error:
        raise fail(str(error)) from None
    if out is None:
        typer.echo(text, nl=False)
        return
    output_file(out).write_text(text, encoding="utf-8")
    console.print(f"Wrote {out}: fill in each value and source, then pass it with --overrides.")
