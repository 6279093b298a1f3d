"""The same store code on the embedded database and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from sf_benefits.benchmark import benchmark_la
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.store.db import MIGRATIONS, in_background, migration_heads
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


def test_background_work_runs_in_order_and_its_error_reaches_the_caller() -> None:
    done: list[object] = []

    def work(item: object) -> None:
        if item == "bad":
            raise ValueError("refused")
        done.append(item)

    with pytest.raises(ValueError, match="refused"), in_background() as run:
        run(work, 1)
        run(work, "bad")
        run(work, 2)
    assert done == [1]
