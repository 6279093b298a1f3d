"""EES reader and directory loader: suppression, validation errors, all-or-nothing loads."""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from sf_benefits.ingest.ees import read_csv_strings, read_ees, year_ending
from sf_benefits.ingest.errors import IngestError
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.store.schema import data_load, local_authority, observation, observation_series

HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,"
          "region_name,new_la_code,old_la_code,la_name,population_count,number,rate_per_10000\n")
ROW = ("2023,Reporting year,Local authority,E92000001,England,E12000002,North West,E06000007,"
       "877,Warrington,{label},{number},{rate}\n")


def write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("marker", ["c", "x", "z", "low", "u", ".", ""])
def test_suppression_markers_are_missing_never_zero(tmp_path: Path, marker: str) -> None:
    table = read_ees(write(tmp_path / "cla.csv",
                           ROW.format(label="Children looked after at 31 March each year",
                                      number=marker, rate="64")))
    number = table.observations[table.observations["indicator"] == "number"].iloc[0]
    assert pd.isna(number["value"])
    assert number["status"] == (marker or "blank")


def test_cells_missing_from_a_short_row_are_blank(tmp_path: Path) -> None:
    full = ROW.format(label="Children looked after at 31 March each year", number="12", rate="64")
    short = ROW.format(label="Children starting to be looked after each year", number="5",
                       rate="").rsplit(",", 1)[0] + "\n"
    values = read_ees(write(tmp_path / "cla.csv", full, short)).observations
    rate = values[values["indicator"] == "rate_per_10000"].set_index("breakdown")
    started = rate.filter(like="starting", axis=0).iloc[0]
    assert pd.isna(started["value"]) and started["status"] == "blank"


def test_year_ending_reads_years_and_spans() -> None:
    assert year_ending("2023") == 2023
    assert year_ending("202223") == 2023
    assert year_ending("2023/24") is None


def problem_of(exc: pytest.ExceptionInfo[IngestError]) -> tuple[str, int | None, str | None, str]:
    problem = exc.value.problems[0]
    return Path(problem.file).name, problem.row, problem.column, problem.rule


def test_non_numeric_value_names_file_row_column_and_rule(tmp_path: Path) -> None:
    path = write(tmp_path / "cla.csv",
                 ROW.format(label="Children looked after at 31 March each year", number="12",
                            rate="64"),
                 ROW.format(label="Children starting to be looked after each year",
                            number="1O", rate="30"),
                 ROW.format(label="Children ceasing to be looked after each year", number="9",
                            rate="28"))
    with pytest.raises(IngestError) as exc:
        read_ees(path)
    assert problem_of(exc) == ("cla.csv", 3, "number", "not_a_number")
    assert "'1O'" in str(exc.value)


def test_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path / "cla.csv", "2023,Local authority,5\n",
                 header="time_period,level,number\n")
    with pytest.raises(IngestError) as exc:
        read_ees(path)
    assert problem_of(exc) == ("cla.csv", 1, "geographic_level", "missing_column")


def test_unknown_la_code(tmp_path: Path) -> None:
    path = write(tmp_path / "cla.csv", ROW.format(label="x", number="5", rate="1"))
    with pytest.raises(IngestError) as exc:
        read_ees(path, known_la_codes={"E06000006"})
    assert problem_of(exc) == ("cla.csv", 2, "new_la_code", "unknown_la_code")


def test_malformed_la_code(tmp_path: Path) -> None:
    path = write(tmp_path / "cla.csv",
                 ROW.format(label="x", number="5", rate="1").replace("E06000007", "E0600007"))
    with pytest.raises(IngestError) as exc:
        read_ees(path)
    assert problem_of(exc)[3] == "la_code_format"


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cla.csv"
    text = HEADER + ROW.format(label="Children looked after at 31 March each year", number="5",
                               rate="1")
    path.write_bytes(text.encode("utf-8") + "2023,Reporting year,Local authority,E92000001,"
                     "England,E12000002,North West,E06000007,877,Warrington £,x,1,2\n"
                     .encode("cp1252"))
    with pytest.raises(IngestError) as exc:
        read_ees(path)
    assert problem_of(exc) == ("cla.csv", 3, None, "encoding")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as exc:
        read_ees(write(tmp_path / "cla.csv", header=""))
    assert problem_of(exc)[3] == "empty_file"
    with pytest.raises(IngestError) as exc:
        read_ees(write(tmp_path / "cla.csv"))
    assert problem_of(exc)[3] == "empty_file"


def test_duplicate_rows_name_both(tmp_path: Path) -> None:
    row = ROW.format(label="Children looked after at 31 March each year", number="5", rate="1")
    with pytest.raises(IngestError) as exc:
        read_ees(write(tmp_path / "cla.csv", row, row))
    assert problem_of(exc) == ("cla.csv", 3, None, "duplicate_row")
    assert "rows 2, 3" in str(exc.value)


def snapshot(store: Store) -> tuple[int, int, int, list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        observations = conn.execute(select(func.count()).select_from(observation)).scalar_one()
        series = conn.execute(select(func.count()).select_from(observation_series)).scalar_one()
        las = conn.execute(select(func.count()).select_from(local_authority)).scalar_one()
        loads = [tuple(r) for r in conn.execute(select(data_load.c.dataset, data_load.c.sha256))]
    return observations, series, las, sorted(loads)


def test_reload_is_idempotent(store: Store, dfe_dir: Path) -> None:
    first = load_directory(store, dfe_dir)
    before = snapshot(store)
    load_directory(store, dfe_dir)
    assert snapshot(store) == before
    assert before[0] == first.observations


@pytest.mark.parametrize("corruption", ["bad_value", "missing_column", "encoding", "empty",
                                        "duplicate", "unknown_la"])
def test_bad_file_leaves_the_store_exactly_as_it_was(store: Store, dfe_dir: Path, tmp_path: Path,
                                                     corruption: str) -> None:
    load_directory(store, dfe_dir)
    before = snapshot(store)
    broken = tmp_path / "broken"
    shutil.copytree(dfe_dir, broken)
    target = broken / "b1_children_in_need.csv"
    lines = target.read_text().splitlines(keepends=True)
    if corruption == "bad_value":
        lines[5] = lines[5].rsplit(",", 1)[0] + ",twelve\n"
    elif corruption == "missing_column":
        lines = [line.replace("geographic_level", "geo_level", 1) for line in lines]
    elif corruption == "empty":
        lines = []
    elif corruption == "duplicate":
        lines.append(lines[-1])
    elif corruption == "unknown_la":
        row = next(i for i, line in enumerate(lines) if "E06000007" in line)
        lines[row] = lines[row].replace("E06000007", "E06000999")
    if corruption == "encoding":
        target.write_bytes("".join(lines).encode() + "x,é\n".encode("latin-1"))
    else:
        target.write_text("".join(lines))
    with pytest.raises(IngestError) as exc:
        load_directory(store, broken)
    assert exc.value.problems[0].file.endswith("b1_children_in_need.csv")
    assert snapshot(store) == before


def test_a_failure_while_writing_rolls_back(store: Store, dfe_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    load_directory(store, dfe_dir)
    before = snapshot(store)
    import sf_benefits.store.db as db

    real = db.insert_columns
    calls = {"n": 0}

    def fail_late(*args: object, **kwargs: object) -> None:
        """Fails after three observation datasets are written, while the observation index is
        dropped for the bulk write."""
        calls["n"] += 1
        if calls["n"] > 6:
            raise RuntimeError("interrupted")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "insert_columns", fail_late)
    with pytest.raises(RuntimeError):
        load_directory(store, dfe_dir)
    assert snapshot(store) == before


WORKFORCE_HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,"
                    "region_code,region_name,new_la_code,old_la_code,la_name,turnover_rate_fte\n")
JOINT = ("2023,Reporting year,Local authority,E92000001,England,E12000007,London,"
         "E09000021 / E09000027,314 / 318,Kingston upon Thames / Richmond upon Thames,{rate}\n")
KINGSTON = ("2023,Reporting year,Local authority,E92000001,England,E12000007,London,"
            "E09000021,314,Kingston upon Thames,{rate}\n")


def test_joint_return_gives_each_la_the_shared_value(tmp_path: Path) -> None:
    table = read_ees(write(tmp_path / "csww.csv", JOINT.format(rate="17.5"),
                           header=WORKFORCE_HEADER))
    rows = table.observations.set_index("area_code")
    assert rows.loc[["E09000021", "E09000027"], "value"].tolist() == [17.5, 17.5]
    assert set(rows["status"]) == {"joint"}
    assert table.local_authorities["la_name"].isna().all()


def test_an_las_own_row_wins_over_a_joint_return(tmp_path: Path) -> None:
    table = read_ees(write(tmp_path / "csww.csv", JOINT.format(rate="17.5"),
                           KINGSTON.format(rate="12.0"), header=WORKFORCE_HEADER))
    rows = table.observations.set_index("area_code")
    assert rows.loc["E09000021", "value"] == 12.0
    assert pd.isna(rows.loc["E09000021", "status"])
    assert rows.loc["E09000027", "status"] == "joint"


def test_a_former_la_is_accepted_and_registered(store: Store, dfe_dir: Path,
                                                tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(dfe_dir, data)
    write(data / "northamptonshire_2020.csv",
          ("2020,Reporting year,Local authority,E92000001,England,E12000004,East Midlands,"
           "E10000021,928,Northamptonshire,Children looked after at 31 March each year,1159,67\n"))
    load_directory(store, data)
    with store.engine.connect() as conn:
        name = conn.execute(select(local_authority.c.la_name).where(
            local_authority.c.la_code == "E10000021")).scalar_one()
    assert name == "Northamptonshire"


def test_thousands_separators_and_declared_millions(tmp_path: Path) -> None:
    header = ("time_period,time_identifier,geographic_level,country_code,country_name,"
              "total_expenditure,own_provision\n")
    path = write(tmp_path / "s251.csv", '202223,Financial year,National,E92000001,England,'
                 '"1,234.5","2,000"\n', header=header)
    (tmp_path / "s251.meta.csv").write_text(
        "col_name,col_type,label,indicator_unit\n"
        "total_expenditure,Indicator,Total expenditure,£m\n"
        "own_provision,Indicator,Own provision,£\n", encoding="utf-8")
    values = read_ees(path).observations.set_index("indicator")["value"]
    assert values["total_expenditure"] == 1_234_500_000
    assert values["own_provision"] == 2_000


def test_misplaced_separator_is_not_a_number(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as exc:
        read_ees(write(tmp_path / "cla.csv", ROW.format(
            label="Children looked after at 31 March each year", number='"12,34"', rate="64")))
    assert exc.value.problems[0].rule == "not_a_number"


def test_early_rows_with_only_the_old_code_get_the_gss_code(tmp_path: Path) -> None:
    row = ROW.replace("E06000007", "").replace("2023", "2011", 1)
    table = read_ees(write(tmp_path / "cla.csv", row.format(
        label="Children looked after at 31 March each year", number="180", rate="43")),
        codes_by_old_code={"877": "E06000007"})
    assert set(table.observations["area_code"]) == {"E06000007"}


def test_a_joint_return_alone_loads_with_codes_for_names(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write(data / "csww.csv", JOINT.format(rate="17.5"), header=WORKFORCE_HEADER)
    load_directory(store, data)
    with store.engine.connect() as conn:
        names = {code: name for code, name in conn.execute(
            select(local_authority.c.la_code, local_authority.c.la_name))}
    assert names == {"E09000021": "E09000021", "E09000027": "E09000027"}


def test_a_filter_column_called_breakdown_is_a_filter(tmp_path: Path) -> None:
    """The care leavers and new placements files name a filter `breakdown`: rows that differ only
    in it are distinct, not repeats."""
    header = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,"
              "region_name,old_la_code,la_name,new_la_code,care_leaver_age,breakdown,"
              "care_leaver_count,care_leaver_percent\n")
    row = ("2023,Reporting year,Local authority,E92000001,England,E12000002,North West,877,"
           "Warrington,E06000007,17 to 18 years,{},{},{}\n")
    table = read_ees(write(tmp_path / "la_care_leavers_accommodation_suitability.csv",
                           row.format("Accommodation considered suitable", 40, 91),
                           row.format("Accommodation considered unsuitable", "c", "c"),
                           header=header))
    counts = table.observations[table.observations["indicator"] == "care_leaver_count"]
    assert sorted(counts["breakdown"]) == [
        "breakdown=Accommodation considered suitable|care_leaver_age=17 to 18 years",
        "breakdown=Accommodation considered unsuitable|care_leaver_age=17 to 18 years"]
    assert counts["value"].isna().sum() == 1
    with pytest.raises(IngestError) as exc:
        read_ees(write(tmp_path / "repeat.csv", row.format("Suitable", 1, 2),
                       row.format("Suitable", 3, 4), header=header))
    assert problem_of(exc)[3] == "duplicate_row"


def test_cells_are_read_as_published_text(tmp_path: Path) -> None:
    """BOM, Windows line ends, padded cells, quoted commas and line breaks, leading zeros: every
    cell is the published text without surrounding spaces, never coerced."""
    path = tmp_path / "cla.csv"
    path.write_bytes(codecs.BOM_UTF8 + (
        b'time_period,old_la_code , number\r\n'
        b'2023, 007,"1,234"\r\n'
        b'2023,877 ,"two\r\nlines "\r\n'))
    frame = read_csv_strings(path)
    assert list(frame.columns) == ["time_period", "old_la_code", "number"]
    assert frame.to_dict("list") == {"time_period": ["2023", "2023"],
                                     "old_la_code": ["007", "877"],
                                     "number": ["1,234", "two\r\nlines"]}


def test_a_column_named_twice_is_read_under_both_names(tmp_path: Path) -> None:
    path = write(tmp_path / "cla.csv", "2023,5,6\n", header="time_period,number,number\n")
    assert read_csv_strings(path).to_dict("list") == {
        "time_period": ["2023"], "number": ["5"], "number.1": ["6"]}


def test_a_row_with_too_many_cells_names_the_line(tmp_path: Path) -> None:
    row = ROW.format(label="Children looked after at 31 March each year", number="5", rate="1")
    with pytest.raises(IngestError) as exc:
        read_ees(write(tmp_path / "cla.csv", row, row.replace("\n", ",9\n")))
    assert problem_of(exc)[3] == "csv_shape"
    assert "line 3" in str(exc.value)

