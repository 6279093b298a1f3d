"""Pseudonymise checked SSDA903 returns and load them into the store, all or nothing.

CHILD becomes HMAC-SHA256(key, CHILD): the key comes from the environment
(SF_BENEFITS_PSEUDONYM_KEY) and is never stored, so the store alone cannot be linked back to
children. Postcodes, URNs, UPNs and mothers' details are dropped before anything is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from sf_benefits.config import PSEUDONYM_KEY_ENV
from sf_benefits.ingest.ssda903.read import CheckedReturns, check_returns

if TYPE_CHECKING:
    from sf_benefits.store import Store

MIN_KEY_LENGTH = 16
_KEY_CHECK_MESSAGE = b"sf-benefits pseudonym key check"
EPISODE_FIELDS: tuple[str, ...] = (
    "child_id", "decom", "dec", "rne", "ls", "cin", "place", "place_provider", "rec",
    "reason_place_change", "collection_year",
)


class PseudonymKeyError(RuntimeError):
    """No usable pseudonymisation key is configured, so child-level data cannot be loaded."""


def pseudonym_key() -> bytes:
    """The pseudonymisation key from SF_BENEFITS_PSEUDONYM_KEY; refuses a missing or short key."""
    value = os.environ.get(PSEUDONYM_KEY_ENV, "")
    if len(value) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"Set {PSEUDONYM_KEY_ENV} to a secret of at least {MIN_KEY_LENGTH} characters before "
            "loading SSDA903 returns: child identifiers are replaced by a keyed hash, and the key "
            "is kept outside the data (use the same key for every load of the same LA).")
    return value.encode("utf-8")


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 (RFC 2104) of each identifier under `key`, as 64 hex characters.

    The keyed inner and outer hash states are prepared once and copied per identifier, which
    gives the same digests as `hmac.new(key, id, sha256)` several times faster."""
    codes, unique = pd.factorize(ids.astype(str))
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    start_inner, start_outer = inner.copy, outer.copy
    hexes: list[str] = []
    for raw in unique:
        first = start_inner()
        first.update(str(raw).encode("utf-8"))
        second = start_outer()
        second.update(first.digest())
        hexes.append(second.hexdigest())
    digests = np.empty(len(hexes), dtype=object)
    digests[:] = hexes
    return pd.Series(digests[codes], index=ids.index, dtype=object)


def key_check(key: bytes) -> str:
    """A fingerprint that tells whether two loads used the same key without revealing it."""
    return hmac.new(key, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()


@dataclass
class Ssda903Data:
    """Pseudonymised SSDA903 care data of one LA: what the child-level engine works from.

    `children`: child_id, sex, dob. `episodes`: EPISODE_FIELDS with dates as Timestamps (dec is
    NaT while the episode is open). `data_end` is the last day the returns cover.
    `episode_child`, when known, is the row in `children` (one row per child) of each episode's
    child, so the engine need not match the long hashed identifiers again.
    """

    la_code: str
    children: pd.DataFrame
    episodes: pd.DataFrame
    collection_years: tuple[int, ...]
    data_end: pd.Timestamp
    episode_child: npt.NDArray[np.intp] | None = field(default=None, repr=False, compare=False)


def pseudonymised(checked: CheckedReturns, key: bytes, la_code: str) -> Ssda903Data:
    """Replace CHILD by its keyed hash and keep only the fields the engines need (each child is
    hashed once: episodes take their child's hash by position)."""
    position = checked.episode_child
    if position is None:
        names = pd.Index(checked.children["CHILD"])
        position = (names.get_indexer(checked.episodes["CHILD"]) if names.is_unique
                    else np.full(len(checked.episodes), -1, dtype=np.intp))
    if len(position) and (position < 0).any():
        both = pseudonymise(pd.concat([checked.children["CHILD"], checked.episodes["CHILD"]],
                                      ignore_index=True), key).to_numpy()
        child_ids, episode_ids = both[:len(checked.children)], both[len(checked.children):]
        position = None
    else:
        child_ids = pseudonymise(checked.children["CHILD"], key).to_numpy()
        episode_ids = child_ids[position]
    children = pd.DataFrame({
        "child_id": child_ids,
        "sex": checked.children["SEX"].to_numpy(),
        "dob": checked.children["DOB"].to_numpy(),
        "ethnic": checked.children["ETHNIC"].to_numpy(),
    })
    source = checked.episodes.reset_index(drop=True)
    episodes = pd.DataFrame({
        "child_id": episode_ids,
        "decom": source["DECOM"], "dec": source["DEC"],
        **{c.lower(): source[c] for c in ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC",
                                          "REASON_PLACE_CHANGE")},
        "collection_year": source["collection_year"].astype(int),
    })
    return Ssda903Data(la_code, children, episodes, checked.collection_years, checked.data_end,
                       position)


def read_returns(paths: Sequence[Path | str], la_code: str, key: bytes | None = None
                 ) -> Ssda903Data:
    """Check and pseudonymise SSDA903 files in memory (raises IngestError on any problem)."""
    key = key if key is not None else pseudonym_key()
    return pseudonymised(check_returns(paths), key, la_code)


@dataclass(frozen=True)
class LoadSummary:
    """What one load wrote."""

    load_id: str
    la_code: str
    collection_years: tuple[int, ...]
    children: int
    episodes: int


def _dates(values: pd.Series) -> list[object]:
    return [None if pd.isna(v) else pd.Timestamp(v).date() for v in values]


def store_returns(store: Store, data: Ssda903Data, key: bytes, source_files: Sequence[Path]
                  ) -> LoadSummary:
    """Write one load in a single transaction (nothing is written if any insert fails)."""
    from sqlalchemy import insert

    from sf_benefits.ingest.ssda903.tables import ssda903_child, ssda903_episode, ssda903_load

    load_id = uuid.uuid4().hex
    children = data.children
    episodes = data.episodes
    child_rows = [
        {"load_id": load_id, "child_id": c, "sex": s, "dob": d, "ethnic": e}
        for c, s, d, e in zip(children["child_id"], children["sex"], _dates(children["dob"]),
                              children["ethnic"], strict=True)
    ]
    episode_frame = episodes.assign(decom=pd.Series(_dates(episodes["decom"]), dtype=object,
                                                    index=episodes.index),
                                    dec=pd.Series(_dates(episodes["dec"]), dtype=object,
                                                  index=episodes.index))
    episode_rows = [dict(zip(EPISODE_FIELDS, values, strict=True))
                    for values in episode_frame[list(EPISODE_FIELDS)].itertuples(index=False)]
    for row in episode_rows:
        row["load_id"] = load_id
        row["collection_year"] = int(row["collection_year"])
    with store.transaction() as conn:
        conn.execute(insert(ssda903_load), [{
            "load_id": load_id, "la_code": data.la_code, "loaded_at": datetime.now(UTC),
            "collection_years": ",".join(str(y) for y in data.collection_years),
            "source_files": json.dumps([Path(p).name for p in source_files]),
            "children": len(child_rows), "episodes": len(episode_rows),
            "data_end": data.data_end.date(), "key_check": key_check(key),
        }])
        for start in range(0, len(child_rows), 50_000):
            conn.execute(insert(ssda903_child), child_rows[start:start + 50_000])
        for start in range(0, len(episode_rows), 50_000):
            conn.execute(insert(ssda903_episode), episode_rows[start:start + 50_000])
    return LoadSummary(load_id, data.la_code, data.collection_years, len(child_rows),
                       len(episode_rows))


def load_returns(store: Store, paths: Sequence[Path | str], la_code: str,
                 key: bytes | None = None) -> LoadSummary:
    """Check, pseudonymise and store SSDA903 files for `la_code`; all or nothing."""
    key = key if key is not None else pseudonym_key()
    data = read_returns(paths, la_code, key)
    return store_returns(store, data, key, [Path(p) for p in paths])


def latest_load(store: Store, la_code: str) -> Ssda903Data:
    """The most recent load of `la_code` from the store, as the engine's input."""
    from sqlalchemy import select

    from sf_benefits.ingest.ssda903.tables import ssda903_child, ssda903_episode, ssda903_load

    with store.engine.connect() as conn:
        load = conn.execute(
            select(ssda903_load).where(ssda903_load.c.la_code == la_code)
            .order_by(ssda903_load.c.loaded_at.desc()).limit(1)).mappings().first()
        if load is None:
            raise LookupError(f"no SSDA903 returns have been loaded for LA {la_code}")
        children = pd.DataFrame(conn.execute(
            select(ssda903_child.c.child_id, ssda903_child.c.sex, ssda903_child.c.dob,
                   ssda903_child.c.ethnic)
            .where(ssda903_child.c.load_id == load["load_id"])).all(),
            columns=["child_id", "sex", "dob", "ethnic"])
        episodes = pd.DataFrame(conn.execute(
            select(*[ssda903_episode.c[f] for f in EPISODE_FIELDS])
            .where(ssda903_episode.c.load_id == load["load_id"])).all(),
            columns=list(EPISODE_FIELDS))
    children["dob"] = pd.to_datetime(children["dob"])
    episodes["decom"] = pd.to_datetime(episodes["decom"])
    episodes["dec"] = pd.to_datetime(episodes["dec"])
    episodes = episodes.sort_values(["child_id", "decom"], kind="stable").reset_index(drop=True)
    years = tuple(int(y) for y in str(load["collection_years"]).split(",") if y)
    return Ssda903Data(la_code, children, episodes, years,
                       pd.Timestamp(load["data_end"]))


def expected_key_matches(store: Store, la_code: str, key: bytes) -> bool:
    """Whether `key` is the key used for the latest load of `la_code` (True when none exists)."""
    from sqlalchemy import select

    from sf_benefits.ingest.ssda903.tables import ssda903_load

    with store.engine.connect() as conn:
        stored = conn.execute(
            select(ssda903_load.c.key_check).where(ssda903_load.c.la_code == la_code)
            .order_by(ssda903_load.c.loaded_at.desc()).limit(1)).scalar()
    return stored is None or stored == key_check(key)


__all__ = [
    "LoadSummary", "PseudonymKeyError", "Ssda903Data", "expected_key_matches", "key_check",
    "latest_load", "load_returns", "pseudonym_key", "pseudonymise", "read_returns",
    "store_returns",
]
