"""The embedded store through sqlite3: used only on a current schema, reading what `Store` reads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sf_benefits.store import Store
from sf_benefits.store.embedded import (
    boundary_change_rows,
    data_version,
    local_authority_rows,
    open_current,
    statistical_neighbours,
)
from sf_benefits.store.queries import local_authorities as store_local_authorities


def test_only_a_current_or_new_sqlite_file_opens(tmp_path: Path) -> None:
    assert open_current(f"sqlite:///{tmp_path / 'no folder' / 'store.sqlite'}") is None
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    new = open_current(url)
    assert isinstance(new, sqlite3.Connection)
    assert new.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    new.close()
    assert Store.open(url, migrate=False).schema_is_current()
    assert open_current("postgresql+psycopg://postgres@127.0.0.1:5432/x") is None
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
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


def test_reads_give_what_the_store_gives(loaded_store: Store) -> None:
    connection = open_current(loaded_store.url)
    assert connection is not None
    try:
        read = pd.DataFrame(local_authority_rows(connection))
        assert read.equals(pd.DataFrame(local_authority_rows(loaded_store)))
        for la_code in ("E06000007", "E06000065", "E99999999"):
            assert (statistical_neighbours(connection, la_code)
                    == statistical_neighbours(loaded_store, la_code))
        assert statistical_neighbours(connection, "E06000007")[1]
        assert boundary_change_rows(connection) == boundary_change_rows(loaded_store)
        assert data_version(connection) == data_version(loaded_store)
    finally:
        connection.close()
    expected = store_local_authorities(loaded_store)
    assert not read.empty
    pd.testing.assert_frame_equal(read.astype(object).where(read.notna(), None),
                                  expected.astype(object).where(expected.notna(), None))


def test_importing_it_does_not_import_sqlalchemy() -> None:
    code = ("import sys, sf_benefits.store.embedded, sf_benefits.benchmark.authorities; "
            "print('sqlalchemy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
