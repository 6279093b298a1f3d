"""Actuals imports: validated, append-only, versioned; bad or interrupted imports change nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

from sf_benefits.ingest.errors import IngestError
from sf_benefits.store import Store
from sf_benefits.track import actuals as actuals_module
from sf_benefits.track import (
    actuals_history,
    current_actuals,
    import_actuals,
    import_dfe_release,
    list_imports,
    parse_period,
    tables,
    write_template,
)

LA = "E06000005"


def _write(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    pd.DataFrame(rows, columns=["period", "measure", "placement", "count", "spend_gbp"]).to_csv(
        path, index=False)
    return path


def _store_rows(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        return (sorted(map(tuple, conn.execute(sa.select(tables.actuals_import)).all()), key=repr),
                sorted(map(tuple, conn.execute(sa.select(tables.actual)).all()), key=repr))


@pytest.mark.parametrize(("text", "granularity", "start", "end", "fy"), [
    ("2024-25", "year", date(2024, 4, 1), date(2025, 3, 31), 2025),
    ("2024-25 Q1", "quarter", date(2024, 4, 1), date(2024, 6, 30), 2025),
    ("2024-25 Q4", "quarter", date(2025, 1, 1), date(2025, 3, 31), 2025),
    ("2024-06", "month", date(2024, 6, 1), date(2024, 6, 30), 2025),
    ("2025-02", "month", date(2025, 2, 1), date(2025, 2, 28), 2025),
])
def test_periods(text: str, granularity: str, start: date, end: date, fy: int) -> None:
    period = parse_period(text)
    assert (period.granularity, period.start, period.end, period.year_ending_march) == (
        granularity, start, end, fy)


@pytest.mark.parametrize("text", ["2024-26", "2024-25 Q5", "2024-13", "Q1 2024", ""])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_template_round_trip(tmp_path: Path, store: Store, suffix: str) -> None:
    path = write_template(tmp_path / f"template{suffix}")
    if suffix == ".csv":
        columns = list(pd.read_csv(path).columns)
    else:
        sheets = pd.read_excel(path, sheet_name=None)
        assert "guide" in sheets
        columns = list(sheets["actuals"].columns)
    assert columns == ["period", "measure", "placement", "count", "spend_gbp"]
    filled = tmp_path / f"filled{suffix}"
    rows = pd.DataFrame([["2024-25 Q1", "cla", "all", "812", ""],
                         ["2024-25 Q1", "spend", "foster", "", "1,234,567.50"]], columns=columns)
    if suffix == ".csv":
        rows.to_csv(filled, index=False)
    else:
        rows.to_excel(filled, sheet_name="actuals", index=False)
    imported = import_actuals(store, LA, filled)
    assert imported.version == 1 and imported.rows == 2
    current = current_actuals(store, LA)
    assert current.loc[current["measure"] == "spend", "spend_gbp"].item() == 1_234_567.5


def test_correction_is_a_new_version_and_history_stays(tmp_path: Path, store: Store) -> None:
    first = import_actuals(store, LA, _write(tmp_path / "q1.csv", [
        ("2024-25 Q1", "cla", "all", "800", ""), ("2024-25 Q1", "starts", "all", "40", "")]))
    second = import_actuals(store, LA, _write(tmp_path / "q1_fix.csv", [
        ("2024-25 Q1", "cla", "all", "790", "")]), note="corrected CLA")
    assert (first.version, second.version) == (1, 2)
    history = actuals_history(store, LA)
    cla = history[history["measure"] == "cla"].sort_values("version")
    assert list(cla["count"]) == [800.0, 790.0]
    assert list(cla["superseded"]) == [True, False]
    current = current_actuals(store, LA)
    assert dict(zip(current["measure"], current["count"], strict=True)) == {
        "cla": 790.0, "starts": 40.0}
    assert list(list_imports(store, LA)["version"]) == [1, 2]
    with pytest.raises(IngestError, match="not_already_imported"):
        import_actuals(store, LA, tmp_path / "q1_fix.csv")


def test_bad_file_names_each_problem_and_changes_nothing(tmp_path: Path, store: Store) -> None:
    import_actuals(store, LA, _write(tmp_path / "good.csv", [("2023-24", "cla", "all", "700", "")]))
    before = _store_rows(store)
    bad = _write(tmp_path / "bad.csv", [
        ("2024-25 Q1", "cla", "all", "800", ""),
        ("2024-25 Q9", "cla", "all", "800", ""),
        ("2024-25 Q2", "children", "all", "800", ""),
        ("2024-25 Q2", "cla", "castle", "800", ""),
        ("2024-25 Q3", "cla", "all", "-3", ""),
        ("2024-25 Q3", "starts", "all", "2.5", ""),
        ("2024-25 Q3", "ceases", "all", "", ""),
        ("2024-25 Q1", "cla", "all", "801", ""),
        ("2024-25 Q4", "spend", "foster", "", "lots"),
    ])
    with pytest.raises(IngestError) as caught:
        import_actuals(store, LA, bad)
    found = {(p.row, p.column, p.rule) for p in caught.value.problems}
    assert {p.file for p in caught.value.problems} == {"bad.csv"}
    assert {(3, "period", "valid_period"), (4, "measure", "measure_known"),
            (5, "placement", "placement_known"), (6, "count", "whole_number_not_negative"),
            (7, "count", "whole_number_not_negative"), (8, "count", "count_or_spend_required"),
            (9, "period", "row_unique"), (10, "spend_gbp", "number_not_negative")} <= found
    assert _store_rows(store) == before


def test_wrong_columns_and_types_change_nothing(tmp_path: Path, store: Store) -> None:
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"period": ["2024-25"], "measure": ["cla"], "kids": ["4"]}).to_csv(wrong,
                                                                                   index=False)
    with pytest.raises(IngestError) as caught:
        import_actuals(store, LA, wrong)
    rules = {(p.column, p.rule) for p in caught.value.problems}
    assert ("kids", "column_unknown") in rules and ("count", "column_required") in rules
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(IngestError, match="file_type"):
        import_actuals(store, LA, text)
    assert _store_rows(store) == ([], [])


def test_interrupted_import_leaves_store_as_it_was(tmp_path: Path, store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import_actuals(store, LA, _write(tmp_path / "first.csv", [("2023-24", "cla", "all", "700",
                                                               "")]))
    before = _store_rows(store)
    monkeypatch.setattr(actuals_module, "INSERT_CHUNK", 10)
    months = [f"{y}-{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13)]
    big = _write(tmp_path / "monthly.csv",
                 [(m, "cla", "all", str(700 + i), "") for i, m in enumerate(months)])
    inserts = {"n": 0}

    def crash_on_third_chunk(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO track_actual "):
            inserts["n"] += 1
            if inserts["n"] == 3:
                raise KeyboardInterrupt("power cut mid-import")

    event.listen(store.engine, "before_cursor_execute", crash_on_third_chunk)
    try:
        with pytest.raises(KeyboardInterrupt):
            import_actuals(store, LA, big)
    finally:
        event.remove(store.engine, "before_cursor_execute", crash_on_third_chunk)
    assert inserts["n"] == 3
    assert _store_rows(store) == before
    assert import_actuals(store, LA, big).version == 2


def test_dfe_release_is_versioned_and_wins_over_la_return(tmp_path: Path, store: Store) -> None:
    import_actuals(store, LA, _write(tmp_path / "la.csv", [("2022-23", "cla", "all", "500", ""),
                                                          ("2023-24 Q1", "cla", "all", "505",
                                                           "")]))
    history = pd.DataFrame({"la_code": LA, "year": [2023, 2023, 2024], "measure": "cla_31_march",
                            "placement": ["all", "foster", "all"],
                            "value": [498.0, float("nan"), 510.0]})
    release = import_dfe_release(store, LA, history, "2024 release")
    assert release.source == "dfe_release" and release.version == 1
    current = current_actuals(store, LA)
    annual = current[(current["period"] == "2022-23") & (current["placement"] == "all")]
    assert annual["count"].item() == 498.0 and annual["source"].item() == "dfe_release"
    suppressed = current[current["placement"] == "foster"]["count"]
    assert suppressed.isna().all()
    assert "2023-24 Q1" in set(current["period"])
    with pytest.raises(IngestError, match="la_in_release"):
        import_dfe_release(store, "E09999999", history, "2024 release")


@pytest.mark.parametrize("statement", ["UPDATE track_actual SET count = 1",
                                       "DELETE FROM track_actuals_import"])
def test_database_refuses_to_rewrite_actuals(tmp_path: Path, store: Store, statement: str) -> None:
    import_actuals(store, LA, _write(tmp_path / "a.csv", [("2023-24", "cla", "all", "700", "")]))
    before = _store_rows(store)
    with pytest.raises((IntegrityError, DBAPIError), match="immutable"), \
            store.transaction() as conn:
        conn.execute(sa.text(statement))
    assert _store_rows(store) == before


@pytest.mark.postgres
def test_postgres_import_is_versioned_and_immutable(tmp_path: Path, postgres_url: str) -> None:
    import uuid

    store = Store.open(postgres_url)
    try:
        code = f"E99{uuid.uuid4().int % 10**6:06d}"
        marker = str(uuid.uuid4().int % 10**6)
        first = import_actuals(store, code, _write(tmp_path / "a.csv", [
            ("2023-24", "cla", "all", marker, "")]))
        bad = _write(tmp_path / "bad.csv", [("2023-24", "cla", "all", "-1", "")])
        with pytest.raises(IngestError):
            import_actuals(store, code, bad)
        second = import_actuals(store, code, _write(tmp_path / "b.csv", [
            ("2023-24", "cla", "all", str(int(marker) + 1), "")]))
        assert (first.version, second.version) == (1, 2)
        assert len(actuals_history(store, code)) == 2
        with pytest.raises(DBAPIError, match="immutable"), store.transaction() as conn:
            conn.execute(sa.text(f"UPDATE track_actual SET count = 0 WHERE la_code = '{code}'"))
        assert current_actuals(store, code)["count"].item() == int(marker) + 1
    finally:
        store.close()


def test_a_dfe_sum_with_suppressed_cells_is_not_recorded_as_a_count(store: Store) -> None:
    """A placement total that left suppressed cells out is a lower bound ('0+' where every cell
    was suppressed): it is stored as missing, as a suppressed figure is, not as 0."""
    history = pd.DataFrame({"la_code": LA, "year": 2010, "measure": "cla_31_march",
                            "placement": ["all", "foster", "independent_living"],
                            "value": [267.0, 203.0, 0.0], "status": [None, None, "partial"]})
    import_dfe_release(store, LA, history, "2010 release")
    counts = current_actuals(store, LA).set_index("placement")["count"]
    assert counts["all"] == 267 and counts["foster"] == 203
    assert pd.isna(counts["independent_living"])
