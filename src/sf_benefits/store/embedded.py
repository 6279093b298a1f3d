"""The embedded store (SQLite) through the standard library's `sqlite3`, for commands that run a
few statements on a store already at the newest schema: it spares them importing SQLAlchemy
(a quarter of a CPU second, a third of an SSDA903 command on an LA's returns). Anything else, and
any store whose schema is not current, opens `Store`, which applies the migrations (a new, empty
store gets the newest schema at once, from `HEAD_SCHEMA`).

The small reads such a command makes (LAs, neighbours, boundary changes, data version) take
either, as plain rows, so `Store` and this connection give the same answers from one query."""

from __future__ import annotations

import ast
import re
import sqlite3
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sf_benefits.store.db import Store

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_SCHEMA = MIGRATIONS / "sqlite_head.sql"
"""The SQLite schema that every migration leads to, with its alembic revisions, as the statements
that make it: a new embedded store is made from it in one transaction rather than by alembic
running each migration (a second to import and run on a slow machine). A test checks it against
the migrations and says how to write it again after a new one."""
_SQLITE_FILE = "sqlite:///"
_SCHEMA_ORDER = {"table": 0, "view": 1, "index": 2, "trigger": 3}


@cache
def migration_heads() -> frozenset[str]:
    """The newest revision of each branch, read from the migration files' `revision` and
    `down_revision` lines, so an up-to-date store opens without loading alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        fields = dict(re.findall(r"^(revision|down_revision) = (.+)$",
                                 path.read_text(encoding="utf-8"), re.MULTILINE))
        revisions.add(ast.literal_eval(fields["revision"]))
        down = ast.literal_eval(fields["down_revision"])
        parents.update(down if isinstance(down, tuple) else [down] if down else [])
    return frozenset(revisions - parents)


def open_current(url: str) -> sqlite3.Connection | None:
    """A connection to the SQLite file of a plain `sqlite:///path` URL when its schema is at every
    migration head, a new or empty file being given the head schema first (as `Store` would give
    it); None otherwise (open `Store` instead, which migrates)."""
    path = Path(url[len(_SQLITE_FILE):]) if url.startswith(_SQLITE_FILE) else None
    if path is None or "?" in url or not path.parent.is_dir() or path.is_dir():
        return None
    connection = sqlite3.connect(path, timeout=10.0)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA journal_mode=WAL")
        stored = frozenset(row[0] for row in connection.execute(
            "SELECT version_num FROM alembic_version"))
    except sqlite3.Error:
        stored = frozenset()
    if stored != migration_heads() and not (not stored and create_head_schema(connection)):
        connection.close()
        return None
    return connection


def rows(store: Store | sqlite3.Connection, sql: str, **params: object) -> list[dict[str, Any]]:
    """The rows of one SELECT (named `:parameters`) as dicts, on `Store` or a `sqlite3`
    connection alike."""
    if isinstance(store, sqlite3.Connection):
        cursor = store.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def local_authority_rows(store: Store | sqlite3.Connection) -> list[dict[str, Any]]:
    """Every LA in the store, by name: codes, name, region and the years it appears in the data."""
    return rows(store, "SELECT * FROM local_authority ORDER BY la_name")


def statistical_neighbours(store: Store | sqlite3.Connection, la_code: str,
                           model: str | None = None) -> tuple[str, list[str]]:
    """The LA's neighbours in rank order under `model` (default: the newest model loaded; a model
    not in the store is refused with the models that are). Renames
    are followed both ways, as the indicator series join them: a model that lists the LA under
    its former code gives its neighbours, and a neighbour listed under a former code is given
    under the code its figures are kept under (North Yorkshire's 815 is E10000023 in the lookups,
    E06000065 in the data)."""
    if model is not None:
        models = [r["model"] for r in rows(
            store, "SELECT DISTINCT model FROM statistical_neighbour ORDER BY model")]
        if model not in models:
            raise ValueError(f"no statistical neighbour model {model!r} in the store; models "
                             f"loaded: {', '.join(models) or 'none'}")
    renamed = {r["predecessor_code"]: r["successor_code"] for r in rows(
        store, "SELECT predecessor_code, successor_code FROM boundary_change "
               "WHERE kind = 'rename'")}
    codes = [la_code, *(old for old, new in renamed.items() if new == la_code)]
    found = rows(store, "SELECT la_code, model, rank, neighbour_code FROM statistical_neighbour "
                        f"WHERE la_code IN ({', '.join(f':c{i}' for i in range(len(codes)))})",
                 **{f"c{i}": code for i, code in enumerate(codes)})
    if not found:
        return model or "", []
    model = model or max(r["model"] for r in found)
    listed = [r for r in found if r["model"] == model]
    under = min((r["la_code"] for r in listed), key=codes.index, default=la_code)
    return model, [renamed.get(r["neighbour_code"], r["neighbour_code"]) for r in sorted(
        (r for r in listed if r["la_code"] == under), key=lambda r: r["rank"])]


def boundary_change_rows(store: Store | sqlite3.Connection) -> list[dict[str, Any]]:
    """Every reorganisation in the store, in the order loaded."""
    return rows(store, "SELECT * FROM boundary_change")


def series_break_in(changes: Iterable[Mapping[Any, Any]], la_code: str) -> str | None:
    """Why the LA's series cannot go back before its formation (from `boundary_change_rows`),
    or None if nothing stops it."""
    formed = [c for c in changes if c["successor_code"] == la_code and c["kind"] != "rename"]
    if not formed:
        return None
    first = min(int(c["first_year"]) for c in formed)
    return (f"series starts in {first}: {formed[0]['note']}; earlier figures describe a "
            "different area and are not joined")


def data_version(store: Store | sqlite3.Connection) -> str:
    """Changes whenever published data are (re)loaded, so anything cached from them is rebuilt."""
    [row] = rows(store, "SELECT count(*) AS loads, max(loaded_at) AS latest FROM data_load")
    return f"{row['loads']}:{row['latest'] or ''}"


def schema_script(connection: sqlite3.Connection) -> str:
    """An SQLite store's schema and alembic revisions as the statements that recreate them on an
    empty store, each as SQLite keeps it, in a fixed order: tables, views, indexes, triggers, each
    by name (the indexes SQLite makes for a table's constraints come with the table)."""
    objects = connection.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
    statements = [sql for _, _, sql in sorted(objects, key=lambda o: (_SCHEMA_ORDER[o[0]], o[1]))]
    statements += [f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')"
                   for (revision,) in connection.execute(
                       "SELECT version_num FROM alembic_version ORDER BY version_num")]
    return "".join(f"{statement};\n" for statement in statements)


def create_head_schema(connection: sqlite3.Connection) -> bool:
    """Give an SQLite store with no tables the newest schema from `HEAD_SCHEMA`, stamped at the
    migration heads, in one transaction; True when done. False, changing nothing, when the store
    has any table (it migrates as usual), or the file is not of the current heads."""
    if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        return False
    try:
        connection.execute("BEGIN IMMEDIATE")
        for statement in _statements(HEAD_SCHEMA.read_text(encoding="utf-8")):
            connection.execute(statement)
        stamped = frozenset(row[0] for row in connection.execute(
            "SELECT version_num FROM alembic_version"))
        if stamped != migration_heads():
            connection.rollback()
            return False
        connection.commit()
    except sqlite3.Error:
        connection.rollback()
        return False
    return True


def _statements(script: str) -> list[str]:
    """The statements of a `schema_script`, each exactly as written before its ';'."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.removesuffix("\n").removesuffix(";"))
            pending = ""
    return statements
