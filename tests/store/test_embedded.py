"""The embedded store through sqlite3: used only on a current schema, reading what `Store` reads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from sf_benefits.store import Store
from sf_benefits.store.embedded import local_authorities, open_current
from sf_benefits.store.queries import local_authorities as store_local_authorities


def test_only_a_current_sqlite_file_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert open_current(url) is None
    assert not (tmp_path / "store.sqlite").exists()
    assert open_current("postgresql+psycopg://postgres@127.0.0.1:5432/x") is None
    old = Store.open(url, migrate=False)
    with old.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num TEXT)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('an older revision')")
    old.close()
    assert open_current(url) is None
    url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    Store.open(url).close()
    connection = open_current(url)
    assert isinstance(connection, sqlite3.Connection)
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    connection.close()
    assert open_current(url + "?mode=ro") is None


def test_local_authorities_as_the_store_reads_them(loaded_store: Store) -> None:
    connection = open_current(loaded_store.url)
    assert connection is not None
    read = local_authorities(connection)
    connection.close()
    expected = store_local_authorities(loaded_store)
    assert read
    assert read == expected.astype(object).where(expected.notna(), None).to_dict("records")


def test_importing_it_does_not_import_sqlalchemy() -> None:
    code = ("import sys, sf_benefits.store.embedded, sf_benefits.benchmark.authorities; "
            "print('sqlalchemy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
