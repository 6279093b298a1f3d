"""The `sf-benefits` command as installed: `sf-benefits ssda903 ...` builds only the SSDA903
commands, so a user's load or projection does not pay for importing and building every other
command (about a quarter of a second each time); anything else runs the full `main.app`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line."""
    if sys.argv[1:2] == ["ssda903"]:
        from sf_benefits.cli import ssda903
        from sf_benefits.cli.common import root_app

        app = root_app()
        app.add_typer(ssda903.app, name="ssda903")
    else:
        from sf_benefits.cli.main import app
    app()
