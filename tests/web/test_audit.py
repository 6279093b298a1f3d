"""An audited write and its audit row commit together: when the audit insert fails, the engine's
write is rolled back, and the same action can then be done again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.track import tables as track_tables
from sf_benefits.web import audit
from sf_benefits.web.audit import Actor
from sf_benefits.web.services import lock_baseline_job
from sf_benefits.web.tables import audit_event
from sf_benefits.web.tracking_view import upload_actuals
from tests.web.conftest import LA_A, MODEL, runnable_overrides

ACTOR = Actor(7, "analyst@example.gov.uk", "203.0.113.9")
ACTUALS = b"period,measure,placement,count,spend_gbp\n2025-26 Q1,cla,all,600,\n"


@pytest.fixture
def fresh_store(tmp_path: Path, dfe_dir: Path) -> Iterator[Store]:
    """A store of its own with the synthetic DfE data, so failed writes cannot leak elsewhere."""
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    load_directory(store, dfe_dir)
    yield store
    store.close()


@pytest.fixture
def broken_audit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Audit rows go to a table the database lacks, so the audit insert itself fails."""
    missing = audit_event.to_metadata(sa.MetaData(), name="audit_event_missing")
    with monkeypatch.context() as patch:
        patch.setattr(audit, "audit_event", missing)
        yield


def _count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _lock_params() -> dict[str, Any]:
    return {"la_code": LA_A, "la_name": "Leeds", "model": MODEL, "go_live_date": "2025-04-01",
            "scenario_name": "Leeds business case", "scenario_id": 1, "by": ACTOR.email,
            "user_id": ACTOR.user_id, "ip": ACTOR.ip, "horizon_years": 5, "n_draws": 50,
            "seed": 7, "method": "stock_flow", "overrides": runnable_overrides(MODEL)}


def test_a_failed_audit_row_rolls_back_the_actuals_import(fresh_store: Store,
                                                          broken_audit: None) -> None:
    with pytest.raises(sa.exc.OperationalError, match="audit_event_missing"):
        upload_actuals(fresh_store, LA_A, "leeds.csv", ACTUALS, "Q1", ACTOR)
    assert _count(fresh_store, track_tables.actuals_import) == 0
    assert _count(fresh_store, track_tables.actual) == 0


def test_a_failed_audit_row_rolls_back_the_go_live_and_its_locked_baseline(
        fresh_store: Store, broken_audit: None) -> None:
    with pytest.raises(sa.exc.OperationalError, match="audit_event_missing"):
        lock_baseline_job(fresh_store, _lock_params(), lambda _fraction, _message: None)
    for table in (track_tables.implementation, track_tables.baseline_version,
                  track_tables.baseline_value, track_tables.baseline_unit_cost):
        assert _count(fresh_store, table) == 0, table.name


def test_with_the_audit_working_each_write_commits_with_its_audit_row(fresh_store: Store) -> None:
    done = upload_actuals(fresh_store, LA_A, "leeds.csv", ACTUALS, "Q1", ACTOR)
    locked = lock_baseline_job(fresh_store, _lock_params(), lambda _fraction, _message: None)
    with fresh_store.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_event.c.action, audit_event.c.target_id)
                            .order_by(audit_event.c.id)).all()
    assert [tuple(r) for r in rows] == [("actuals.import", done.import_id),
                                        ("baseline.lock", locked["implementation_id"])]
    assert _count(fresh_store, track_tables.implementation) == 1
    assert _count(fresh_store, track_tables.actuals_import) == 1
