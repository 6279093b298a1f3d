"""The structural rules on the shared SSDA903 returns: the real files pass, and copies corrupted in
each way a return goes wrong are refused with the file, row, column and rule of the bad record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.ingest.ssda903.read import check_returns, return_files


@pytest.fixture
def returns_copy(shared_data: Path, tmp_path: Path) -> Path:
    """A copy of the s1 returns for 2022 and 2023 (year folders, with their UASC tables)."""
    for year in ("2022", "2023"):
        shutil.copytree(shared_data / "ssda903" / "s1" / year, tmp_path / "s1" / year)
    return tmp_path / "s1"


def _problems(folder: Path) -> list[Problem]:
    with pytest.raises(IngestError) as raised:
        check_returns(return_files([folder]))
    return raised.value.problems


def _edit(path: Path, change: object) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = change(frame)  # type: ignore[operator]
    changed.to_csv(path, index=False)
    return changed


def test_the_shared_returns_pass_from_their_year_folders(shared_data: Path) -> None:
    for scale in ("s1", "s10"):
        checked = check_returns(return_files([shared_data / "ssda903" / scale]))
        assert checked.collection_years == (2019, 2020, 2021, 2022, 2023)
        in_care = ((checked.episodes["DECOM"] <= "2023-03-31") & (
            checked.episodes["DEC"].isna() | (checked.episodes["DEC"] > "2023-03-31"))).sum()
        assert in_care == {"s1": 638, "s10": 5_917}[scale]  # the README's figures


def test_a_bad_code_is_named(returns_copy: Path) -> None:
    episodes = returns_copy / "2023" / "episodes.csv"

    def bad(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[10, "PLACE"] = "U9"
        return frame

    _edit(episodes, bad)
    [problem] = _problems(returns_copy)
    assert (problem.file, problem.row, problem.column, problem.rule) == (
        str(episodes), 12, "PLACE", "146")


def test_overlapping_episodes_are_named(returns_copy: Path) -> None:
    episodes = returns_copy / "2023" / "episodes.csv"
    frame = pd.read_csv(episodes, dtype=str, keep_default_na=False)
    child = frame["CHILD"]
    second = int(next(i for i in range(1, len(frame)) if child[i] == child[i - 1]
                      and frame.at[i - 1, "DEC"]))

    def overlap(frame: pd.DataFrame) -> pd.DataFrame:
        start = pd.Timestamp(pd.to_datetime(frame.at[second - 1, "DEC"], format="%d/%m/%Y"))
        frame.loc[second - 1, "DEC"] = f"{start + pd.Timedelta(days=30):%d/%m/%Y}"
        return frame

    _edit(episodes, overlap)
    hits = [p for p in _problems(returns_copy) if p.rule == "501"]
    assert [(p.file, p.row, p.column) for p in hits] == [(str(episodes), second + 2, "DECOM")]


def test_an_episode_ending_before_it_starts_is_named(returns_copy: Path) -> None:
    episodes = returns_copy / "2022" / "episodes.csv"
    frame = pd.read_csv(episodes, dtype=str, keep_default_na=False)
    row = int(next(i for i in range(len(frame)) if frame.at[i, "DEC"]
                   and frame.at[i, "DECOM"] != frame.at[i, "DEC"]))

    def backwards(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, "DEC"], frame.loc[row, "DECOM"] = frame.at[row, "DECOM"], frame.at[row, "DEC"]
        return frame

    _edit(episodes, backwards)
    hits = [p for p in _problems(returns_copy) if p.rule == "356"]
    assert [(p.file, p.row, p.column) for p in hits] == [(str(episodes), row + 2, "DEC")]


def test_a_child_missing_from_the_header_is_named(returns_copy: Path) -> None:
    header = returns_copy / "2023" / "header.csv"
    episodes = returns_copy / "2023" / "episodes.csv"
    frame = pd.read_csv(episodes, dtype=str, keep_default_na=False)
    older = pd.read_csv(returns_copy / "2022" / "header.csv", dtype=str)
    new_child = next(c for c in frame["CHILD"] if c not in set(older["CHILD"]))
    _edit(header, lambda heads: heads[heads["CHILD"] != new_child])
    hits = _problems(returns_copy)
    rows = [i + 2 for i in range(len(frame)) if frame.at[i, "CHILD"] == new_child]
    assert {(p.file, p.row, p.column, p.rule) for p in hits} == {
        (str(episodes), r, "CHILD", "903-header") for r in rows}
