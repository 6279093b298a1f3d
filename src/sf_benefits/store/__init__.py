"""store engine: one schema, embedded SQLite by default, PostgreSQL for a shared deployment.

`Store` is imported on first use, so a module of the package that needs no SQLAlchemy (such as
`heads`) can be imported without it."""

from typing import TYPE_CHECKING

from sf_benefits.lazy import lazy_exports

if TYPE_CHECKING:
    from sf_benefits.store.db import Store

__all__ = ["Store"]


__getattr__ = lazy_exports(__name__, {"db": ("Store",)})
