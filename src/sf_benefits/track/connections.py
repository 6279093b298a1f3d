"""Connections for the track engine's writes: the caller's own transaction when it passes one (so
its audit row and the engine's write commit or roll back together), else a transaction of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from sf_benefits.store import Store


@contextmanager
def writing(store: Store, conn: Connection | None) -> Iterator[Connection]:
    """`conn` as is (its owner commits) or, without one, a new transaction on `store`."""
    if conn is not None:
        yield conn
    else:
        with store.transaction() as own:
            yield own


@contextmanager
def reading(store: Store, conn: Connection | None) -> Iterator[Connection]:
    """`conn` as is, so reads see the caller's uncommitted writes, or a new connection."""
    if conn is not None:
        yield conn
    else:
        with store.engine.connect() as own:
            yield own
