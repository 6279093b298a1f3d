"""The 2010-2017 children looked after releases: each quirk of a year's format, reproduced in a tiny
file written here, and bad input refused with file, row, column and rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from sf_benefits.ingest.errors import IngestError
from sf_benefits.ingest.history import read_history
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.store.queries import OBSERVATION_COLUMNS, OBSERVATIONS, SERIES
from tests.synthetic_dfe import write_dfe_directory

CODES_2010 = ["Q1", "Q2", "A3", "A4", "A5", "A6", "P1", "P2", "P3", "K1", "K2", "H5", "R1", "R2",
              "R3", "R5", "S1", "M1", "M2", "M3", "Z1"]
"""The 2010 header's order (the SSDA903 guidance order); its cells follow these sorted."""
LOOKUP = {"877": "E06000007", "390": "E08000037"}


def write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """A CSV as the DfE wrote these releases: plain commas, no quoting unless needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


def march_2010(directory: Path, name: str = "SFR27_2010_March", scilly: bool = True) -> Path:
    """The 2010 table at 31 March: 3-digit codes, 'GOR' regions lettered as in 2010 (Yorkshire is
    D), England coded 921, names with trailing spaces, and each row's placement cells in the
    codes' alphabetical order while the header lists them in guidance order."""
    header = ["geog_l", "geog_c", "geog_n", "MarTotal_2010", "Mid2009Pop0-17",
              *[f"MarPlace_{c}_2010" for c in CODES_2010]]

    def row(level: str, code: str, name: str, total: int, population: int,
            by_code: dict[str, object]) -> list[object]:
        return [level, code, name, total, population, *[by_code.get(c, 0) for c in sorted(
            CODES_2010)]]

    return write(directory / "2010" / f"{name}.csv", header, [
        row("National", "921", "England", 64400, 11012300,
            {"Q1": 7300, "Q2": 39900, "K2": 5000, "P1": 4200, "A4": "x"}),
        row("GOR", "B", "North West ", 11180, 1480500, {"Q1": 1850, "Q2": 6080, "K2": 900}),
        row("GOR", "D", "Yorkshire and The Humber", 7050, 1107100, {"Q2": 4140}),
        row("LA", "877", "Warrington", 267, 43100,
            {"Q1": 65, "Q2": 138, "K2": 18, "P1": 26, "A4": "x", "Z1": "x"}),
    ] + ([row("LA", "420", "Isles of Scilly", 0, 410, {})] if scilly else []))


def flows_2010(directory: Path) -> None:
    base = [["National", "921", "England"], ["LA", "877", "Warrington"]]
    write(directory / "2010" / "SFR27_2010_Started.csv",
          ["geog_l", "geog_c", "geog_n", "StartTotal_2010", "StartPlace_Q1_2010"],
          [base[0] + [27800, 2600], base[1] + [148, 20]])
    write(directory / "2010" / "SFR27_2010_Ceased.csv",
          ["geog_l", "geog_c", "geog_n", "CeasedTotal_2010", "CeasedAdoptUnop_2010"],
          [base[0] + [25100, 1700], base[1] + [126, "x"]])


GEO = ["New_geog_code", "geog_l", "geog_c", "geog_n"]
ENGLAND = ["E92000001", "NATIONAL", "999", "ENGLAND"]
WARRINGTON = ["E06000007", "LA", "877", "Warrington"]
GATESHEAD_2011 = ["E08000020", "LA", "390", "Gateshead"]
"""The 2011-2017 releases keep Gateshead's pre-2013 GSS code; the lookup has today's."""


def cla_2011(directory: Path) -> Path:
    """2011: GSS codes, upper-case levels and regions, Inner and Outer London coded as London."""
    header = [*GEO, "CLA_Mar2011", "CLA_2011", "CLA_Fost", "CLA_Secure", "CLA_Miss", "CLA_OthPl"]
    return write(directory / "2011" / "SFR21_CLA.csv", header, [
        [*ENGLAND, 65520, 90920, 48530, 5890, 110, 90],
        ["E12000007", "REGION", "G", "LONDON", 10390, 15750, 7600, 1140, 10, 0],
        ["E12000007", "REGION", "H", "INNER LONDON", 4600, 6950, 3390, 490, 0, 0],
        ["E12000007", "REGION", "I", "OUTER LONDON", 5780, 8790, 4210, 650, 10, 0],
        [*WARRINGTON, 246, 357, 185, 23, 0, "x"],
        [*GATESHEAD_2011, 365, 500, 280, 30, 0, 0],
    ])


def flows_2011_to_2015(directory: Path) -> None:
    """The ceases tables before 2017 hold both `CLA_cease` (all) and `CLA_cease16` (aged 16);
    the 2015 starts table heads its total `CLA_started2014`; 2013 trails empty columns."""
    write(directory / "2011" / "SFR21_CEA.csv", [*GEO, "CLA_cease16", "CLA_cease", "CLA_ceamal"],
          [[*ENGLAND, 9950, 26830, 14390], [*WARRINGTON, 30, 115, 60]])
    write(directory / "2013" / "SFR36_ADM2013.csv",
          [*GEO, "CLA_started2013", "CLA_taken2013", "", " "],
          [[*ENGLAND, 28830, 11100, "", ""], [*WARRINGTON, 91, 40, "", ""]])
    write(directory / "2015" / "SFR34_ADM2015.csv", [*GEO, "CLA_started2014", "CLA_taken2014"],
          [[*ENGLAND, 31070, 10790], [*WARRINGTON, 171, 60]])
    write(directory / "2014" / "SFR36_CLA2014.csv",
          [*GEO, "CLA_Mar2014", "CLA_Fost", "CLA_NetGain ", ""],
          [[*ENGLAND, 68840, 51340, "..", ""], [*WARRINGTON, 232, "..", "#VALUE!", ""]])
    write(directory / "2014" / "SFR36_ADP2014.csv", [*GEO, "CLA_cease", "CLA_ceaAdop"],
          [[*ENGLAND, 30430, 5050]])


def releases_2017(directory: Path) -> None:
    """2017: a leading `LA_order` column, `CLA_cease2017`, and the Isles of Scilly's level left
    blank."""
    scilly = ["E06000053", "", "420", "Isles of Scilly"]
    write(directory / "2017" / "SFR50_CLA2017.csv", ["LA_order", *GEO, "CLA_Mar2017", "CLA_Fost"],
          [[1, *ENGLAND, 72670, 53420], [38, *WARRINGTON, 381, 250], [165, *scilly, 0, 0]])
    write(directory / "2017" / "SFR50_CEA2017.csv", ["LA_order", *GEO, "CLA_cease2017",
                                                     "CEA_male"],
          [[1, *ENGLAND, 31250, 17430], [38, *WARRINGTON, 128, 70], [165, *scilly, 0, 0]])


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    directory = tmp_path / "history" / "sfr_children_looked_after"
    march_2010(directory)
    flows_2010(directory)
    cla_2011(directory)
    flows_2011_to_2015(directory)
    releases_2017(directory)
    return tmp_path / "history"


def observations(directory: Path, lookup: dict[str, str] | None = None) -> pd.DataFrame:
    tables, _ = read_history(directory, LOOKUP if lookup is None else lookup)
    return pd.concat([t.observations for t in tables], ignore_index=True)


def value(frame: pd.DataFrame, area: str, year: int, indicator: str,
          breakdown: str = "") -> float:
    hit = frame[(frame["area_code"] == area) & (frame["year"] == year)
                & (frame["indicator"] == indicator) & (frame["breakdown"] == breakdown)]
    assert len(hit) == 1, (area, year, indicator, breakdown)
    return float(hit["value"].iloc[0])


def placements(frame: pd.DataFrame, area: str, year: int) -> pd.Series:
    rows = frame[(frame["area_code"] == area) & (frame["year"] == year)
                 & frame["breakdown"].str.startswith("placement=")]
    return rows.set_index(rows["breakdown"].str.extract(r"\((\w\d)\)$")[0])["value"]


def test_2010_placement_cells_are_read_in_code_order(releases: Path) -> None:
    frame = observations(releases)
    warrington = placements(frame, "E06000007", 2010)
    assert (warrington["Q1"], warrington["Q2"], warrington["K2"], warrington["P1"]) == (
        65, 138, 18, 26)
    assert warrington[["A4", "Z1"]].isna().all()
    england = placements(frame, "E92000001", 2010)
    assert england["Q1"] + england["Q2"] == 47_200


def test_a_table_whose_cells_do_not_follow_its_header_is_refused(tmp_path: Path) -> None:
    """The same layout in a file not listed under cells_in_code_order: foster care would be
    almost empty in England, which the reader refuses rather than mislabel."""
    path = march_2010(tmp_path / "history" / "sfr", name="SFR27_2010_Copy_March", scilly=False)
    with pytest.raises(IngestError) as exc:
        read_history(tmp_path / "history", LOOKUP)
    problem = exc.value.problems[0]
    assert (problem.file, problem.rule) == (str(path), "placement_order")


def test_2010_codes_regions_and_england_are_resolved(releases: Path) -> None:
    frame = observations(releases)
    totals = frame[(frame["year"] == 2010) & (frame["indicator"] == "cla_31_march")
                   & (frame["breakdown"] == "")].set_index("area_code")
    assert totals.loc["E92000001", "value"] == 64_400  # 921 is England here, not Isle of Wight
    assert totals.loc["E92000001", "geographic_level"] == "National"
    assert totals.loc["E12000002", "value"] == 11_180  # 'North West ' (letter B)
    assert totals.loc["E12000003", "value"] == 7_050  # letter D in 2010, C from 2011
    assert totals.loc["E06000007", "value"] == 267  # 877 through the LA lookup
    assert totals.loc["E06000053", "value"] == 0  # 420, named in 2017 only
    population = frame[frame["indicator"] == "population_0_17"].set_index("area_code")
    assert population.loc["E06000007", "year"] == 2009
    assert population.loc["E06000007", "value"] == 43_100


def test_later_releases_keep_old_gss_codes_the_lookup_replaces(releases: Path) -> None:
    frame = observations(releases)
    assert value(frame, "E08000037", 2011, "cla_31_march") == 365
    assert "E08000020" not in set(frame["area_code"])
    without_lookup = observations(releases, lookup={})
    assert value(without_lookup, "E08000020", 2011, "cla_31_march") == 365


def test_inner_and_outer_london_get_their_own_codes(releases: Path) -> None:
    frame = observations(releases)
    assert value(frame, "E12000007", 2011, "cla_31_march") == 10_390
    assert value(frame, "E13000001", 2011, "cla_31_march") == 4_600
    assert value(frame, "E13000002", 2011, "cla_31_march") == 5_780


def test_the_year_comes_from_the_folder(releases: Path) -> None:
    frame = observations(releases)
    assert value(frame, "E06000007", 2015, "starts") == 171  # headed CLA_started2014
    assert set(frame.loc[frame["dataset"] == "SFR34_ADM2015", "year"]) == {2015}


def test_ceases_read_the_total_not_those_aged_16(releases: Path) -> None:
    frame = observations(releases)
    assert value(frame, "E06000007", 2011, "ceases") == 115
    assert value(frame, "E06000007", 2017, "ceases") == 128  # CLA_cease2017
    assert value(frame, "E06000007", 2010, "ceases") == 126


def test_blank_level_follows_from_the_gss_code(releases: Path) -> None:
    frame = observations(releases)
    scilly = frame[(frame["area_code"] == "E06000053") & (frame["year"] == 2017)]
    assert set(scilly["geographic_level"]) == {"Local authority"}
    assert value(frame, "E06000053", 2017, "cla_31_march") == 0


def test_suppressed_cells_stay_missing_with_their_marker(releases: Path) -> None:
    frame = observations(releases)
    fostered = frame[(frame["area_code"] == "E06000007") & (frame["year"] == 2014)
                     & (frame["breakdown"] == "placement=Foster placements")]
    assert fostered["value"].isna().all() and list(fostered["status"]) == [".."]
    othpl = frame[(frame["area_code"] == "E06000007") & (frame["year"] == 2011)
                  & (frame["breakdown"] == "placement=Other placements")]
    assert list(othpl["status"]) == ["x"]
    assert not (frame["value"] == 0).loc[frame["status"].notna()].any()


def test_unread_columns_and_tables_are_left_alone(releases: Path) -> None:
    """2013's trailing empty columns, 2014's '#VALUE!' in CLA_NetGain (not read) and the
    adoptions table (not a table the reader knows) neither fail nor load."""
    tables, skipped = read_history(releases, LOOKUP)
    assert [p.name for p in skipped] == ["SFR36_ADP2014.csv"]
    assert value(observations(releases), "E06000007", 2013, "starts") == 91
    assert {t.dataset for t in tables} >= {"SFR36_ADM2013", "SFR36_CLA2014"}


def test_a_bad_cell_is_named_by_file_row_column_and_rule(releases: Path) -> None:
    path = releases / "sfr_children_looked_after" / "2011" / "SFR21_CLA.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[4, "CLA_Mar2011"] = "two hundred"
    frame.to_csv(path, index=False)
    with pytest.raises(IngestError) as exc:
        read_history(releases, LOOKUP)
    problem = exc.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.rule) == (
        str(path), 6, "cla_mar2011", "not_a_number")


def test_an_unknown_area_and_a_missing_total_are_refused(releases: Path) -> None:
    folder = releases / "sfr_children_looked_after"
    write(folder / "2012" / "SFR20_CLA2012.csv", [*GEO, "CLA_Mar2012"],
          [[*ENGLAND, 67050], ["", "LA", "999X", "Atlantis", 10]])
    write(folder / "2012" / "SFR20_ADM2012.csv", [*GEO, "CLA_taken2012"], [[*ENGLAND, 10]])
    with pytest.raises(IngestError) as exc:
        read_history(releases, LOOKUP)
    found = {(Path(p.file).name, p.row, p.column, p.rule) for p in exc.value.problems}
    assert found == {("SFR20_CLA2012.csv", 3, "geog_c", "unknown_area"),
                     ("SFR20_ADM2012.csv", 1, None, "missing_column")}


def test_a_release_outside_a_year_folder_is_refused(releases: Path) -> None:
    write(releases / "sfr_children_looked_after" / "latest" / "SFR50_CLA2018.csv",
          [*GEO, "CLA_Mar2018"], [[*ENGLAND, 75000]])
    with pytest.raises(IngestError) as exc:
        read_history(releases, LOOKUP)
    assert [p.rule for p in exc.value.problems] == ["year_folder"]


def test_a_table_with_a_header_and_no_rows_is_refused(releases: Path) -> None:
    write(releases / "sfr_children_looked_after" / "2012" / "SFR20_CLA2012.csv",
          [*GEO, "CLA_Mar2012"], [])
    with pytest.raises(IngestError) as exc:
        read_history(releases, LOOKUP)
    assert [(Path(p.file).name, p.rule) for p in exc.value.problems] == [
        ("SFR20_CLA2012.csv", "empty_file")]


def test_the_loader_reads_the_history_folder(tmp_path: Path, store: Store) -> None:
    data = write_dfe_directory(tmp_path / "data")
    march_2010(data / "history" / "sfr_children_looked_after", scilly=False)
    report = load_directory(store, data)
    assert report.files["history"] == [
        str(data / "history" / "sfr_children_looked_after" / "2010" / "SFR27_2010_March.csv")]
    with store.engine.connect() as conn:
        rows = pd.read_sql(select(*OBSERVATION_COLUMNS).select_from(OBSERVATIONS).where(
            SERIES.dataset == "SFR27_2010_March"), conn)
    warrington = rows[(rows["area_code"] == "E06000007") & (rows["breakdown"] == "")]
    assert list(warrington["value"]) == [267]


def test_a_bad_release_changes_nothing(tmp_path: Path, store: Store) -> None:
    data = write_dfe_directory(tmp_path / "data")
    load_directory(store, data)
    with store.engine.connect() as conn:
        before = pd.read_sql(select(*OBSERVATION_COLUMNS).select_from(OBSERVATIONS), conn)
    write(data / "history" / "sfr" / "2011" / "SFR21_CLA.csv", [*GEO, "CLA_Mar2011"],
          [[*WARRINGTON, "n/a"]])
    with pytest.raises(IngestError, match="SFR21_CLA.csv, row 2, column 'cla_mar2011'"):
        load_directory(store, data)
    with store.engine.connect() as conn:
        after = pd.read_sql(select(*OBSERVATION_COLUMNS).select_from(OBSERVATIONS), conn)
    pd.testing.assert_frame_equal(before, after)
