"""Local authorities as the store knows them, and `--la` text resolved to one (by name, 3-digit
or GSS code), apart from the benchmark engine so that commands which only need an LA do not
import the indicator catalogue. Plain Python over the store's rows: no pandas."""

from __future__ import annotations

import difflib
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sf_benefits.la_names import la_name_key

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
    renamed_to: str | None = None
    """For an LA renamed in a reorganisation, the code its series continues under."""


class UnknownLocalAuthority(LookupError):
    """The text matched no LA; the message suggests the closest names."""


def authorities(rows: Iterable[Mapping[str, Any]]) -> list[LocalAuthority]:
    """LAs from rows of the store's LA table (as `store.embedded.local_authority_rows`, or a
    frame's records), a missing code or region as None."""
    def text(value: object) -> str | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(
            value)

    return [LocalAuthority(str(row["la_code"]), text(row["old_la_code"]), str(row["la_name"]),
                           text(row["region_code"]), text(row["region_name"]),
                           text(row.get("renamed_to"))) for row in rows]


def all_authorities(store: Store | sqlite3.Connection) -> list[LocalAuthority]:
    """Every LA in the store, by name (of two with one name, the newer last), a renamed one with
    the code its series continues under."""
    from sf_benefits.store.embedded import boundary_change_rows, local_authority_rows

    renamed = {c["predecessor_code"]: c["successor_code"] for c in boundary_change_rows(store)
               if c["kind"] == "rename"}
    found = sorted(local_authority_rows(store), key=lambda row: (
        row["la_name"], row["last_year"] or 0, row["first_year"] or 0))
    return authorities([{**row, "renamed_to": renamed.get(row["la_code"])} for row in found])


def resolve_la(store: Store | sqlite3.Connection, text: str) -> LocalAuthority:
    """An LA by name (any case), 3-digit code or GSS code; a near miss gets 'did you mean'."""
    return la_in(all_authorities(store), text)


def la_in(las: Sequence[LocalAuthority], text: str) -> LocalAuthority:
    """`resolve_la` over LAs already read (as `all_authorities`), a name as `la_name_key` reads it
    or without its ", County of" ('Herefordshire'); of several matches, the last (the current
    Dorset, not the former county). A renamed LA is taken under its new code, where its whole
    series is kept. No match suggests the names holding every word given, else the closest."""
    if not las:
        raise UnknownLocalAuthority("the store holds no LAs yet: run `sf-benefits data load` first")
    wanted = la_name_key(text)
    by_code = {la.la_code: la for la in las}
    for key in (lambda la: la.la_code, lambda la: la.old_la_code, lambda la: la.la_name,
                lambda la: la.la_name.split(",")[0]):
        hit = [la for la in las if la_name_key(key(la) or "") == wanted]
        if hit:
            return by_code.get(hit[-1].renamed_to or "", hit[-1])
    names = list(dict.fromkeys(la.la_name for la in las))
    words = set(wanted.replace("-", " ").split())
    close = difflib.get_close_matches(wanted, [la_name_key(n) for n in names], n=3, cutoff=0.6)
    suggestion = [n for n in names if words <= set(
        la_name_key(n.replace(",", " ").replace("-", " ")).split())][:5] or [
        n for n in names if la_name_key(n) in close]
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestion)}?" if suggestion else ""
    raise UnknownLocalAuthority(f"no local authority called {text!r}{hint}")
