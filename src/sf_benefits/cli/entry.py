"""The `sf-benefits` command as installed: `sf-benefits ssda903 ...` builds only the SSDA903
commands, so a user's load or projection does not pay for importing and building every other
command (about a quarter of a second each time), and Arrow allocates from the same heap as
numpy and pandas, so memory one frees the other reuses (30 MB less at the peak of an
England-sized load); anything else runs the full `main.app`."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the command line."""
    if sys.argv[1:2] == ["ssda903"]:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        from sf_benefits.cli import ssda903
        from sf_benefits.cli.common import root_app

        app = root_app()
        app.add_typer(ssda903.app, name="ssda903")
    else:
        from sf_benefits.cli.main import app
    app()
