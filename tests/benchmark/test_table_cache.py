"""The on-disk indicator tables: the same tables as a fresh build, read back while the data are
unchanged, rebuilt after a reload or when the file is damaged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sf_benefits.benchmark.table_cache as table_cache
from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.engine import indicator_tables
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store


def test_cached_tables_equal_a_fresh_build_and_are_read_back(
        store: Store, dfe_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_directory(store, dfe_dir)
    cache = tmp_path / "cache"
    cached = table_cache.cached_indicator_tables(store, cache)
    fresh = indicator_tables(store, list(indicators().values()))
    assert list(cached) == list(fresh)
    for key, table in fresh.items():
        pd.testing.assert_frame_equal(cached[key].la, table.la)
        pd.testing.assert_series_equal(cached[key].england, table.england)
        assert cached[key].joint_returns == table.joint_returns
    files = list(cache.glob("*.pickle"))
    assert len(files) == 1

    def no_rebuild(*_args: object) -> None:
        raise AssertionError("rebuilt although the data did not change")

    monkeypatch.setattr(table_cache, "indicator_tables", no_rebuild)
    again = table_cache.cached_indicator_tables(store, cache)
    pd.testing.assert_frame_equal(again["cla_rate_per_10k"].la, cached["cla_rate_per_10k"].la)


def test_a_reload_or_a_damaged_file_rebuilds(store: Store, dfe_dir: Path, tmp_path: Path) -> None:
    load_directory(store, dfe_dir)
    cache = tmp_path / "cache"
    table_cache.cached_indicator_tables(store, cache)
    [first] = cache.glob("*.pickle")
    load_directory(store, dfe_dir)
    table_cache.cached_indicator_tables(store, cache)
    [second] = cache.glob("*.pickle")
    assert second.name != first.name, "a reload is a new data version"
    second.write_bytes(b"not a pickle")
    rebuilt = table_cache.cached_indicator_tables(store, cache)
    assert not rebuilt["cla_rate_per_10k"].la.empty
