"""The embedded store (SQLite) through the standard library's `sqlite3`, for commands that run a
few statements on a store already at the newest schema: it spares them importing SQLAlchemy
(a quarter of a CPU second, a third of an SSDA903 command on an LA's returns). Anything else, and
any store whose schema is not current, opens `Store`, which applies the migrations."""

from __future__ import annotations

import ast
import re
import sqlite3
from functools import cache
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
_SQLITE_FILE = "sqlite:///"


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
    """A connection to the SQLite file of a plain `sqlite:///path` URL when the file exists and
    its schema is at every migration head; None otherwise (open `Store` instead)."""
    path = Path(url[len(_SQLITE_FILE):]) if url.startswith(_SQLITE_FILE) else None
    if path is None or "?" in url or not path.is_file():
        return None
    connection = sqlite3.connect(path, timeout=10.0)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        stored = frozenset(row[0] for row in connection.execute(
            "SELECT version_num FROM alembic_version"))
    except sqlite3.Error:
        stored = frozenset()
    if stored != migration_heads():
        connection.close()
        return None
    return connection


def local_authorities(connection: sqlite3.Connection) -> list[dict[str, object]]:
    """Every LA in the store, as the records of `store.queries.local_authorities` (no pandas:
    resolving `--la` is all most commands on this path need of them)."""
    cursor = connection.execute("SELECT * FROM local_authority ORDER BY la_name")
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
