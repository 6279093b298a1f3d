"""The on-disk indicator tables: the same tables as a fresh build, read back while the data are
unchanged, rebuilt after a reload or when the file is damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

import sf_benefits.benchmark.table_cache as table_cache
from sf_benefits.benchmark import tables
from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.indicator_table import AreaTable
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.store.embedded import open_current


def test_cached_tables_equal_a_fresh_build_and_are_read_back(
        store: Store, dfe_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_directory(store, dfe_dir)
    cache = tmp_path / "cache"
    cached = table_cache.cached_indicator_tables(store, store.url, cache)
    fresh = tables.indicator_tables(store, list(indicators().values()))
    assert list(cached) == list(fresh)
    for key, table in fresh.items():
        assert_same(cached[key].la, table.la)
        assert_same(cached[key].england, table.england)
        assert cached[key].joint_returns == table.joint_returns
        assert cached[key].suppressed == table.suppressed
    files = list(cache.glob("*.pickle"))
    assert len(files) == 1

    def no_rebuild(*_args: object) -> None:
        raise AssertionError("rebuilt although the data did not change")

    monkeypatch.setattr(tables, "indicator_tables", no_rebuild)
    again = table_cache.cached_indicator_tables(store, store.url, cache)
    assert_same(again["cla_rate_per_10k"].la, cached["cla_rate_per_10k"].la)


def test_the_embedded_connection_builds_and_reads_the_tables_store_reads(
        store: Store, dfe_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SQLAlchemy on a cache hit: the `sqlite3` connection keys the file as `Store`
    does, so each reads what the other wrote."""
    load_directory(store, dfe_dir)
    connection = open_current(store.url)
    assert connection is not None
    built = table_cache.cached_indicator_tables(connection, store.url, tmp_path)

    def no_rebuild(*_args: object) -> None:
        raise AssertionError("rebuilt although the data did not change")

    monkeypatch.setattr(tables, "indicator_tables", no_rebuild)
    read = table_cache.cached_indicator_tables(store, store.url, tmp_path)
    connection.close()
    assert_same(built["cla_rate_per_10k"].la, read["cla_rate_per_10k"].la)


def assert_same(cached: AreaTable, fresh: AreaTable) -> None:
    """Equal years, areas and values (repr, so that NaN equals NaN)."""
    assert (cached.years, cached.areas) == (fresh.years, fresh.areas)
    assert repr(cached.rows) == repr(fresh.rows)


def test_a_reload_or_a_damaged_file_rebuilds(store: Store, dfe_dir: Path, tmp_path: Path) -> None:
    load_directory(store, dfe_dir)
    cache = tmp_path / "cache"
    table_cache.cached_indicator_tables(store, store.url, cache)
    [first] = cache.glob("*.pickle")
    load_directory(store, dfe_dir)
    table_cache.cached_indicator_tables(store, store.url, cache)
    [second] = cache.glob("*.pickle")
    assert second.name != first.name, "a reload is a new data version"
    second.write_bytes(b"not a pickle")
    rebuilt = table_cache.cached_indicator_tables(store, store.url, cache)
    assert rebuilt["cla_rate_per_10k"].la.areas
