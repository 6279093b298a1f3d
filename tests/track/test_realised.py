"""Realised benefit against the locked baseline: children and £ avoided, interval, status."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.track import LockedBaseline, StatusThresholds, parse_period, realised_benefit
from tests.track.conftest import SHARES, UNIT_COSTS, baseline_table

BLENDED = sum(SHARES[p] * UNIT_COSTS[p] for p in PLACEMENTS)


def _baseline(unit_costs: dict[str, float] | None = None) -> LockedBaseline:
    costs = pd.DataFrame({"placement": list(unit_costs or UNIT_COSTS),
                          "annual_cost_gbp": list((unit_costs or UNIT_COSTS).values()),
                          "price_base_year": "2024-25", "source": "test"})
    return LockedBaseline("imp-1", 0, "locked", "DfE 2020", "v1", "stock_flow", 1, "2024-25",
                          "lock", "0" * 64, datetime.now(UTC), baseline_table(), costs)


def _actuals(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    periods = [parse_period(r[0]) for r in rows]
    return pd.DataFrame({
        "period": [p.label for p in periods], "granularity": [p.granularity for p in periods],
        "period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
        "measure": [r[1] for r in rows], "placement": [r[2] for r in rows],
        "count": [r[3] for r in rows], "spend_gbp": float("nan")})


def test_annual_period_in_children_and_pounds() -> None:
    result = realised_benefit(_baseline(), _actuals([
        ("2019-20", "cla", "all", 990.0), ("2020-21", "cla", "all", 1005.0)]), date(2020, 6, 1))
    assert list(result.periods["period"]) == ["2020-21"]
    row = result.latest
    assert row["baseline_cla_p50"] == pytest.approx(1020.0)
    assert row["children_avoided"] == pytest.approx(15.0)
    assert (row["children_avoided_low"], row["children_avoided_high"]) == (
        pytest.approx(1020 * 0.99 - 1005), pytest.approx(1020 * 1.01 - 1005))
    assert row["saving_gbp"] == pytest.approx(15.0 * BLENDED)
    assert row["saving_gbp_low"] < row["saving_gbp"] < row["saving_gbp_high"]
    assert row["expected_saving_gbp"] == pytest.approx(10.0 * BLENDED)
    assert row["status"] == "ahead" and result.status == "ahead"
    assert row["valuation"] == "blended unit cost"
    summary = result.to_frames()["realised_summary"]
    assert summary["price_base_year"].item() == "2024-25"


def test_quarters_replace_the_year_and_accumulate() -> None:
    rows = [("2020-21", "cla", "all", 1005.0), ("2021-22", "cla", "all", 999.0)]
    rows += [(f"2021-22 Q{q}", "cla", "all", 1020.0) for q in range(1, 5)]
    rows += [("2022-23 Q1", "cla", "all", 1030.0), ("2022-23 Q2", "cla", "all", 1030.0),
             ("2027-28", "cla", "all", 900.0)]
    result = realised_benefit(_baseline(), _actuals(rows), date(2020, 6, 1))
    periods = result.periods
    assert list(periods["period"]) == ["2020-21", "2021-22 Q1", "2021-22 Q2", "2021-22 Q3",
                                       "2021-22 Q4", "2022-23 Q1", "2022-23 Q2"]
    q4 = periods.set_index("period").loc["2021-22 Q4"]
    assert q4["children_avoided"] == pytest.approx(20.0)
    assert q4["saving_gbp"] == pytest.approx(20.0 * 0.25 * BLENDED)
    assert periods["cumulative_saving_gbp"].iloc[-1] == pytest.approx(periods["saving_gbp"].sum())
    assert periods["cumulative_child_years_avoided"].is_monotonic_increasing
    assert result.skipped == ("2027-28: outside the baseline's years",)


def test_every_placement_given_values_placement_by_placement() -> None:
    actual = {p: 1020.0 * SHARES[p] for p in PLACEMENTS}
    actual["childrens_homes_secure"] -= 5.0
    rows = [("2020-21", "cla", p, v) for p, v in actual.items()]
    result = realised_benefit(_baseline(), _actuals(rows), date(2020, 6, 1))
    row = result.latest
    assert row["valuation"] == "by placement"
    assert row["children_avoided"] == pytest.approx(5.0)
    assert row["saving_gbp"] == pytest.approx(5.0 * UNIT_COSTS["childrens_homes_secure"])


def test_behind_when_actuals_track_the_baseline() -> None:
    result = realised_benefit(_baseline(), _actuals([("2020-21", "cla", "all", 1019.0)]),
                              date(2020, 6, 1))
    assert result.status == "behind"
    assert result.latest["saving_gbp_low"] < 0 < result.latest["saving_gbp_high"]


def test_no_actuals_after_go_live() -> None:
    result = realised_benefit(_baseline(), _actuals([("2019-20", "cla", "all", 990.0)]),
                              date(2020, 6, 1))
    assert not result.has_periods and result.status == "no actuals yet"


@pytest.mark.parametrize(("realised", "expected", "status"), [
    (89.0, 100.0, "behind"), (90.0, 100.0, "on track"), (109.9, 100.0, "on track"),
    (110.0, 100.0, "ahead"), (5.0, 0.0, "no saving expected yet")])
def test_status_thresholds(realised: float, expected: float, status: str) -> None:
    assert StatusThresholds().status(realised, expected) == status
    assert "convention" in StatusThresholds().source
