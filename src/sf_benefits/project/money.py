"""Green Book arithmetic: price-base conversion, discounting, net present value, payback and ROI.

All functions are pure and vectorised: cash flows are arrays with financial years on the last axis
(year 0 is the first projected financial year, undiscounted, as in Green Book appraisal tables).
"""

from __future__ import annotations

import numpy as np

from sf_benefits.assumptions import MissingAssumptionError, Parameter, financial_year_start

WEEKS_PER_YEAR = 365 / 7
DEFLATOR_ID = "gdp_deflator_index"
"""The parameter holding the GDP deflator series every price-base conversion uses."""
GREEN_BOOK_LONG_TERM_FROM_YEAR = 31


def discount_factors(n_years: int, rate: float, long_term_rate: float | None = None) -> np.ndarray:
    """Factors 1/(1+r)^t for t = 0..n-1; after year 30 the long-term rate applies (Green Book)."""
    if rate <= -1:
        raise ValueError("discount rate must be above -100%")
    t = np.arange(n_years, dtype=float)
    factors = (1.0 + rate) ** -t
    if long_term_rate is not None and n_years > GREEN_BOOK_LONG_TERM_FROM_YEAR:
        switch = GREEN_BOOK_LONG_TERM_FROM_YEAR - 1
        late = t > switch
        factors[late] = (1.0 + rate) ** -switch * (1.0 + long_term_rate) ** -(t[late] - switch)
    return factors


def net_present_value(flows: np.ndarray, rate: float,
                      long_term_rate: float | None = None) -> np.ndarray:
    """Sum of discounted flows over the last axis (one NPV per draw for a draws x years array)."""
    flows = np.asarray(flows, dtype=float)
    return (flows * discount_factors(flows.shape[-1], rate, long_term_rate)).sum(axis=-1)


def payback_index(net_flows: np.ndarray) -> np.ndarray:
    """Index of the first year whose cumulative net flow is zero or above and stays so; -1 if never.

    A draw pays back in the year from which its cumulative net benefit no longer falls below zero.
    """
    cumulative = np.cumsum(np.asarray(net_flows, dtype=float), axis=-1)
    negative = cumulative < 0
    n_years = cumulative.shape[-1]
    reversed_neg = negative[..., ::-1]
    any_negative = reversed_neg.any(axis=-1)
    last_negative = n_years - 1 - np.argmax(reversed_neg, axis=-1)
    index = np.where(any_negative, last_negative + 1, 0)
    return np.where(index >= n_years, -1, index)


def return_on_investment(present_value_benefits: np.ndarray,
                         present_value_costs: np.ndarray) -> np.ndarray:
    """(PV benefits - PV costs) / PV costs; NaN where there are no costs."""
    benefits = np.asarray(present_value_benefits, dtype=float)
    costs = np.asarray(present_value_costs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(costs > 0, (benefits - costs) / np.where(costs > 0, costs, 1.0), np.nan)


def price_base_factor(deflator: Parameter, from_year: str, to_year: str) -> float:
    """Multiplier converting pounds at `from_year` prices to `to_year` prices with a deflator.

    The series holds one index per financial year keyed by its 1 April; it refuses, naming the
    deflator, when either year is missing, rather than guess an index.
    """
    if from_year == to_year:
        return 1.0
    series = deflator.values or {}
    missing = [fy for fy in (from_year, to_year) if financial_year_start(fy) not in series]
    if missing:
        raise MissingAssumptionError([deflator.model_copy(update={
            "description": f"{deflator.description} - no index for {', '.join(missing)}",
        })])
    start = series[financial_year_start(from_year)]
    end = series[financial_year_start(to_year)]
    if start <= 0 or end <= 0:
        raise ValueError(f"{deflator.id}: deflator index values must be positive")
    return end / start


def annual_cost_of_stock(weekly_cost: np.ndarray, average_stock: np.ndarray) -> np.ndarray:
    """Cost in a financial year: weekly unit cost x 52.14 weeks x average number of children."""
    return np.asarray(weekly_cost) * WEEKS_PER_YEAR * np.asarray(average_stock)
