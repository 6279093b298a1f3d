"""Pseudonymisation and the store: no raw identifier is ever written, and loads are all or nothing."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy
from sqlalchemy import Insert, String, Table, Text, func, inspect, select, text

from sf_benefits.ingest.errors import IngestError
from sf_benefits.ingest.ssda903.load import (
    PseudonymKeyError,
    check_key,
    expected_key_matches,
    latest_load,
    load_returns,
    new_key,
    parse_key,
    pseudonym_key,
    pseudonymise,
    read_returns,
    read_returns_by_la,
)
from sf_benefits.ingest.ssda903.tables import ssda903_load, ssda903_table
from sf_benefits.store import Store
from sf_benefits.store.embedded import open_current
from sf_benefits.store.schema import metadata
from tests.ingest.ssda903.fixtures import TEST_KEY

LA = "E10000015"


def test_no_key_no_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SF_BENEFITS_PSEUDONYM_KEY", raising=False)
    with pytest.raises(PseudonymKeyError, match="SF_BENEFITS_PSEUDONYM_KEY"):
        pseudonym_key()
    for weak in ("short", "a long enough secret key, but a password",
                 "sf903k-" + "A" * 43, "sf903k-abcdefgh", "sf903k-not base64 at all!!"):
        monkeypatch.setenv("SF_BENEFITS_PSEUDONYM_KEY", weak)
        with pytest.raises(PseudonymKeyError, match="new-key"):
            pseudonym_key()
    made = new_key()
    monkeypatch.setenv("SF_BENEFITS_PSEUDONYM_KEY", made)
    assert len(pseudonym_key()) == 32
    assert pseudonym_key() == parse_key(made) != parse_key(new_key())


def test_keys_given_as_bytes_must_be_random_enough() -> None:
    assert check_key(TEST_KEY) == TEST_KEY
    for weak in (b"k" * 100, bytes(16), b"ab" * 20, TEST_KEY[:15]):
        with pytest.raises(PseudonymKeyError):
            check_key(weak)


def test_keyed_hash_is_standard_hmac_sha256_and_depends_on_the_key() -> None:
    ids = pd.Series(["C1", "C2", "C1", "123456789"])
    first = pseudonymise(ids, TEST_KEY)
    assert first.iloc[0] == first.iloc[2] != first.iloc[1]
    for raw, digest in zip(ids, first, strict=True):
        assert digest == hmac.new(TEST_KEY, raw.encode(), hashlib.sha256).hexdigest()
    long_key = bytes(range(100))
    assert pseudonymise(ids, long_key).iloc[1] == hmac.new(long_key, b"C2",
                                                            hashlib.sha256).hexdigest()
    assert not set(pseudonymise(ids, bytes(range(1, 33)))) & set(first)


def _raw_values(files: list[Path]) -> set[str]:
    values: set[str] = set()
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in ("CHILD", "HOME_POST", "PL_POST", "URN", "UPN"):
            if column in frame.columns:
                values |= {v for v in frame[column] if v}
    return values


def _all_text_in_store(store: Store) -> list[str]:
    found: list[str] = []
    with store.engine.connect() as conn:
        for table in inspect(store.engine).get_table_names():
            if table not in metadata.tables:
                continue
            columns = [c for c in metadata.tables[table].columns
                       if isinstance(c.type, String | Text)]
            for column in columns:
                found += [str(v) for v in conn.execute(select(column)).scalars() if v is not None]
        for blob in conn.execute(select(ssda903_table.c.parquet)).scalars():
            frame = pq.read_table(pa.BufferReader(blob)).to_pandas()
            found += [str(v) for column in frame.columns for v in frame[column].astype(str)]
    return found


def test_raw_ids_postcodes_and_urns_never_reach_the_store(return_files: list[Path],
                                                         store: Store) -> None:
    summary = load_returns(store, return_files, LA, key=TEST_KEY)
    assert summary.children > 50 and summary.episodes > summary.children
    stored = _all_text_in_store(store)
    raw = _raw_values(return_files)
    assert len(raw) > 100
    leaked = [v for v in stored if any(r in v for r in raw)]
    assert leaked == []
    assert TEST_KEY.hex() not in " ".join(stored)
    with store.engine.connect() as conn:
        assert not any(TEST_KEY in blob for blob in
                       conn.execute(select(ssda903_table.c.parquet)).scalars())


def test_store_round_trip_equals_the_in_memory_read(return_files: list[Path],
                                                   store: Store) -> None:
    load_returns(store, return_files, LA, key=TEST_KEY)
    from_store = latest_load(store, LA)
    in_memory = read_returns(return_files, LA, key=TEST_KEY)
    for table in ("children", "episodes"):
        back, expected = getattr(from_store, table), getattr(in_memory, table)
        pd.testing.assert_frame_equal(back.astype(object), expected.astype(object))
    assert (from_store.episode_child == in_memory.episode_child).all()
    assert from_store.collection_years == (2022, 2023)
    assert from_store.data_end == pd.Timestamp("2023-03-31")
    assert expected_key_matches(store, LA, TEST_KEY)
    assert not expected_key_matches(store, LA, b"some other key entirely")
    with pytest.raises(LookupError, match="E09000001"):
        latest_load(store, "E09000001")


def test_loads_made_before_pseudonyms_had_their_own_table_still_read(
        return_files: list[Path], store: Store) -> None:
    load_returns(store, return_files, LA, key=TEST_KEY)
    with store.transaction() as conn:
        blobs = dict(conn.execute(select(ssda903_table.c.name, ssda903_table.c.parquet)).all())
        children = pq.read_table(pa.BufferReader(blobs["children"]))
        ids = pq.read_table(pa.BufferReader(blobs["child_ids"])).column("child_id")
        sink = pa.BufferOutputStream()
        pq.write_table(children.add_column(0, "child_id", ids), sink)
        conn.execute(ssda903_table.update().where(ssda903_table.c.name == "children")
                     .values(parquet=sink.getvalue().to_pybytes()))
        conn.execute(ssda903_table.delete().where(ssda903_table.c.name == "child_ids"))
    in_memory = read_returns(return_files, LA, key=TEST_KEY)
    for pseudonyms in (True, False):
        back = latest_load(store, LA, pseudonyms=pseudonyms)
        expected = in_memory.children["child_id"] if pseudonyms else range(len(back.children))
        assert back.children["child_id"].tolist() == list(expected)
        assert list(back.children.columns) == ["child_id", "sex", "dob", "ethnic"]
        assert len(back.episodes) == len(in_memory.episodes)


def _counts(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return [int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (ssda903_load, ssda903_table)]


def test_bad_input_stores_nothing(return_files: list[Path], store: Store,
                                  tmp_path: Path) -> None:
    files = []
    for source in return_files:
        target = tmp_path / source.parent.name / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(source, target)
        files.append(target)
    episodes = next(p for p in files if p.name == "episodes.csv")
    frame = pd.read_csv(episodes, dtype=str, keep_default_na=False)
    frame.loc[len(frame) - 1, "PLACE"] = "XX"
    frame.to_csv(episodes, index=False)
    with pytest.raises(IngestError) as raised:
        load_returns(store, files, LA, key=TEST_KEY)
    assert raised.value.problems[0].rule == "146"
    assert _counts(store) == [0, 0]


def test_failure_during_the_write_rolls_everything_back(
        return_files: list[Path], store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real_insert = sqlalchemy.insert

    def failing_insert(table: Table) -> Insert:
        if table is ssda903_table:
            raise RuntimeError("disk full")
        return real_insert(table)

    monkeypatch.setattr(sqlalchemy, "insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        load_returns(store, return_files, LA, key=TEST_KEY)
    assert _counts(store) == [0, 0]


@pytest.mark.postgres
def test_load_on_postgresql(return_files: list[Path], postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        with store.transaction() as conn:
            conn.execute(text("DELETE FROM ssda903_load WHERE la_code = 'E99999903'"))
        summary = load_returns(store, return_files, "E99999903", key=TEST_KEY)
        back = latest_load(store, "E99999903")
        assert len(back.episodes) == summary.episodes
        with store.transaction() as conn:
            conn.execute(text("DELETE FROM ssda903_load WHERE la_code = 'E99999903'"))
    finally:
        store.close()


def test_loads_stored_as_rows_are_converted_by_the_migration(return_files: list[Path],
                                                              tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from sf_benefits.store.db import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = Store.open(url, migrate=False)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with old.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003_ssda903")
    data = read_returns(return_files, LA, key=TEST_KEY)
    with old.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ssda903_load VALUES ('old', :la, '2024-01-01 00:00:00', '2022,2023', "
            "'[]', :c, :e, '2023-03-31', 'x')"), {"la": LA, "c": len(data.children),
                                                 "e": len(data.episodes)})
        conn.execute(text("INSERT INTO ssda903_child VALUES ('old', :child_id, :sex, :dob, "
                          ":ethnic)"),
                     [{**r, "dob": r["dob"].date()} for r in
                      data.children.astype(object).to_dict("records")])
        episodes = data.episodes.astype(object).where(data.episodes.notna(), None)
        conn.execute(text(
            "INSERT INTO ssda903_episode VALUES ('old', :child_id, :decom, :dec, :rne, :ls, :cin, "
            ":place, :place_provider, :rec, :reason_place_change, :collection_year)"),
            [{**r, "decom": r["decom"].date(), "dec": r["dec"] and r["dec"].date()}
             for r in episodes.to_dict("records")])
    old.close()
    upgraded = Store.open(url)
    try:
        back = latest_load(upgraded, LA)
        assert "ssda903_episode" not in inspect(upgraded.engine).get_table_names()
    finally:
        upgraded.close()
    expected = data.episodes.sort_values(["child_id", "decom"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.episodes.astype(object), expected.astype(object))
    assert back.collection_years == (2022, 2023)


def test_the_embedded_store_through_sqlite3_reads_and_writes_as_the_store_does(
        return_files: list[Path], store: Store) -> None:
    url = store.url
    connection = open_current(url)
    assert connection is not None
    try:
        load_returns(connection, return_files, LA, key=TEST_KEY)
        written_here = latest_load(store, LA)
        read_here = latest_load(connection, LA)
    finally:
        connection.close()
    in_memory = read_returns(return_files, LA, key=TEST_KEY)
    for back in (written_here, read_here):
        for table in ("children", "episodes"):
            pd.testing.assert_frame_equal(getattr(back, table).astype(object),
                                          getattr(in_memory, table).astype(object))
        assert back.collection_years == (2022, 2023)
        assert back.data_end == pd.Timestamp("2023-03-31")
    assert expected_key_matches(store, LA, TEST_KEY)
    later = load_returns(store, return_files[:2], LA, key=TEST_KEY)
    with store.engine.connect() as conn:
        stamps = conn.execute(select(ssda903_load.c.loaded_at)
                              .order_by(ssda903_load.c.loaded_at)).scalars().all()
    assert len(stamps) == 2 and stamps[0] < stamps[1]
    connection = open_current(url)
    assert connection is not None
    with pytest.raises(LookupError, match="E09000001"):
        latest_load(connection, "E09000001")
    assert latest_load(connection, LA).collection_years == later.collection_years
    connection.close()


def test_a_write_through_sqlite3_that_fails_stores_nothing(return_files: list[Path],
                                                           store: Store) -> None:
    connection = open_current(store.url)
    assert connection is not None
    with connection:
        connection.execute("DROP TABLE ssda903_table")
        connection.execute("CREATE TABLE ssda903_table (load_id TEXT, name TEXT, parquet BLOB "
                           "CHECK (name <> 'episodes'))")
    with pytest.raises(sqlite3.IntegrityError):
        load_returns(connection, return_files, LA, key=TEST_KEY)
    assert connection.execute("SELECT COUNT(*) FROM ssda903_load").fetchone() == (0,)
    assert connection.execute("SELECT COUNT(*) FROM ssda903_table").fetchone() == (0,)
    connection.close()


def test_a_folder_of_returns_reads_one_la_per_sub_folder(return_files: list[Path],
                                                         tmp_path: Path) -> None:
    for la_code in ("E08000035", "E10000015"):
        (tmp_path / la_code).mkdir()
        for file in return_files:
            year = tmp_path / la_code / file.parent.name
            year.mkdir(exist_ok=True)
            shutil.copy(file, year / file.name)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.csv").write_text("a\n1\n")
    returns = read_returns_by_la(tmp_path, TEST_KEY)
    assert list(returns) == ["E08000035", "E10000015"]
    expected = read_returns(return_files, "E08000035", TEST_KEY).children
    assert returns["E08000035"].children.equals(expected)
    assert returns["E10000015"].la_code == "E10000015"

    with pytest.raises(ValueError, match="no sub-folder with SSDA903 header and episodes"):
        read_returns_by_la(tmp_path / "notes", TEST_KEY)

