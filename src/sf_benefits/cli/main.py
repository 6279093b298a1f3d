"""The `sf-benefits` command line: one Typer app, one sub-command group per engine or presenter."""

from __future__ import annotations

from sf_benefits.cli import backtest, benchmark, data, forecast, history
from sf_benefits.cli import project as project_cli
from sf_benefits.cli import report as report_cli
from sf_benefits.cli import serve as web_serve
from sf_benefits.cli import ssda903 as ssda903_cli
from sf_benefits.cli import sweep as sweep_cli
from sf_benefits.cli import track as track_cli
from sf_benefits.cli.common import root_app

app = root_app()
app.add_typer(data.app, name="data")
benchmark.add_commands(app)
app.command("history")(history.history)
app.command("backtest")(backtest.backtest)
app.command("forecast")(forecast.forecast)
app.command("serve")(web_serve.serve)
app.add_typer(web_serve.users_app, name="users")
app.command("project")(project_cli.project)
app.add_typer(project_cli.assumptions_app, name="assumptions")
app.command("report")(report_cli.report)
app.add_typer(track_cli.app, name="track")
app.add_typer(ssda903_cli.app, name="ssda903")
app.command("sweep")(sweep_cli.sweep)
