"""The installed `sf-benefits` command builds only the commands asked for."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

OTHER_COMMANDS = ("sf_benefits.cli.main", "sf_benefits.cli.backtest", "sf_benefits.cli.serve")


@pytest.mark.parametrize(("args", "shown", "not_imported"), [
    (["ssda903", "--help"], ["sf-benefits ssda903", "load"],
     (*OTHER_COMMANDS, "pandas", "sqlalchemy")),
    (["data", "load", "--help"], ["sf-benefits data load", "--from"],
     (*OTHER_COMMANDS, "sf_benefits.cli.ssda903")),
])
def test_a_command_starts_without_the_other_commands(args: list[str], shown: list[str],
                                                     not_imported: tuple[str, ...]) -> None:
    probe = ("import sys\nfrom sf_benefits.cli.entry import main\n"
             f"sys.argv = ['sf-benefits', *{args!r}]\n"
             "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
             f"print([m for m in {not_imported!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env={**os.environ, "COLUMNS": "200"})
    assert all(text in done.stdout for text in shown), done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
