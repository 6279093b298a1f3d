"""Small-number suppression: no count from 1 to 5 leaves the tool, and totals cannot reveal one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from sf_benefits.disclosure import (
    SUPPRESSED,
    ColumnTotal,
    RowTotal,
    is_small_count,
    suppress_count,
    suppress_counts,
    suppress_realised,
    suppressed_cells,
)

PARTS = ["foster", "residential", "other"]
BY_YEAR = RowTotal("placement", "all", ("year",))


def _two_way(rows: list[list[int]]) -> pd.DataFrame:
    """Placements by year with a total column and a total row: both margins published."""
    table = pd.DataFrame(rows, columns=PARTS)
    table["total"] = table[PARTS].sum(axis=1)
    table.insert(0, "year", [f"20{20 + i}" for i in range(len(rows))])
    all_row = table[PARTS + ["total"]].sum().to_dict()
    all_row["year"] = "all"
    return pd.concat([table, pd.DataFrame([all_row])], ignore_index=True)


def _integer_range(exported: pd.DataFrame, columns: list[str], target: tuple[int, int]) -> float:
    """Width of the whole-number values a reader could give ``target`` from every published
    total: solved independently as an integer programme over the suppressed cells (each >= 1)."""
    cells = [(i, j) for j, c in enumerate(columns) for i in range(len(exported))
             if exported[c].iloc[i] == SUPPRESSED]
    index = {cell: k for k, cell in enumerate(cells)}
    grid = exported[columns].to_numpy(dtype=object)
    equations: list[list[tuple[int, int]]] = []
    last = len(exported) - 1
    parts = list(range(len(columns) - 1))
    for i in range(len(exported)):
        equations.append([(i, len(columns) - 1)] + [(i, j) for j in parts])
    for j in range(len(columns)):
        equations.append([(last, j)] + [(i, j) for i in range(last)])
    matrix, rhs = [], []
    for eq in equations:
        row = np.zeros(len(cells))
        constant = 0.0
        for position, cell in enumerate(eq):
            sign = 1.0 if position == 0 else -1.0
            if cell in index:
                row[index[cell]] += sign
            else:
                constant += sign * float(grid[cell])
        if row.any():
            matrix.append(row)
            rhs.append(-constant)
    objective = np.zeros(len(cells))
    objective[index[target]] = 1.0
    constraint = LinearConstraint(np.vstack(matrix), rhs, rhs)
    kwargs = dict(constraints=constraint, integrality=np.ones(len(cells)),
                  bounds=Bounds(np.ones(len(cells)), np.full(len(cells), 10_000.0)))
    low = milp(objective, **kwargs)  # type: ignore[arg-type]
    high = milp(-objective, **kwargs)  # type: ignore[arg-type]
    assert low.status == 0 and high.status == 0
    return float(-high.fun - low.fun)


small_or_large = st.one_of(st.integers(0, 7), st.integers(0, 60))
tables = st.integers(1, 4).flatmap(
    lambda n: st.lists(st.lists(small_or_large, min_size=3, max_size=3), min_size=n, max_size=n)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_no_count_from_one_to_five_and_no_suppressed_count_can_be_backed_out(
    rows: list[list[int]],
) -> None:
    table = _two_way(rows)
    columns = PARTS + ["total"]
    exported = suppress_counts(
        table, columns,
        row_totals=[RowTotal("year", "all")],
        column_totals=[ColumnTotal("total", tuple(PARTS))],
    )
    for column in columns:
        for value in exported[column]:
            assert value == SUPPRESSED or not 1 <= value <= 5
    for j, column in enumerate(columns):
        for i in range(len(exported)):
            if exported[column].iloc[i] == SUPPRESSED:
                assert _integer_range(exported, columns, (i, j)) >= 1
            else:
                assert exported[column].iloc[i] == table[column].iloc[i]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=8))
def test_fractional_projected_counts_are_rounded_before_suppression(values: list[float]) -> None:
    table = pd.DataFrame({"placement": [f"p{i}" for i in range(len(values))], "p50": values})
    exported = suppress_counts(table, ["p50"])
    for raw, shown in zip(values, exported["p50"], strict=True):
        if shown == SUPPRESSED:
            assert 0.5 <= raw < 5.5
        else:
            assert isinstance(shown, int) and shown == int(np.floor(raw + 0.5))
            assert not 1 <= shown <= 5


def test_a_single_suppressed_part_forces_the_next_smallest_to_be_suppressed() -> None:
    table = pd.DataFrame({
        "year": ["2024"] * 4,
        "placement": ["foster", "residential", "secure", "all"],
        "children": [40, 12, 3, 55],
        "weekly_cost": [900.0, 5200.0, 7000.0, 13100.0],
    })
    exported = suppress_counts(table, ["children"], row_totals=[BY_YEAR])
    assert exported["children"].tolist() == [40, SUPPRESSED, SUPPRESSED, 55]
    assert exported["weekly_cost"].tolist() == table["weekly_cost"].tolist()
    assert suppressed_cells(exported, ["children"]) == 2
    assert suppressed_cells(exported.iloc[:3], ["children", "weekly_cost"]) == 2


def test_two_suppressed_parts_whose_sum_pins_them_are_protected_further() -> None:
    table = pd.DataFrame({
        "year": ["2024"] * 4,
        "placement": ["foster", "residential", "secure", "all"],
        "children": [30, 1, 1, 32],
    })
    exported = suppress_counts(table, ["children"], row_totals=[BY_YEAR])
    assert exported["children"].tolist() == [SUPPRESSED, SUPPRESSED, SUPPRESSED, 32]


def test_a_small_total_with_no_parts_does_not_spread_suppression() -> None:
    table = pd.DataFrame({
        "measure": ["cla", "cla", "cla", "starts"],
        "year": ["2024"] * 4,
        "placement": ["foster", "other", "all", "all"],
        "children": [300, 40, 340, 3],
    })
    exported = suppress_counts(table, ["children"],
                               row_totals=[RowTotal("placement", "all", ("measure", "year"))])
    assert exported["children"].tolist() == [300, 40, 340, SUPPRESSED]


def test_zero_and_missing_counts_are_not_suppressed_and_money_is_untouched() -> None:
    table = pd.DataFrame({"children": [0, None, 6, 5.4], "net_saving": [3.0, 4.0, 5.0, 2.0]})
    exported = suppress_counts(table, ["children"])
    assert exported["children"].tolist() == [0, None, 6, SUPPRESSED]
    assert exported["net_saving"].tolist() == [3.0, 4.0, 5.0, 2.0]


def test_unknown_count_column_is_an_error() -> None:
    with pytest.raises(KeyError, match="children"):
        suppress_counts(pd.DataFrame({"n": [1]}), ["children"])


@pytest.mark.parametrize(
    ("value", "shown"), [(0, 0), (0.49, 0), (0.5, SUPPRESSED), (5, SUPPRESSED), (5.5, 6),
                         (120, 120), (None, None), ("x", None)],
)
def test_single_counts(value: object, shown: object) -> None:
    assert suppress_count(value) == shown
    assert is_small_count(value) == (shown == SUPPRESSED)


def test_children_avoided_is_hidden_with_the_count_it_would_reveal() -> None:
    periods = pd.DataFrame({
        "period": ["2024-25", "2025-26"], "actual_cla": [4.0, 50.0],
        "baseline_cla_p10": [3.0, 45.0], "baseline_cla_p50": [9.0, 52.6],
        "baseline_cla_p90": [15.0, 60.0], "business_case_cla_p50": [8.0, 49.0],
        "children_avoided": [5.0, 2.6], "children_avoided_low": [-1.0, -5.0],
        "children_avoided_high": [11.0, 10.0], "expected_children_avoided": [1.0, 3.6],
        "saving_gbp": [1000.0, 2000.0]})
    shown = suppress_realised(periods)
    first, second = shown.to_dict("records")
    assert first["actual_cla"] == SUPPRESSED and first["baseline_cla_p10"] == SUPPRESSED
    assert [first[c] for c in ("children_avoided", "children_avoided_low",
                               "children_avoided_high")] == [SUPPRESSED] * 3
    assert first["expected_children_avoided"] == 1  # both projections published
    assert second["children_avoided"] == 3 and second["children_avoided_low"] == -5
    assert second["saving_gbp"] == 2000.0


def test_a_difference_is_hidden_when_either_count_is_and_rows_keep_their_index() -> None:
    """The baseline (3) is suppressed and the business case (45) is not: their difference would
    reveal the baseline, so it is hidden too; differences whose columns are absent are skipped."""
    periods = pd.DataFrame({"actual_cla": [50.0, 40.0], "baseline_cla_p50": [3.0, 47.0],
                            "business_case_cla_p50": [45.0, 44.0],
                            "expected_children_avoided": [-42.0, 3.0]}, index=[10, 11])
    shown = suppress_realised(periods)
    assert shown.index.tolist() == [10, 11]
    assert shown["baseline_cla_p50"].tolist() == [SUPPRESSED, 47]
    assert shown["expected_children_avoided"].tolist() == [SUPPRESSED, 3]
    assert "children_avoided" not in shown.columns


def test_a_rate_worked_out_from_a_hidden_count_is_hidden_with_it() -> None:
    """3 moves in 12.0 child-years: a rate of 0.25 beside the child-years gives the 3 back."""
    table = pd.DataFrame({"events": [3, 40], "exposure_years": [12.0, 80.0],
                          "rate_per_year": [0.25, 0.5]})
    shown = suppress_counts(table, ["events"], derived=["rate_per_year"])
    assert shown["events"].tolist() == [SUPPRESSED, 40]
    assert shown["rate_per_year"].tolist() == [SUPPRESSED, 0.5]
    assert shown["exposure_years"].tolist() == [12.0, 80.0]
