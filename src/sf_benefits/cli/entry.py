"""The `sf-benefits` command as installed: `sf-benefits ssda903 ...` builds only the SSDA903
commands, `sf-benefits data ...` only the data commands and `sf-benefits benchmark|neighbours
...` only those two, so a user's load, projection or benchmark does not pay for importing and
building every other command (about a quarter of a second each time); for `ssda903`, Arrow
allocates from the same heap as numpy and pandas, so memory one frees the other reuses (30 MB
less at the peak of an England-sized load); anything else runs the full `main.app`. `ssda903
load` and `data load` also take their large blocks of memory straight from the system (see
`_large_blocks_mapped`)."""

from __future__ import annotations

import ctypes
import os
import sys

_M_MMAP_THRESHOLD = -3
_LARGE_BLOCK = 256 * 1024


def _large_blocks_mapped() -> None:
    """Have glibc map every block of 256 KiB or more on its own, so that the memory of an array
    goes back to the system when the array is freed (by default glibc raises that threshold as
    arrays are freed and reuses their memory for smaller blocks, which keeps it in the heap): the
    peak of an England-sized load is about 15 MB lower, for about 0.2 CPU s of page faults."""
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, _LARGE_BLOCK)
    except (OSError, AttributeError, TypeError):
        return


def main() -> None:
    """Run the command line."""
    if sys.argv[1:3] in (["ssda903", "load"], ["data", "load"]):
        _large_blocks_mapped()
    if sys.argv[1:2] == ["ssda903"]:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        from sf_benefits.cli import ssda903
        from sf_benefits.cli.common import root_app

        app = root_app()
        app.add_typer(ssda903.app, name="ssda903")
    elif sys.argv[1:2] in (["benchmark"], ["neighbours"]):
        from sf_benefits.cli import benchmark
        from sf_benefits.cli.common import root_app

        app = root_app()
        benchmark.add_commands(app)
    elif sys.argv[1:2] == ["data"]:
        from sf_benefits.cli import data
        from sf_benefits.cli.common import root_app

        app = root_app()
        app.add_typer(data.app, name="data")
    else:
        from sf_benefits.cli.main import app
    app()
