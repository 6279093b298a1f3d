"""Discounting, NPV, payback, ROI and price-base conversion against hand-computed examples."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sf_benefits.assumptions import MissingAssumptionError, Parameter, load_defaults
from sf_benefits.project.money import (
    WEEKS_PER_YEAR,
    annual_cost_of_stock,
    discount_factors,
    net_present_value,
    payback_index,
    price_base_factor,
    return_on_investment,
)


def test_discount_factors_by_hand() -> None:
    factors = discount_factors(4, 0.035)
    assert factors == pytest.approx([1.0, 1 / 1.035, 1 / 1.035**2, 1 / 1.035**3])
    assert factors[1] == pytest.approx(0.966184, abs=1e-6)
    assert factors[3] == pytest.approx(0.901943, abs=1e-6)


def test_long_term_rate_after_year_30() -> None:
    factors = discount_factors(33, 0.035, 0.030)
    assert factors[30] == pytest.approx(1.035**-30)
    assert factors[31] == pytest.approx(1.035**-30 / 1.03)
    assert factors[32] == pytest.approx(1.035**-30 / 1.03**2)
    assert discount_factors(33, 0.035)[32] == pytest.approx(1.035**-32)


def test_net_present_value_by_hand() -> None:
    # -100 + 60/1.035 + 60/1.035^2 = -100 + 57.97101 + 56.01064 = 13.98165
    assert net_present_value(np.array([-100.0, 60.0, 60.0]), 0.035) == pytest.approx(13.98165,
                                                                                     abs=1e-5)
    flows = np.array([[-100.0, 60.0, 60.0], [0.0, 0.0, 0.0]])
    assert net_present_value(flows, 0.10) == pytest.approx([-100 + 60 / 1.1 + 60 / 1.21, 0.0])
    assert net_present_value(np.array([1000.0, 1000.0]), 0.0) == 2000.0
    # 100 in year 32 only: 100 / (1.035^30 × 1.03^2) with the long-term rate, 100 / 1.035^32 without
    late = np.zeros(33)
    late[32] = 100
    assert net_present_value(late, 0.035, 0.03) == pytest.approx(100 * 1.035**-30 / 1.03**2)
    assert net_present_value(late, 0.035) == pytest.approx(100 * 1.035**-32)


def test_payback_by_hand() -> None:
    flows = np.array([
        [-100.0, 60.0, 60.0, 10.0],   # cumulative -100, -40, 20, 30 -> third year
        [-100.0, 20.0, 20.0, 20.0],   # never pays back within four years
        [50.0, -10.0, 10.0, 10.0],    # never below zero -> first year
        [-10.0, 20.0, -30.0, 40.0],   # -10, 10, -20, 20 -> dips again, so the fourth year
    ])
    assert payback_index(flows).tolist() == [2, -1, 0, 3]


def test_return_on_investment() -> None:
    roi = return_on_investment(np.array([150.0, 80.0, 10.0]), np.array([100.0, 100.0, 0.0]))
    assert roi[:2] == pytest.approx([0.5, -0.2])
    assert np.isnan(roi[2])


def test_annual_cost_of_stock_uses_weeks_in_a_year() -> None:
    assert pytest.approx(52.14, abs=0.01) == WEEKS_PER_YEAR
    # the NAO figure round-trips: £318,400 a year is £6,106.30 a week
    weekly = np.array(318_400 / 365 * 7)
    assert annual_cost_of_stock(weekly, np.array(1.0)) == pytest.approx(318_400)
    ten = annual_cost_of_stock(np.array([646.0]), np.array([10.0]))
    assert ten == pytest.approx([646 * 10 * 365 / 7])


def deflator(values: dict[date, float]) -> Parameter:
    base = load_defaults()["gdp_deflator_index"]
    return Parameter.model_validate({
        **base.model_dump(), "values": values, "status": "override", "confidence": "A",
        "references": [{"title": "ONS L8GG (test)", "publisher": "ONS", "year": 2025}],
    })


def test_price_base_conversion_with_a_deflator() -> None:
    series = deflator({date(2016, 4, 1): 80.0, date(2023, 4, 1): 100.0, date(2024, 4, 1): 104.0})
    assert price_base_factor(series, "2016-17", "2024-25") == pytest.approx(1.3)
    assert price_base_factor(series, "2024-25", "2016-17") == pytest.approx(80 / 104)
    assert 646 * price_base_factor(series, "2016-17", "2024-25") == pytest.approx(839.8)
    assert price_base_factor(series, "2019-20", "2019-20") == 1.0


def test_shipped_deflator_by_hand() -> None:
    shipped = load_defaults()["gdp_deflator_index"]  # HM Treasury, March 2026, 2024-25 = 100
    assert 670 * price_base_factor(shipped, "2022-23", "2024-25") == pytest.approx(
        670 * 100 / 91.2996)
    assert round(670 * price_base_factor(shipped, "2022-23", "2024-25"), 2) == 733.85
    assert price_base_factor(shipped, "2016-17", "2023-24") == pytest.approx(96.1117 / 76.0754)
    assert round(646 * price_base_factor(shipped, "2016-17", "2023-24")) == 816  # research note


def test_conversion_refuses_without_index_values() -> None:
    shipped = load_defaults()["gdp_deflator_index"]
    with pytest.raises(MissingAssumptionError, match="gdp_deflator_index"):
        price_base_factor(shipped.model_copy(update={"values": None}), "2016-17", "2024-25")
    with pytest.raises(MissingAssumptionError, match="no index for 2009-10"):
        price_base_factor(shipped, "2009-10", "2024-25")
    partial = deflator({date(2024, 4, 1): 104.0})
    with pytest.raises(MissingAssumptionError, match="no index for 2016-17"):
        price_base_factor(partial, "2016-17", "2024-25")
