"""Reading and checking SSDA903 returns: good returns pass, every kind of bad record is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.ingest.ssda903.codes import (
    EPISODE_COLUMNS,
    HEADER_COLUMNS,
    PLACE_CODES,
)
from sf_benefits.ingest.ssda903.read import (
    ReturnTable,
    _child_codes,
    _first_appearance,
    _numeric_child_codes,
    _order,
    check_returns,
)
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.ssda903_data import PLACEMENT_OF_PLACE

# Rule 146 code lists of csc-validator-be-903 0.1.17 (rule sets 2022-23 and 2025-26).
VALIDATOR_PLACE_2022_23 = {
    "A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1",
    "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"}
VALIDATOR_PLACE_2025_26 = {
    "A3", "A4", "A5", "A6", "K1", "K2", "K3", "P1", "P3", "R1", "R2", "R3", "R5", "S1", "T0",
    "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z11", "Z12", "Z13", "Z14"}


def test_every_dfe_placement_code_maps_to_an_la_level_category() -> None:
    assert PLACE_CODES == VALIDATOR_PLACE_2022_23 | VALIDATOR_PLACE_2025_26
    assert set(PLACEMENT_OF_PLACE) == PLACE_CODES
    assert set(PLACEMENT_OF_PLACE.values()) == set(PLACEMENTS)
    assert {PLACEMENT_OF_PLACE[c] for c in ("U1", "U6")} == {"foster"}
    assert {PLACEMENT_OF_PLACE[c] for c in ("K1", "K2", "R1")} == {"childrens_homes_secure"}
    assert {PLACEMENT_OF_PLACE[c] for c in ("P2", "H5")} == {"independent_living"}
    assert PLACEMENT_OF_PLACE["P1"] == "placed_with_parents"
    assert PLACEMENT_OF_PLACE["A4"] == "placed_for_adoption"


def test_good_returns_pass_and_years_are_combined(return_files: list[Path]) -> None:
    checked = check_returns(return_files)
    assert checked.collection_years == (2022, 2023)
    assert checked.data_end == pd.Timestamp("2023-03-31")
    assert not checked.episodes.duplicated(["CHILD", "DECOM"]).any()
    raw = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False)
                    for p in return_files if p.name == "episodes.csv")
    assert len(checked.episodes) == raw.drop_duplicates(["CHILD", "DECOM"]).shape[0]
    open_in_2022 = raw[(raw["DEC"] == "")].merge(checked.episodes.assign(
        DECOM=checked.episodes["DECOM"].dt.strftime("%d/%m/%Y")), on=["CHILD", "DECOM"])
    assert open_in_2022["DEC_y"].notna().any(), "episodes open in 2022 are closed by 2023"
    assert set(checked.children["CHILD"]) == set(checked.episodes["CHILD"])


def test_xlsx_reads_like_csv(return_files: list[Path], tmp_path: Path) -> None:
    xlsx = []
    for path in return_files:
        target = tmp_path / path.parent.name / f"{path.stem}.xlsx"
        target.parent.mkdir(exist_ok=True)
        pd.read_csv(path, dtype=str, keep_default_na=False).to_excel(target, index=False)
        xlsx.append(target)
    from_csv = check_returns(return_files)
    from_xlsx = check_returns(xlsx)
    pd.testing.assert_frame_equal(from_csv.episodes.drop(columns=[]),
                                  from_xlsx.episodes, check_dtype=False)


def _mutated(return_files: list[Path], tmp_path: Path, table: str, row: int, column: str,
             value: str | None) -> tuple[list[Path], Path]:
    """Copy the 2023 return, setting one cell (value None drops the column)."""
    folder = tmp_path / "2023"
    folder.mkdir()
    files = []
    for source in return_files:
        if source.parent.name != "2023":
            continue
        target = folder / source.name
        shutil.copy(source, target)
        files.append(target)
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if value is None:
        frame = frame.drop(columns=[column])
    else:
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return files, path


def _problems(files: list[Path]) -> list[Problem]:
    with pytest.raises(IngestError) as raised:
        check_returns(files)
    return raised.value.problems


@pytest.mark.parametrize(("table", "column", "value", "rule"), [
    ("episodes", "PLACE", "Q9", "146"),
    ("episodes", "LS", "ZZ", "144"),
    ("episodes", "RNE", "X", "143"),
    ("episodes", "CIN", "N9", "145"),
    ("episodes", "REC", "E99", "149"),
    ("episodes", "DECOM", "31/02/2022", "141"),
    ("episodes", "DECOM", "2022-01-01", "141"),
    ("header", "DOB", "not a date", "102"),
    ("header", "DOB", "01/01/0001", "102"),
    ("header", "DOB", "31/12/9999", "102"),
    ("header", "DOB", "31/12/2100", "301"),
    ("header", "DOB", "01/01/1900", "351"),
    ("header", "SEX", "3", "101"),
    ("header", "ETHNIC", "XXXX", "103"),
])
def test_bad_codes_and_dates_are_named_per_record(
        return_files: list[Path], tmp_path: Path, table: str, column: str, value: str,
        rule: str) -> None:
    files, path = _mutated(return_files, tmp_path, table, 3, column, value)
    problems = _problems(files)
    hit = [p for p in problems if p.rule == rule]
    assert hit, problems
    assert hit[0].file == str(path) and hit[0].row == 5 and hit[0].column == column
    assert "child C" in hit[0].message


def test_missing_column_is_reported_once_for_the_file(return_files: list[Path],
                                                     tmp_path: Path) -> None:
    files, path = _mutated(return_files, tmp_path, "episodes", 0, "PLACE", None)
    problems = _problems(files)
    assert [(p.file, p.column, p.rule) for p in problems] == [(str(path), "PLACE", "903-columns")]


def test_episode_ending_before_it_starts(return_files: list[Path], tmp_path: Path) -> None:
    files, path = _mutated(return_files, tmp_path, "episodes", 0, "DEC", "01/01/1990")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "REC"] = "E4A"
    frame.to_csv(path, index=False)
    assert "356" in {p.rule for p in _problems(files)}


def test_overlapping_episodes_and_dob_after_start(return_files: list[Path],
                                                  tmp_path: Path) -> None:
    files, path = _mutated(return_files, tmp_path, "episodes", 0, "CHILD", "C0000001")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    extra = frame.iloc[[0]].copy()
    extra["DEC"], extra["REC"] = "", ""
    frame = pd.concat([frame, extra], ignore_index=True)
    frame.to_csv(path, index=False)
    header = path.parent / "header.csv"
    heads = pd.read_csv(header, dtype=str, keep_default_na=False)
    heads = pd.concat([heads, pd.DataFrame([{**dict.fromkeys(HEADER_COLUMNS, ""),
                                             "CHILD": "C0000001", "SEX": "1", "DOB": "01/01/2024",
                                             "ETHNIC": "WBRI"}])], ignore_index=True)
    heads.to_csv(header, index=False)
    problems = _problems(files)
    assert {"501", "302"} <= {p.rule for p in problems}
    overlap = next(p for p in problems if p.rule == "501")
    assert overlap.row in (2, len(frame) + 1)


def test_episodes_of_a_child_without_header(return_files: list[Path], tmp_path: Path) -> None:
    files, _ = _mutated(return_files, tmp_path, "episodes", 2, "CHILD", "NOHEADER")
    problems = _problems(files)
    assert [p.rule for p in problems] == ["903-header"]


def test_unrecognised_file(tmp_path: Path) -> None:
    path = tmp_path / "something.csv"
    pd.DataFrame({"A": [1]}).to_csv(path, index=False)
    problems = _problems([path])
    assert problems[0].rule == "903-columns"
    assert set(EPISODE_COLUMNS) <= set(problems[0].message.replace(",", "").split())


def test_row_order_packs_keys_like_a_lexsort() -> None:
    """`_order` sorts by child (first appearance), then the keys, ties in place; as np.lexsort."""
    rng = np.random.default_rng(7)
    child = rng.choice(np.array(["c", "a", "b", "d"], dtype=object), 400)
    days = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 9, 400), "D"))
    days[rng.random(400) < 0.1] = pd.NaT
    year = rng.integers(2019, 2024, 400)
    codes = pd.factorize(child)[0]
    stamps = days.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    assert (_order(child, days, year) == np.lexsort((year, stamps, codes))).all()
    assert (_order(child, year) == np.lexsort((year, codes))).all()
    numbered = np.asarray(codes)
    assert (_order(numbered, days, year) == _order(child, days, year)).all()
    for _ in range(500):
        small = rng.integers(0, 5, rng.integers(1, 10))
        assert (_first_appearance(small) == pd.factorize(small)[0]).all()


def test_episodes_know_their_child_row(return_files: list[Path]) -> None:
    checked = check_returns(return_files)
    assert checked.episode_child is not None
    assert (checked.children["CHILD"].to_numpy()[checked.episode_child]
            == checked.episodes["CHILD"].to_numpy()).all()


def test_identifiers_with_stray_spaces_are_the_same_child(return_files: list[Path],
                                                          tmp_path: Path) -> None:
    files, path = _mutated(return_files, tmp_path, "episodes", 0, "CHILD", "")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    child = frame.loc[1, "CHILD"]
    frame.loc[0, "CHILD"] = f"  {child} "
    frame.to_csv(path, index=False)
    checked = check_returns(files)
    assert f"  {child} " not in set(checked.episodes["CHILD"])
    assert set(checked.children["CHILD"]) == set(checked.episodes["CHILD"])
    heads = pd.read_csv(path.parent / "header.csv", dtype=str, keep_default_na=False)
    assert len(checked.children) == len(heads)


def _copy(files: list[Path], tmp_path: Path) -> list[Path]:
    """The returns copied (each year's folder kept), to be changed without touching the fixture."""
    copies = []
    for source in files:
        target = tmp_path / source.parent.name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        copies.append(Path(shutil.copy(source, target)))
    return copies


def _numbered_copy(files: list[Path], tmp_path: Path) -> list[Path]:
    """The returns with every identifier C<digits> written as the number 7<digits>."""
    copies = []
    for source in files:
        target = tmp_path / source.parent.name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        frame["CHILD"] = frame["CHILD"].str.replace("C", "7", n=1, regex=False)
        frame.to_csv(target, index=False)
        copies.append(target)
    return copies


def test_numeric_identifiers_are_checked_like_any_other(return_files: list[Path],
                                                       tmp_path: Path) -> None:
    """Identifiers that are plain numbers take the numeric path of `_child_codes`: the same
    children, episodes and problems (file, row, column, rule) as the same returns with text
    identifiers."""
    numbered = _numbered_copy(return_files, tmp_path / "numbers")
    as_text, as_numbers = check_returns(return_files), check_returns(numbered)
    assert as_numbers.identifiers.tolist() == [
        i.replace("C", "7", 1) for i in as_text.identifiers.tolist()]
    for name in ("children", "episodes"):
        expected = getattr(as_text, name).assign(CHILD=lambda f: f["CHILD"].astype(str).str
                                                 .replace("C", "7", n=1, regex=False))
        got = getattr(as_numbers, name).assign(CHILD=lambda f: f["CHILD"].astype(str))
        pd.testing.assert_frame_equal(got, expected)
    assert (as_numbers.episode_child == as_text.episode_child).all()
    broken = []
    for files, child in ((_copy(return_files, tmp_path / "text"), "C999"), (numbered, "7999")):
        episodes = next(p for p in files if p.parent.name == "2023" and p.stem == "episodes")
        frame = pd.read_csv(episodes, dtype=str, keep_default_na=False)
        frame.loc[2, "CHILD"], frame.loc[3, "PLACE"], frame.loc[4, "CHILD"] = child, "Q9", ""
        frame.to_csv(episodes, index=False)
        broken.append([(Path(p.file).name, p.row, p.column, p.rule,
                        p.message.replace("C", "7", 1)) for p in _problems(files)])
    assert broken[0] == broken[1]
    assert {(row, column, rule) for _, row, column, rule, _ in broken[1]} >= {
        (4, "CHILD", "903-header"), (5, "PLACE", "146"), (6, "CHILD", "903-child")}


@pytest.mark.parametrize("odd", ["0123", " 123", "12a", "1" * 19, "+12"])
def test_identifiers_that_are_not_plain_numbers_are_numbered_as_text(odd: str) -> None:
    """A leading zero, a space, a letter, a sign or more than 18 digits would make two texts one
    number: such identifiers are numbered as text (and stripped), as before."""
    import pyarrow as pa

    def tables(*columns: list[str]) -> list[ReturnTable]:
        return [ReturnTable(Path(f"{i}.csv"), "episodes", 2023,
                            {"CHILD": pa.array(c, pa.string())}, len(c))
                for i, c in enumerate(columns)]

    plain = (["12", "", "7", "12", "100"], ["7", "5", "999999999999999999"])
    assert _numeric_child_codes([t.arrow["CHILD"] for t in tables(*plain)]) is not None
    parts, distinct, blank = _child_codes(tables(*plain))
    assert distinct.tolist() == ["12", "", "7", "100", "5", "999999999999999999"] and blank == 1
    assert [p.tolist() for p in parts] == [[0, 1, 2, 0, 3], [2, 4, 5]]
    odd_tables = tables(["12", odd], ["12"])
    assert _numeric_child_codes([t.arrow["CHILD"] for t in odd_tables]) is None
    parts, distinct, blank = _child_codes(odd_tables)
    assert distinct.tolist() == list(dict.fromkeys(["12", odd.strip()])) and blank == -1
    assert [p.tolist() for p in parts] == [[0, 0 if odd.strip() == "12" else 1], [0]]
