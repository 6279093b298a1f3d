"""store engine: one schema, embedded SQLite by default, PostgreSQL for a shared deployment."""

from sf_benefits.store.db import Store

__all__ = ["Store"]
