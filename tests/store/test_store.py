"""The same store code on the embedded database and on a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from sf_benefits.benchmark import benchmark_la
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store, embedded
from sf_benefits.store.db import (
    MIGRATIONS,
    head_schema_of_migrations,
    migration_heads,
)
from sf_benefits.store.embedded import HEAD_SCHEMA, create_head_schema
from sf_benefits.store.queries import care_history


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[Store]:
    """The store on a fresh PostgreSQL database."""
    store = Store.open(postgres_url)
    yield store
    store.close()


def check_store(store: Store, dfe_dir: Path) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"local_authority", "observation", "statistical_neighbour", "boundary_change",
            "data_load", "alembic_version"} <= tables
    report = load_directory(store, dfe_dir)
    assert report.local_authorities == 22
    result = benchmark_la(store, "Warrington", year=2023)
    assert result.indicators[0].la_value is not None
    assert len(care_history(store)) > 0


def test_embedded_store(store: Store, dfe_dir: Path) -> None:
    check_store(store, dfe_dir)


@pytest.mark.postgres
def test_postgres_store(postgres_store: Store, dfe_dir: Path) -> None:
    check_store(postgres_store, dfe_dir)


@pytest.mark.postgres
def test_same_benchmark_on_both_databases(store: Store, postgres_store: Store,
                                          dfe_dir: Path) -> None:
    for s in (store, postgres_store):
        load_directory(s, dfe_dir)
    embedded = benchmark_la(store, "Leeds").to_frames()["summary"]
    server = benchmark_la(postgres_store, "Leeds").to_frames()["summary"]
    assert embedded.equals(server)


def test_migrations_are_repeatable(store: Store) -> None:
    store.migrate()
    store.migrate()
    with store.engine.connect() as conn:
        heads = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    script = ScriptDirectory(str(MIGRATIONS))
    assert heads == set(script.get_heads())


def test_an_up_to_date_store_opens_without_alembic(tmp_path: Path) -> None:
    assert migration_heads() == set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    store = Store.open(url)
    assert store.schema_is_current()
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0004_web'"))
        for table in ("background_job", "saved_scenario", "audit_event", "login_attempt",
                      "web_session", "web_user"):
            conn.execute(text(f"DROP TABLE {table}"))
    assert not store.schema_is_current()
    store.close()
    reopened = Store.open(url)
    assert reopened.schema_is_current()
    assert "audit_event" in inspect(reopened.engine).get_table_names()
    reopened.close()


def sqlite_schema(store: Store) -> tuple[list[tuple[str, ...]], list[str]]:
    """Every object SQLite keeps for the store (type, name, table, SQL, SQLite's own indexes
    included) and the alembic revisions it is stamped with."""
    with store.engine.connect() as conn:
        objects = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                       "ORDER BY type, name").all()
        stamped = conn.exec_driver_sql("SELECT version_num FROM alembic_version "
                                       "ORDER BY version_num").scalars().all()
    return [tuple(row) for row in objects], list(stamped)


def test_a_new_store_made_at_once_has_the_schema_of_every_migration(tmp_path: Path) -> None:
    migrated = Store.open(f"sqlite:///{tmp_path / 'migrated.sqlite'}", migrate=False)
    migrated.upgrade()
    made = Store.open(f"sqlite:///{tmp_path / 'made.sqlite'}")
    schema, stamped = sqlite_schema(made)
    assert (schema, stamped) == sqlite_schema(migrated)
    assert len(schema) > 50 and set(stamped) == migration_heads()
    assert HEAD_SCHEMA.read_text(encoding="utf-8") == head_schema_of_migrations(), (
        "a migration changed the schema: write the snapshot again with .venv/bin/python -c "
        "'from sf_benefits.store.db import *; HEAD_SCHEMA.write_text(head_schema_of_migrations())'")
    made.close()
    migrated.close()
    code = ("import sys; from sf_benefits.store import Store; "
            f"Store.open('sqlite:///{tmp_path / 'new.sqlite'}'); print('alembic' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_only_an_empty_store_is_made_at_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A store with any table of its own is migrated and keeps the table; a snapshot of other
    revisions than the migration heads is not used."""
    url = f"sqlite:///{tmp_path / 'own.sqlite'}"
    own = Store.open(url, migrate=False)
    with own.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (text TEXT)")
        conn.exec_driver_sql("INSERT INTO notes VALUES ('kept')")
    own.migrate()
    assert own.schema_is_current()
    with own.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT text FROM notes").scalar() == "kept"
    own.close()
    stale = tmp_path / "stale.sql"
    stale.write_text(HEAD_SCHEMA.read_text(encoding="utf-8").replace(
        "'0004_web'", "'0003_ssda903'"), encoding="utf-8")
    monkeypatch.setattr(embedded, "HEAD_SCHEMA", stale)
    connection = sqlite3.connect(tmp_path / "stale.sqlite")
    assert not create_head_schema(connection)
    assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    connection.close()
    store = Store.open(f"sqlite:///{tmp_path / 'stale.sqlite'}")
    assert store.schema_is_current()
    assert sqlite_schema(store)[1] == sorted(migration_heads())
    store.close()
