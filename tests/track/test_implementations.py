"""Implementations and locked baselines: a lock never changes, in the engine or in the database."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from sf_benefits.ingest.errors import IngestError
from sf_benefits.store import Store
from sf_benefits.track import (
    BaselineLockedError,
    Implementation,
    TrackError,
    get_implementation,
    list_implementations,
    load_baseline,
    lock_baseline,
    record_baseline_revision,
    record_implementation,
    tables,
    verify_baseline,
)
from tests.track.conftest import UNIT_COSTS, baseline_table

LOCK_META = {"price_base_year": "2024-25", "data_vintage": "DfE CLA 2020 release",
             "assumptions_version": "defaults v1", "method": "stock_flow", "seed": 7}


def _snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
                for name, table in (("version", tables.baseline_version),
                                    ("value", tables.baseline_value),
                                    ("cost", tables.baseline_unit_cost))}


def test_record_and_find_implementation(store: Store, implementation: Implementation) -> None:
    found = get_implementation(store, implementation.implementation_id[:8])
    assert found.la_name == "Darlington" and found.go_live_date == date(2020, 6, 1)
    assert not found.approximate
    assert [i.implementation_id for i in list_implementations(store)] == [
        implementation.implementation_id]
    with pytest.raises(TrackError, match="already has"):
        record_implementation(store, "E06000005", "Darlington", "family_valued",
                              date(2021, 1, 1), "again")
    with pytest.raises(TrackError, match="unknown model"):
        record_implementation(store, "E06000005", "Darlington", "magic", date(2021, 1, 1), "x")


def test_lock_stores_table_with_provenance(store: Store, implementation: Implementation) -> None:
    table = baseline_table()
    locked = lock_baseline(store, implementation.implementation_id, table, UNIT_COSTS, **LOCK_META)
    loaded = load_baseline(store, implementation.implementation_id)
    assert loaded.content_sha256 == locked.content_sha256
    assert loaded.data_vintage == "DfE CLA 2020 release" and loaded.seed == 7
    assert loaded.price_base_year == "2024-25" and loaded.revision == 0
    pd.testing.assert_frame_equal(loaded.values, locked.values, check_dtype=False)
    assert set(loaded.unit_costs["placement"]) == set(UNIT_COSTS)
    assert verify_baseline(store, implementation.implementation_id)
    assert set(loaded.to_frames()) == {"baseline_values", "baseline_unit_costs",
                                       "baseline_provenance"}


def test_second_lock_is_an_error_and_changes_nothing(store: Store,
                                                     implementation: Implementation) -> None:
    lock_baseline(store, implementation.implementation_id, baseline_table(), UNIT_COSTS,
                  **LOCK_META)
    before = _snapshot(store)
    with pytest.raises(BaselineLockedError):
        lock_baseline(store, implementation.implementation_id, baseline_table(growth=99.0),
                      UNIT_COSTS, **LOCK_META)
    assert _snapshot(store) == before
    assert verify_baseline(store, implementation.implementation_id)


@pytest.mark.parametrize("statement", [
    "UPDATE track_baseline_value SET p50 = p50 + 1",
    "DELETE FROM track_baseline_value",
    "UPDATE track_baseline_version SET data_vintage = 'rewritten'",
    "DELETE FROM track_baseline_unit_cost",
])
def test_database_refuses_to_change_a_lock(store: Store, implementation: Implementation,
                                           statement: str) -> None:
    lock_baseline(store, implementation.implementation_id, baseline_table(), UNIT_COSTS,
                  **LOCK_META)
    before = _snapshot(store)
    with pytest.raises((IntegrityError, DBAPIError), match="immutable"), \
            store.transaction() as conn:
        conn.execute(sa.text(statement))
    assert _snapshot(store) == before
    assert verify_baseline(store, implementation.implementation_id)


def test_revision_is_recorded_beside_the_lock(store: Store,
                                              implementation: Implementation) -> None:
    with pytest.raises(TrackError, match="lock the baseline"):
        record_baseline_revision(store, implementation.implementation_id, baseline_table(),
                                 UNIT_COSTS, reason="r", **LOCK_META)
    locked = lock_baseline(store, implementation.implementation_id, baseline_table(), UNIT_COSTS,
                           **LOCK_META)
    revised = record_baseline_revision(
        store, implementation.implementation_id, baseline_table(opening=1010.0), UNIT_COSTS,
        reason="DfE revised 2020 figure", **{**LOCK_META, "data_vintage": "DfE 2021 release"})
    assert revised.revision == 1 and revised.kind == "revision"
    again = load_baseline(store, implementation.implementation_id)
    assert again.content_sha256 == locked.content_sha256
    assert load_baseline(store, implementation.implementation_id, 1).data_vintage == (
        "DfE 2021 release")


def test_bad_baseline_table_writes_nothing(store: Store, implementation: Implementation) -> None:
    table = baseline_table()
    table.loc[3, "p10"] = float(table["p90"].iloc[3]) + 5
    table.loc[4, "placement"] = "castle"
    with pytest.raises(IngestError) as caught:
        lock_baseline(store, implementation.implementation_id, table, UNIT_COSTS, **LOCK_META)
    rules = {p.rule for p in caught.value.problems}
    assert {"placement_known", "p10_le_p50_le_p90"} <= rules
    with pytest.raises(IngestError, match="cost_positive"):
        lock_baseline(store, implementation.implementation_id, baseline_table(),
                      {"foster": -1.0}, **LOCK_META)
    assert _snapshot(store) == {"version": [], "value": [], "cost": []}


@pytest.mark.postgres
def test_postgres_refuses_to_change_a_lock(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        code = f"E99{uuid.uuid4().int % 10**6:06d}"
        imp = record_implementation(store, code, "Test LA", "no_wrong_door", date(2020, 2, 1),
                                    "postgres immutability test")
        lock_baseline(store, imp.implementation_id, baseline_table(), UNIT_COSTS, **LOCK_META)
        where = f"WHERE implementation_id = '{imp.implementation_id}'"
        for statement in (f"UPDATE track_baseline_value SET p50 = 0 {where}",
                          f"DELETE FROM track_baseline_version {where}",
                          "TRUNCATE track_baseline_value CASCADE"):
            with pytest.raises(DBAPIError, match="immutable"), store.transaction() as conn:
                conn.execute(sa.text(statement))
        with pytest.raises(BaselineLockedError):
            lock_baseline(store, imp.implementation_id, baseline_table(), UNIT_COSTS,
                          **LOCK_META)
        assert verify_baseline(store, imp.implementation_id)
    finally:
        store.close()
