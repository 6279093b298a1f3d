"""Local authorities as the store knows them, and `--la` text resolved to one (by name, 3-digit
or GSS code), apart from the benchmark engine so that commands which only need an LA do not
import the indicator catalogue."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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

    return la_in(local_authorities(store), text)


def la_in(las: pd.DataFrame, text: str) -> LocalAuthority:
    """`resolve_la` over a table of LAs already read (as `store.queries.local_authorities`)."""
    if las.empty:
        raise UnknownLocalAuthority("the store holds no LAs yet: run `sf-benefits data load` first")
    wanted = text.strip()
    for column in ("la_code", "old_la_code"):
        hit = las[las[column].fillna("").str.upper() == wanted.upper()]
        if not hit.empty:
            return _la(hit.iloc[-1])
    hit = las[las["la_name"].str.casefold() == wanted.casefold()]
    if not hit.empty:
        return _la(hit.iloc[-1])
    names = list(las["la_name"])
    close = difflib.get_close_matches(wanted.casefold(), [n.casefold() for n in names], n=3,
                                      cutoff=0.6)
    suggestion = [n for n in names if n.casefold() in close]
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestion)}?" if suggestion else ""
    raise UnknownLocalAuthority(f"no local authority called {text!r}{hint}")


def _la(row: pd.Series) -> LocalAuthority:
    def text(value: object) -> str | None:
        return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(
            value)

    return LocalAuthority(str(row["la_code"]), text(row["old_la_code"]), str(row["la_name"]),
                          text(row["region_code"]), text(row["region_name"]))
