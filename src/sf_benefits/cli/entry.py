"""The `sf-benefits` command as installed: `sf-benefits ssda903 ...` builds only the SSDA903
commands and `sf-benefits benchmark|neighbours ...` only those two, so a user's load, projection
or benchmark does not pay for importing and building every other command (about a quarter of a
second each time); for `ssda903`, Arrow allocates from the same heap as
numpy and pandas, so memory one frees the other reuses (30 MB less at the peak of an
England-sized load); anything else runs the full `main.app`. `ssda903 load` also keeps every
thread's memory in one heap (see `_one_malloc_arena`)."""

from __future__ import annotations

import os
import sys

_M_ARENA_MAX = -8


def _one_malloc_arena() -> None:
    """Have glibc keep the memory of every thread in one heap: the threads that read the files
    would otherwise each get a heap of their own, whose freed memory the main thread cannot reuse.
    With one heap, the large blocks an England-sized load frees are reused rather than mapped
    afresh (a fifth of the page faults and 0.6 CPU s less, for 20 MB more at the peak than mapping
    each block of 256 KiB or more on its own and giving it back when freed)."""
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)
    except (OSError, AttributeError, TypeError):
        return


def main() -> None:
    """Run the command line."""
    if sys.argv[1:2] == ["ssda903"]:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        if sys.argv[2:3] == ["load"]:
            _one_malloc_arena()
        from sf_benefits.cli import ssda903
        from sf_benefits.cli.common import root_app

        app = root_app()
        app.add_typer(ssda903.app, name="ssda903")
    elif sys.argv[1:2] in (["benchmark"], ["neighbours"]):
        from sf_benefits.cli import benchmark
        from sf_benefits.cli.common import root_app

        app = root_app()
        benchmark.add_commands(app)
    else:
        from sf_benefits.cli.main import app
    app()
