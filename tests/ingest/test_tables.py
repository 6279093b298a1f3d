"""Readers for the LA lookup, statistical neighbours, ONS population and the LAIT long table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.ingest.errors import IngestError
from sf_benefits.ingest.tables import (
    LaRegister,
    kind_of,
    read_lait,
    read_lookup,
    read_neighbours,
    read_population,
)

LOOKUP = pd.DataFrame({
    "new_la_code": ["E06000007", "E06000006", "E08000035"],
    "old_la_code": ["877", "876", "383"],
    "la_name": ["Warrington", "Halton", "Leeds"],
    "region_name": ["North West", "North West", "Yorkshire and The Humber"],
})


@pytest.fixture
def register() -> LaRegister:
    return LaRegister(LOOKUP.rename(columns={"new_la_code": "la_code"}))


def test_kinds_are_recognised_by_header() -> None:
    assert kind_of(["time_period", "geographic_level", "number"]) == "ees"
    assert kind_of(["la_name", "sn1", "sn2"]) == "neighbours"
    assert kind_of(["ladcode23", "laname23", "age", "population_2022"]) == "population"
    assert kind_of(["la_code", "indicator", "year", "value"]) == "lait"
    assert kind_of(["new_la_code", "la_name"]) == "lookup"
    assert kind_of(["foo", "bar"]) == "unknown"


def test_lookup_rejects_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "lookup.csv"
    pd.concat([LOOKUP, LOOKUP.iloc[[0]]]).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_lookup(path)
    assert {p.rule for p in exc.value.problems} == {"duplicate_row"}
    assert exc.value.problems[0].row == 2


def test_neighbours_by_code_keep_rank_order(tmp_path: Path, register: LaRegister) -> None:
    path = tmp_path / "sn_2021.csv"
    pd.DataFrame({"la_number": ["877"], "SN1_code": ["383"], "SN1_name": ["Leeds"],
                  "SN2_code": ["876"], "SN2_name": ["Halton"]}).to_csv(path, index=False)
    frame = read_neighbours(path, register)
    assert list(frame["neighbour_code"]) == ["E08000035", "E06000006"]
    assert list(frame["rank"]) == [1, 2]
    assert set(frame["model"]) == {"nfer_2021"}


def test_neighbour_unknown_la_is_named(tmp_path: Path, register: LaRegister) -> None:
    path = tmp_path / "sn.csv"
    pd.DataFrame({"la_name": ["Warrington"], "SN1": ["Atlantis"]}).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_neighbours(path, register)
    problem = exc.value.problems[0]
    assert (problem.row, problem.column, problem.rule) == (2, "sn1", "unknown_la")


def test_population_sums_ages_0_to_17(tmp_path: Path) -> None:
    path = tmp_path / "mye.csv"
    rows = [{"ladcode23": code, "laname23": name, "age": age, "population_2022": 10,
             "population_2023": 11} for code, name in (("E06000007", "Warrington"),
                                                       ("E07000026", "Allerdale"),
                                                       ("E92000001", "England"))
            for age in [*map(str, range(0, 90)), "90+"]]
    pd.DataFrame(rows).to_csv(path, index=False)
    frame = read_population(path)
    assert set(frame["area_code"]) == {"E06000007", "E92000001"}
    warrington = frame[frame["area_code"] == "E06000007"].set_index("year")["value"]
    assert warrington.to_dict() == {2022: 180.0, 2023: 198.0}
    assert set(frame["geographic_level"]) == {"Local authority", "National"}


def test_population_bad_age_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mye.csv"
    pd.DataFrame({"ladcode23": ["E06000007"], "age": ["ten"], "population_2022": ["5"]}).to_csv(
        path, index=False)
    with pytest.raises(IngestError) as exc:
        read_population(path)
    assert (exc.value.problems[0].row, exc.value.problems[0].rule) == (2, "not_an_age")


def test_lait_keeps_suppressed_values_missing(tmp_path: Path, register: LaRegister) -> None:
    path = tmp_path / "lait.csv"
    pd.DataFrame({"LA code": ["877", "383", "E92000001"], "Indicator": ["agency_rate_fte"] * 3,
                  "Year": ["2022-23", "2022-23", "2022-23"], "Value": ["12.5", "x", "17.9"]}
                 ).to_csv(path, index=False)
    frame = read_lait(path, register).set_index("area_code")
    assert frame.loc["E06000007", "value"] == 12.5
    assert pd.isna(frame.loc["E08000035", "value"]) and frame.loc["E08000035", "status"] == "x"
    assert frame.loc["E92000001", "geographic_level"] == "National"
    assert set(frame["year"]) == {2023}


def test_lait_bad_value_and_unknown_la(tmp_path: Path, register: LaRegister) -> None:
    path = tmp_path / "lait.csv"
    pd.DataFrame({"la_code": ["877", "999"], "indicator": ["a", "a"], "year": ["2023", "2023"],
                  "value": ["n/a", "1"]}).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_lait(path, register)
    assert [(p.row, p.rule) for p in exc.value.problems] == [(2, "not_a_number"),
                                                             (3, "unknown_la_code")]


@pytest.mark.parametrize(("text", "code"), [
    ("Kingston upon Hull, City of", "E06000010"), ("KINGSTON UPON HULL,  CITY OF", "E06000010"),
    ("St. Helens", "E08000013"), ("St Helens", "E08000013"), ("Brighton & Hove", "E06000043"),
    ("Brighton and Hove", "E06000043"), ("342", "E08000013"), ("e06000043", "E06000043"),
    ("Hull", None), ("St Helen", None), ("Brighton", None)])
def test_register_matches_names_as_publishers_vary_them(text: str, code: str | None) -> None:
    register = LaRegister(pd.DataFrame({
        "la_code": ["E06000010", "E08000013", "E06000043"], "old_la_code": ["810", "342", "846"],
        "la_name": ["Kingston upon Hull, City of", "St Helens", "Brighton and Hove"]}))
    assert register.resolve(text) == code


def test_population_with_a_column_per_age(tmp_path: Path) -> None:
    path = tmp_path / "ons_mye2_mid_2022.csv"
    ages = {str(a): ["100", "10"] for a in range(0, 90)}
    pd.DataFrame({"code": ["E06000007", "E92000001"], "name": ["Warrington", "England"],
                  "all_ages": ["9000", "900"], **ages, "90+": ["5", "5"]}).to_csv(path, index=False)
    assert kind_of(list(pd.read_csv(path, nrows=0).columns)) == "population"
    out = read_population(path).set_index("area_code")
    assert out.loc["E06000007", "value"] == 1_800 and out.loc["E06000007", "year"] == 2022
    assert out.loc["E92000001", "geographic_level"] == "National"


def test_population_error_names_the_file_row(tmp_path: Path) -> None:
    path = tmp_path / "ons_mid_2022.csv"
    ages = {str(a): ["100", "10"] for a in range(0, 18)}
    ages["5"] = ["100", "ten"]
    pd.DataFrame({"code": ["E06000007", "E92000001"], **ages}).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_population(path)
    assert (exc.value.problems[0].row, exc.value.problems[0].rule) == (3, "not_a_number")
