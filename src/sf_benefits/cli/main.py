"""The `sf-benefits` command line: one Typer app, one sub-command group per engine or presenter."""

from __future__ import annotations

import typer

from sf_benefits.cli import benchmark, data

app = typer.Typer(
    name="sf-benefits",
    help="Benchmark, project and track the benefits of the SFPC innovations.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data")
app.command("benchmark")(benchmark.benchmark)
app.command("neighbours")(benchmark.neighbours_command)
