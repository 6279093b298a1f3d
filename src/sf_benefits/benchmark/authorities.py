"""Local authorities as the store knows them, and `--la` text resolved to one (by name, 3-digit
or GSS code), apart from the benchmark engine so that commands which only need an LA do not
import the indicator catalogue."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sf_benefits.store import Store


@dataclass(frozen=True)
class LocalAuthority:
    """An upper-tier LA as the store knows it."""

    la_code: str
    old_la_code: str | None
    la_name: str
    region_code: str | None
    region_name: str | None


class UnknownLocalAuthority(LookupError):
    """The text matched no LA; the message suggests the closest names."""


def resolve_la(store: Store, text: str) -> LocalAuthority:
    """An LA by name (any case), 3-digit code or GSS code; a near miss gets 'did you mean'."""
    from sf_benefits.store.queries import local_authorities

    return la_in(authorities_in(local_authorities(store).to_dict("records")), text)


def authorities_in(rows: Iterable[Mapping[Any, Any]]) -> list[LocalAuthority]:
    """The LAs of rows of the store's LA table (a missing code or region is None or NaN)."""
    def text(value: object) -> str | None:
        return None if value is None or value != value else str(value)

    return [LocalAuthority(str(row["la_code"]), text(row["old_la_code"]), str(row["la_name"]),
                           text(row["region_code"]), text(row["region_name"])) for row in rows]


def la_in(las: Sequence[LocalAuthority], text: str) -> LocalAuthority:
    """`resolve_la` over the LAs already read, in order of name (the last of several that
    match is taken)."""
    if not las:
        raise UnknownLocalAuthority("the store holds no LAs yet: run `sf-benefits data load` first")
    wanted = text.strip()
    for code in ("la_code", "old_la_code"):
        hit = [la for la in las if (getattr(la, code) or "").upper() == wanted.upper()]
        if hit:
            return hit[-1]
    hit = [la for la in las if la.la_name.casefold() == wanted.casefold()]
    if hit:
        return hit[-1]
    names = [la.la_name for la in las]
    close = difflib.get_close_matches(wanted.casefold(), [n.casefold() for n in names], n=3,
                                      cutoff=0.6)
    suggestion = [n for n in names if n.casefold() in close]
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestion)}?" if suggestion else ""
    raise UnknownLocalAuthority(f"no local authority called {text!r}{hint}")
