"""store engine: one schema, embedded SQLite by default, PostgreSQL for a shared deployment.

`Store` is imported on first use, so a module of the package that needs no SQLAlchemy (such as
`heads`) can be imported without it."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sf_benefits.store.db import Store

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        return import_module("sf_benefits.store.db").Store
    raise AttributeError(name)
