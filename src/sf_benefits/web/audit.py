"""The audit log: one row for every write anyone makes through the web app or its API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from sf_benefits.store import Store
from sf_benefits.web.tables import audit_event


@dataclass(frozen=True)
class Actor:
    """Who made a write and from where (a user, or the command line when user_id is None)."""

    user_id: int | None
    email: str | None
    ip: str | None


def record(conn: Connection, actor: Actor, action: str, *, la_code: str | None = None,
           target_type: str | None = None, target_id: str | int | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Add an audit row inside the caller's transaction, so the write and its record go together."""
    conn.execute(audit_event.insert().values(
        occurred_at=datetime.now(UTC),
        user_id=actor.user_id,
        user_email=actor.email,
        ip=actor.ip,
        la_code=la_code,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=json.dumps(detail or {}, sort_keys=True, default=str),
    ))


def recent_events(store: Store, limit: int = 200, la_code: str | None = None,
                  offset: int = 0) -> list[dict[str, Any]]:
    """The latest audit rows, newest first (skipping `offset`), optionally for one LA."""
    query = select(audit_event).order_by(audit_event.c.id.desc()).limit(limit).offset(offset)
    if la_code is not None:
        query = query.where(audit_event.c.la_code == la_code)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{**row, "detail": json.loads(row["detail"])} for row in rows]


def detail_summary(detail: Any, width: int = 140) -> str:
    """An audit row's detail in one short line ("kind: projection; n_draws: 500; …"); the page
    keeps the full record one click away."""
    if not isinstance(detail, dict):
        return str(detail)[:width]
    parts = []
    for key, value in detail.items():
        if isinstance(value, dict):
            shown = f"{len(value)} value(s)" if value else "none"
        elif isinstance(value, list):
            shown = f"{len(value)} item(s)"
        else:
            shown = str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    text = "; ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"
