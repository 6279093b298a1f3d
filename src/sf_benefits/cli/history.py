"""`sf-benefits history`: an LA's stitched series of children looked after, with each value's source
and basis, and where two published sources disagree."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from sf_benefits.cli.common import console, csv_text, fail, open_store, resolve_authority

if TYPE_CHECKING:
    import pandas as pd

MEASURE_TITLES = {"cla_31_march": "Children looked after at 31 March",
                  "starts": "Children starting to be looked after in the year",
                  "ceases": "Children ceasing to be looked after in the year",
                  "population_0_17": "Children aged 0-17 (mid-year)"}

SHORT_PLACEMENTS = {"foster": "Foster", "childrens_homes_secure": "Homes",
                    "other_residential": "Oth.res", "placed_with_parents": "Parents",
                    "independent_living": "Indep.", "placed_for_adoption": "Adopt.",
                    "other": "Other"}
"""Column heads that fit 80 columns; the legend under the table gives the full names."""


class HistoryFormat(StrEnum):
    table = "table"
    csv = "csv"


def history(
    la: Annotated[str, typer.Option("--la", help="LA name, 3-digit code or GSS code")],
    output_format: Annotated[HistoryFormat, typer.Option("--format")] = HistoryFormat.table,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Show an LA's children looked after at 31 March (total and by placement), starts and ceases
    for every year the published sources cover, with the source and basis of each value."""
    from sf_benefits.project.categories import PLACEMENT_LABELS
    from sf_benefits.store.queries import boundary_changes, care_series, series_break

    store = open_store(database_url)
    try:
        authority = resolve_authority(store, la)
        stitched = care_series(store, [authority.la_code])
        note = series_break(boundary_changes(store), authority.la_code)
    finally:
        store.close()
    series = stitched.series
    if series.empty:
        raise fail(f"no published children looked after figures for {authority.la_name} yet: "
                   f"its {note}" if note else
                   f"the store holds no children looked after figures for {authority.la_name}; "
                   "run `sf-benefits data load` first")
    keys = ["year", "measure", "placement"]
    disagreements = stitched.disagreements
    if output_format is HistoryFormat.csv:
        flagged = disagreements.assign(disagreement=disagreements["other_source"] + " ("
                                       + disagreements["other_basis"] + ") gives "
                                       + disagreements["other_value"].map("{:,.0f}".format))
        text = flagged.groupby(keys)["disagreement"].agg("; ".join).reset_index()
        out = series.merge(text, on=keys, how="left").assign(la_name=authority.la_name).rename(
            columns={"area_code": "la_code"})
        typer.echo(out[["la_code", "la_name", "year", "measure", "placement", "value", "status",
                        "source", "basis", "disagreement"]].pipe(csv_text), nl=False)
        return
    console.print(f"[bold]{authority.la_name}[/] ({authority.la_code}): children looked after, "
                  "from the published sources")
    if note:
        console.print(f"Note: {note}.")
    totals = series[series["placement"] == "all"]
    for measure, title in MEASURE_TITLES.items():
        rows = totals[totals["measure"] == measure]
        if rows.empty:
            continue
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                      expand=True)
        table.add_column("Year")
        table.add_column("Value", justify="right")
        table.add_column("Source", overflow="fold", ratio=3)
        table.add_column("Basis", overflow="fold", ratio=2)
        for year, value, status, source, basis in rows[
                ["year", "value", "status", "source", "basis"]].itertuples(index=False, name=None):
            table.add_row(str(year), _count(value, status), source, basis)
        console.print(table)
    placed = series[(series["measure"] == "cla_31_march") & (series["placement"] != "all")]
    if not placed.empty:
        _placement_table(placed, PLACEMENT_LABELS)
    if disagreements.empty:
        console.print("Where two sources give the same figure, they agree within rounding.")
        return
    table = Table(title="Sources that disagree beyond rounding (the value above is kept)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Year", "Measure", "Value", "Other source", "Its value"):
        table.add_column(column, overflow="fold",
                         justify="right" if column in ("Value", "Its value") else "left")
    for year, measure, placement, value, source, other in disagreements[
            ["year", "measure", "placement", "value", "other_source", "other_value"]].itertuples(
            index=False, name=None):
        what = measure if placement == "all" else f"{measure}: {placement}"
        table.add_row(str(year), what, _count(value, None), source, _count(other, None))
    console.print(table)


def _count(value: float | None, status: object) -> str:
    """A count as published: suppressed cells show their marker, partial sums are marked."""
    if value is None or value != value:
        return status if isinstance(status, str) else "–"
    return f"{value:,.0f}" + ("+" if status == "partial" else "")


def _placement_table(placed: pd.DataFrame, labels: dict[str, str]) -> None:
    """CLA at 31 March by placement type, one row per year, with the year's sources below."""
    text = placed.assign(text=[_count(v, s) for v, s in zip(placed["value"], placed["status"],
                                                            strict=True)])
    wide = text.pivot(index="year", columns="placement", values="text").fillna("–")
    columns = [p for p in labels if p in wide.columns]
    table = Table(title="Children looked after at 31 March by placement", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("Year")
    for placement in columns:
        table.add_column(SHORT_PLACEMENTS[placement], justify="right")
    for year, *cells in wide[columns].itertuples(name=None):
        table.add_row(str(year), *cells)
    console.print(table)
    basis = placed["basis"].str.replace(r" \(LAC_\w+\)|: cells summed.*$", "", regex=True)
    sources = placed.assign(basis=basis).groupby(["source", "basis"])["year"].agg(["min", "max"])
    for source, basis_text, first, last in sources.sort_values("min").reset_index().itertuples(
            index=False, name=None):
        years = str(first) if first == last else f"{first}-{last}"
        console.print(f"  {years}: {source} ({basis_text})", highlight=False)
    console.print("  " + "; ".join(f"{SHORT_PLACEMENTS[p]}: {labels[p]}" for p in columns),
                  highlight=False)
    console.print("  Types are sums of the published placement cells. n+: at least n, some cells "
                  "were suppressed (1-5 children); x, c: suppressed; -: not published",
                  highlight=False)
