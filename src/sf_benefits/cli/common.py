"""Helpers every CLI command shares: opening the store, resolving `--la`, output paths, progress
bars, errors as plain messages.

Engines, pandas and the database libraries are imported inside the functions that use them, so
`sf-benefits --help` and each command load only what they need.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import pandas as pd

    from sf_benefits.benchmark import LocalAuthority
    from sf_benefits.project.inputs import ProjectionData
    from sf_benefits.store import Store

console = Console()
errors = Console(stderr=True)


def root_app() -> typer.Typer:
    """The `sf-benefits` command group, without its commands (added by `main` and `entry`)."""
    return typer.Typer(
        name="sf-benefits",
        help="Benchmark, project and track the benefits of the SFPC innovations.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )

GSS_CODE = re.compile(r"^[EW]\d{8}$")
CSV_DECIMALS = 4
"""Decimal places in CSV exports: enough for any rate or £, and no float noise such as
-25.900000000000006."""


def open_store(database_url: str | None = None) -> Store:
    from sf_benefits.store import Store

    return Store.open(database_url)


@contextmanager
def embedded_or_store(database_url: str | None = None, *, embedded: bool = True
                      ) -> Iterator[Store | sqlite3.Connection]:
    """The store for a command of a few statements: the embedded SQLite file through `sqlite3`
    when its schema is current (no SQLAlchemy to import), else (or without `embedded`) `Store`
    (which migrates)."""
    from sf_benefits import config
    from sf_benefits.store.embedded import open_current

    connection = open_current(database_url or config.database_url()) if embedded else None
    store: Store | sqlite3.Connection = connection or open_store(database_url)
    try:
        yield store
    finally:
        store.close()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr and return the Exit to raise."""
    errors.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print a warning on stderr."""
    errors.print(f"[yellow]Warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def resolve_authority(store: Store | sqlite3.Connection, text: str, *, la_name: str | None = None,
                      code_without_list: bool = False, hint: str = "") -> LocalAuthority:
    """The one meaning of `--la` in every command: an LA by name (a typo gets "did you mean"),
    3-digit code or GSS code, from the store's LA list; `hint` ends the error.

    A GSS code missing from the list is taken under `la_name` when one is given, and with
    `code_without_list` while the store holds no LA list yet (SSDA903 returns may come first)."""
    from sf_benefits.benchmark.authorities import (
        LocalAuthority,
        UnknownLocalAuthority,
        all_authorities,
        la_in,
    )

    las = all_authorities(store)
    code = text.strip().upper()
    try:
        return la_in(las, text)
    except UnknownLocalAuthority as exc:
        if GSS_CODE.match(code) and (la_name or (code_without_list and not las)):
            return LocalAuthority(code, None, la_name or code, None, None)
        raise fail(f"{exc}{hint}") from None


def output_file(path: Path, *suffixes: str) -> Path:
    """The rule for every file a command writes: the suffix must be one of `suffixes` (when
    given), and a missing folder is created."""
    if suffixes and path.suffix.lower() not in suffixes:
        raise fail(f"{path} must end in {' or '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def output_folder(path: Path) -> Path:
    """A folder a command writes files into, created if missing."""
    if path.exists() and not path.is_dir():
        raise fail(f"{path} is a file; give a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_output(name: str) -> Path:
    """Where a file goes when no `--out` is given: `SF_BENEFITS_OUTPUT_DIR`, else `./out`."""
    from sf_benefits import config

    return config.output_dir() / name


def csv_text(frame: pd.DataFrame) -> str:
    """A table as CSV with floats rounded to CSV_DECIMALS places (no binary float noise) and text
    that a spreadsheet would run as a formula neutralised (`sf_benefits.csv_export`)."""
    from sf_benefits.csv_export import csv_text as safe_csv_text

    return safe_csv_text(frame.round(CSV_DECIMALS))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV (see `csv_text`), creating the folder."""
    output_file(path).write_text(csv_text(frame), encoding="utf-8")


def require_care_history(store: Store | sqlite3.Connection, data: ProjectionData, la_code: str,
                         la_name: str, then: str = "") -> None:
    """Refuse to project an LA the store holds no care history for, saying why: an LA formed in
    a reorganisation after the last published year (Cumberland) has none yet; otherwise the
    data are not loaded. `then` ends the message."""
    from sf_benefits.store.embedded import boundary_change_rows, series_break_in

    if not data.history(la_code).empty:
        return
    changes = boundary_change_rows(store)
    broken = series_break_in(changes, la_code)
    if broken:
        former = sorted({c["predecessor_code"] for c in changes if c["successor_code"] == la_code})
        raise fail(f"no published care history for {la_name} yet: its {broken}; "
                   f"project the former LA ({', '.join(former)}) or the LA's own SSDA903 "
                   f"returns (`sf-benefits ssda903 project`){then}")
    raise fail(f"the store holds no care history for {la_name}; "
               f"run `sf-benefits data load` first{then}")


@contextmanager
def projection_errors(model: str) -> Iterator[None]:
    """A projection's errors as plain messages: parameters without a value (exit 2, saying how to
    list them), bad assumptions, overrides or demand data (exit 1)."""
    from sf_benefits.assumptions import MissingAssumptionError

    try:
        yield
    except MissingAssumptionError as error:
        raise fail(f"{error}\nSee them with `sf-benefits assumptions list --model {model}`.",
                   code=2) from None
    except ValueError as error:
        raise fail(str(error)) from None


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar, handed to engines as a `(label, done, total)` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[label]}"), TimeElapsedColumn(),
                  console=errors, transient=False) as progress:
        task = progress.add_task(description, total=None, label="")

        def update(label: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, label=label)

        yield update
