"""The `sf-benefits` command as installed: `sf-benefits ssda903 ...` builds only the SSDA903
commands, `sf-benefits data ...` only the data commands and `sf-benefits benchmark|neighbours
...` only those two, so a user's load, projection or benchmark does not pay for importing and
building every other command (about a quarter of a second each time); for `ssda903`, Arrow
allocates from the same heap as numpy and pandas, so memory one frees the other reuses (30 MB
less at the peak of an England-sized load); anything else runs the full `main.app`. The two loads
also tune glibc's malloc: `ssda903 load` keeps every thread's memory in one heap
(`_one_malloc_arena`), `data load` gives large blocks straight back (`_large_blocks_mapped`)."""

from __future__ import annotations

import os
import sys

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_LARGE_BLOCK = 1024 * 1024


def _mallopt(option: int, value: int) -> None:
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(option, value)
    except (OSError, AttributeError, TypeError):
        return


def _one_malloc_arena() -> None:
    """Have glibc keep the memory of every thread in one heap: the threads that read the files
    would otherwise each get a heap of their own, whose freed memory the main thread cannot reuse.
    With one heap, the large blocks an England-sized load frees are reused rather than mapped
    afresh (a fifth of the page faults and 0.6 CPU s less, for 20 MB more at the peak than mapping
    each block of 256 KiB or more on its own and giving it back when freed)."""
    _mallopt(_M_ARENA_MAX, 1)


def _large_blocks_mapped() -> None:
    """Have glibc map every block of 1 MiB or more on its own, so that the memory of an array
    goes back to the system when the array is freed (by default glibc raises that threshold as
    arrays are freed and reuses their memory for smaller blocks, which keeps it in the heap): the
    parsing and loading processes of a data load peak about 40 MB lower together. (From 256 KiB,
    mapping blocks costs more system time and lowers the peak no further.)"""
    _mallopt(_M_MMAP_THRESHOLD, _LARGE_BLOCK)


def main() -> None:
    """Run the command line."""
    if sys.argv[1:3] == ["ssda903", "load"]:
        _one_malloc_arena()
    elif sys.argv[1:3] == ["data", "load"]:
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
