"""Readers for the LA lookup, statistical neighbours, ONS population and the LAIT long table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.ingest.errors import IngestError
from sf_benefits.ingest.tables import (
    LaRegister,
    header_of,
    kind_of,
    lait_year,
    merge_neighbour_models,
    read_frame,
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


def test_lookup_rejects_a_code_given_two_names(tmp_path: Path) -> None:
    path = tmp_path / "lookup.csv"
    pd.concat([LOOKUP, LOOKUP.iloc[[0]].assign(la_name="Warringtonshire")]).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_lookup(path)
    assert {p.rule for p in exc.value.problems} == {"duplicate_row"}
    assert exc.value.problems[0].row == 2


def test_ons_upper_tier_lookup_repeats_each_la_per_district(tmp_path: Path) -> None:
    """The ONS LTLA-UTLA lookup: one row per district, Welsh rows, upper-tier columns used."""
    path = tmp_path / "LTLA-UTLA_Apr23_Lookup_England-Wales.csv"
    pd.DataFrame({
        "LTLA23CD": ["E07000026", "E07000027", "E06000007", "W06000001"],
        "LTLA23NM": ["Allerdale", "Barrow-in-Furness", "Warrington", "Isle of Anglesey"],
        "UTLA23CD": ["E06000063", "E06000064", "E06000007", "W06000001"],
        "UTLA23NM": ["Cumberland", "Westmorland and Furness", "Warrington", "Isle of Anglesey"],
    }).to_csv(path, index=False)
    assert kind_of(list(pd.read_csv(path).columns)) == "lookup"
    frame = read_lookup(path)
    assert list(frame["la_code"]) == ["E06000063", "E06000064", "E06000007"]
    assert list(frame["la_name"]) == ["Cumberland", "Westmorland and Furness", "Warrington"]


def test_lookup_without_gss_codes_gives_names_by_3_digit_code(tmp_path: Path) -> None:
    """DfE's la_code_list.xlsx: 'LA Number', 'LA Name', 'Region', 'Type', no GSS code."""
    path = tmp_path / "la_code_list.xlsx"
    pd.DataFrame({"LA Number": ["877", "383"], "LA Name": ["Warrington", "Leeds"],
                  "Region": ["North West", "Yorkshire and The Humber"], "Type": ["UA", "MD"]}
                 ).to_excel(path, index=False)
    frame = read_lookup(path)
    assert frame["la_code"].isna().all()
    assert list(frame["old_la_code"]) == ["877", "383"]


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


@pytest.mark.parametrize(("areas", "years"), [
    (["877", "877", "877"], ["2023", "2023", "2023"]),
    (["876", "383", "Halton"], ["2022-23", "2023", "2022/23"])])
def test_lait_repeated_figure_names_both_rows(tmp_path: Path, register: LaRegister,
                                              areas: list[str], years: list[str]) -> None:
    """The same figure twice, also where an LA is given once by number and once by name and
    the year is written two ways."""
    path = tmp_path / "lait.csv"
    pd.DataFrame({"la_code": areas, "indicator": ["a", "b", "a"], "year": years,
                  "value": ["1", "2", "3"]}).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_lait(path, register)
    assert [(p.row, p.rule) for p in exc.value.problems] == [(2, "duplicate_row"),
                                                             (4, "duplicate_row")]


def test_lait_problems_by_row_then_column_at_most_1000(tmp_path: Path,
                                                        register: LaRegister) -> None:
    """A row's problems in the order area, period, value; rows in file order; 1000 at most. A
    row of the period `0` is left out when it has no figure and refused when it has one."""
    path = tmp_path / "lait.csv"
    pd.DataFrame({"la_code": ["877", "999", "877"] + ["877"] * 600,
                  "indicator": ["a", "b", "c"] + [f"i{n}" for n in range(600)],
                  "year": ["0", "2023Q1", "0"] + ["20x"] * 600,
                  "value": ["-", "n/a", "5"] + ["?"] * 600}).to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_lait(path, register)
    problems = [(p.row, p.column, p.rule, p.message) for p in exc.value.problems]
    assert problems[:4] == [
        (3, "la_code", "unknown_la_code", "'999' is not an LA in the lookup"),
        (3, "year", "time_period_format", "'2023Q1' is not a year"),
        (3, "value", "not_a_number", "'n/a' is neither a number nor a suppression marker"),
        (4, "year", "time_period_format", "'0' is not a year")]
    assert len(problems) == 1000
    assert problems[-2:] == [(502, "year", "time_period_format", "'20x' is not a year"),
                             (502, "value", "not_a_number",
                              "'?' is neither a number nor a suppression marker")]


def test_lait_final_figure_wins(tmp_path: Path, register: LaRegister) -> None:
    """'(Final)' in any case supersedes as '(Rev)' does, the last of two revisions wins."""
    path = tmp_path / "lait.csv"
    pd.DataFrame({"la_code": ["877", "877", "877", "876"], "indicator": ["a", "a", "a", "a"],
                  "year": ["2021 (final)", "2021", "2021 (Final)", "2021"],
                  "value": ["1", "2", "3", "x"]}).to_csv(path, index=False)
    frame = read_lait(path, register)
    assert list(zip(frame["area_code"], frame["time_period"], frame["value"].fillna(0),
                    strict=True)) == [("E06000007", "2021 (Final)", 3), ("E06000006", "2021", 0)]


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


def test_neighbours_skip_separator_and_section_rows(tmp_path: Path, register: LaRegister) -> None:
    """The NFER 2021 CSV: a blank row, then ",Old SNs:" before rows for former LAs."""
    path = tmp_path / "New_Statistical_Neighbour_Groupings_April_2021.csv"
    path.write_text("\ufeffLA num,LA Name,LA number,GOInd,GOReg,SN1,SNP,SN2,SNP,\n"
                    "877,Warrington,877,5,North West,383,Close,876,Close,\n"
                    ",,,,,,,,,\n,Old SNs:,,,,,,,,\n,,,,,,,,,\n"
                    "876,Halton,876,5,North West,877,Close,383,Close,\n", encoding="utf-8")
    frame = read_neighbours(path, register)
    assert list(zip(frame["la_code"], frame["neighbour_code"], strict=True)) == [
        ("E06000007", "E08000035"), ("E06000007", "E06000006"),
        ("E06000006", "E06000007"), ("E06000006", "E08000035")]
    path.write_text("LA num,LA Name,SN1,SN2\n877,Warrington,383,876\n,,383,876\n")
    with pytest.raises(IngestError) as exc:
        read_neighbours(path, register)
    assert (exc.value.problems[0].row, exc.value.problems[0].rule) == (3, "unknown_la")


def test_neighbour_workbook_header_below_title_rows(tmp_path: Path, register: LaRegister) -> None:
    """sn_april_2021.xlsx: two rows of column letters and numbers above the header; '-' where an
    LA has no neighbours; the same model as the CSV, read once when both agree."""
    path = tmp_path / "sn_april_2021.xlsx"
    pd.DataFrame([["A", "B", "C", "D"], ["1", "2", "3", "4"], ["LA num", "LA Name", "SN1", "SN2"],
                  ["877", "Warrington", "383", "876"], ["876", "Halton", "-", "-"]]
                 ).to_excel(path, index=False, header=False)
    assert kind_of(header_of(path)) == "neighbours"
    workbook = read_neighbours(path, register)
    assert list(workbook["neighbour_code"]) == ["E08000035", "E06000006"]
    csv = tmp_path / "sn_2021.csv"
    csv.write_text("la_name,SN1,SN2\nWarrington,Leeds,Halton\n")
    merged = merge_neighbour_models([read_neighbours(csv, register), workbook])
    assert len(merged) == 2
    csv.write_text("la_name,SN1,SN2\nWarrington,Halton,Leeds\n")
    with pytest.raises(IngestError) as exc:
        merge_neighbour_models([read_neighbours(csv, register), workbook])
    assert exc.value.problems[0].rule == "neighbours_disagree"
    assert str(csv) in exc.value.problems[0].file and str(path) in exc.value.problems[0].file


def test_workbook_cells_read_as_text(tmp_path: Path) -> None:
    """Numbers, dates and booleans in a workbook come as the text openpyxl gave them (a whole
    number without '.0'), padded labels stripped, a formula without a saved result blank; a
    formatted but empty cell beyond the table adds no row or column."""
    import datetime

    import openpyxl
    from openpyxl.styles import Font

    path = tmp_path / "la_code_list.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["Local authorities"], [], ["LA Number", "LA Name", "Value", "When", "Flag"],
                [877, "  Warrington ", 1.5, datetime.datetime(2021, 4, 1), True],
                [876.0, "Halton", 2, datetime.date(2021, 4, 1), False], ["383", None, "=1+1"]):
        sheet.append(row)
    sheet["H10"].font = Font(bold=True)
    book.save(path)
    frame = read_frame(path)
    assert frame.attrs["header_row"] == 3
    assert list(frame.columns) == ["la number", "la name", "value", "when", "flag"]
    assert frame.to_numpy().tolist() == [
        ["877", "Warrington", "1.5", "2021-04-01 00:00:00", "True"],
        ["876", "Halton", "2", "2021-04-01 00:00:00", "False"],
        ["383", "", "", "", ""]]


def test_spreadsheet_with_an_empty_first_sheet_is_refused_by_name(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "la_code_list.xlsx"
    book = openpyxl.Workbook()
    book.create_sheet("Data").append(["LA Number", "LA Name"])
    book.save(path)
    with pytest.raises(IngestError) as caught:
        read_frame(path)
    problem = caught.value.problems[0]
    assert (problem.file, problem.rule) == (str(path), "empty_file")


def test_lait_parquet_as_published(tmp_path: Path, register: LaRegister) -> None:
    """The LAIT long table: area numbers for England (970) and regions (980-990), LA numbers as
    floats, '-' for not available, periods such as '2022-23 (OT)', a revised year, and a period
    '0' with no figures."""
    path = tmp_path / "lait_benchmarking_long.parquet"
    pd.DataFrame({
        "Short Desc": ["FosteringFinance", "FosteringFinance", "FosteringFinance", "LACnum",
                       "LACnum", "LACnum", "CINPermExclusion"],
        "Data item": ["Fostering Finance", None, None, None, None, None, None],
        "Years": ["2022-23 (OT)", "2022-23 (OT)", "2022-23 (OT)", "2022", "2022 (Rev)", "2014-16",
                  "0"],
        "LA and Regions": ["Warrington", "England", "North West", "Warrington", "Warrington",
                           "Halton", "Warrington"],
        "Values": ["670", "665", "-", "330", "331", "12.5", "-"],
        "LA Number": [877.0, 970.0, 981.0, 877.0, 877.0, 876.0, 877.0],
        "Region": ["North West", "NA", "NA", "North West", "North West", "North West", "North West"],
    }).to_parquet(path)
    assert kind_of(header_of(path)) == "lait"
    frame = read_lait(path, register).set_index(["indicator", "area_code", "year"])
    assert frame.loc[("FosteringFinance", "E06000007", 2023), "value"] == 670
    assert frame.loc[("FosteringFinance", "E92000001", 2023), "geographic_level"] == "National"
    north_west = frame.loc[("FosteringFinance", "E12000002", 2023)]
    assert pd.isna(north_west["value"]) and north_west["status"] == "-"
    assert frame.loc[("LACnum", "E06000007", 2022), "value"] == 331
    assert frame.loc[("LACnum", "E06000006", 2016), "value"] == 12.5
    assert "CINPermExclusion" not in frame.index.get_level_values("indicator")


def test_lait_parquet_revision_and_repeat(tmp_path: Path, register: LaRegister) -> None:
    """A Parquet LAIT's revision replaces the figure first published, and repeated rows are
    named by their file rows."""
    path = tmp_path / "lait.parquet"
    table = pd.DataFrame({"Short Desc": ["LACnum", "CINrate", "Other", "LACnum", "CINrate"],
                          "Years": ["2022", "2023", "2023", "2022 (Rev)", "2023"],
                          "Values": ["330", "500", "x", "331", "501"],
                          "LA Number": [877.0, 877.0, 876.0, 877.0, 877.0]})
    table.iloc[:4].to_parquet(path)
    frame = read_lait(path, register).set_index(["indicator", "area_code", "year"])
    assert frame.loc[("LACnum", "E06000007", 2022), "value"] == 331
    assert frame.loc[("Other", "E06000006", 2023), "status"] == "x"
    assert len(frame) == 3
    table.to_parquet(path)
    with pytest.raises(IngestError) as exc:
        read_lait(path, register)
    assert [(p.row, p.rule) for p in exc.value.problems] == [(3, "duplicate_row"),
                                                             (6, "duplicate_row")]


@pytest.mark.parametrize(("period", "year"), [
    ("2023", 2023), ("2018 (Rev)", 2018), ("2022-23", 2023), ("2022-23 (OT)", 2023),
    ("2015/16", 2016), ("2014-16", 2016), ("2013/14-15/16", 2016), ("1999-00", 2000), ("0", None),
    ("2023Q1", None)])
def test_lait_periods_end_in_their_last_year(period: str, year: int | None) -> None:
    assert lait_year(period) == year
