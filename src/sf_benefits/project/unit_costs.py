"""The LA's own weekly unit costs from the DfE's LAIT (section 251 outturn), by default.

For each placement type the LAIT covers, the LA's published unit cost for the latest outturn year
replaces the research default; where the LA's figure is suppressed, England's for the same year
does. Placement types the LAIT does not cover keep the research default. Each choice is recorded
as a basis, shown beside the value in every output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from sf_benefits.assumptions import (
    MissingAssumptionError,
    Parameter,
    ParameterSet,
    Reference,
    financial_year_label,
)
from sf_benefits.project.money import DEFLATOR_ID, price_base_factor
from sf_benefits.project.result import ProjectionResult

LAIT_DATASET = "lait_benchmarking_long"
ENGLAND_CODE = "E92000001"
LAIT_URL = "https://www.gov.uk/government/publications/local-authority-interactive-tool-lait"
LAIT_UNIT_COSTS: dict[str, tuple[str, str]] = {
    "foster": ("FosteringFinance", "fostering spend / foster placements at 31 March"),
    "childrens_homes_secure": ("RescareFinance",
                               "residential care spend / care days in K1, K2, R1, S1 placements"),
    "other": ("LACFinance", "all spend on children looked after / children looked after at "
                            "31 March (the same average the research default uses nationally)"),
}
"""Placement type -> LAIT `Short Desc` of its weekly unit cost, and what the DfE divides by what."""
LAIT_INDICATORS: tuple[str, ...] = (*(i for i, _ in LAIT_UNIT_COSTS.values()), "TotalLACFinance")


@dataclass(frozen=True)
class LocalUnitCosts:
    """Unit-cost parameters taken from the LAIT, and how every unit cost was chosen."""

    parameters: tuple[Parameter, ...]
    basis: dict[str, str]
    total_spend: tuple[int, float] | None = None
    """The LA's latest LAIT TotalLACFinance: (year ending 31 March, gross £ in that year's prices)."""


def unit_cost_id(placement: str) -> str:
    """Parameter id of the weekly unit cost for a placement type."""
    return f"unit_cost_{placement}_weekly"


def local_unit_costs(lait: pd.DataFrame, la_code: str, params: ParameterSet,
                     la_name: str | None = None) -> LocalUnitCosts:
    """The LA's own LAIT unit costs where published, England's where the LA's is suppressed.

    `lait` holds store observations (dataset, year ending 31 March, area_code, breakdown,
    indicator, value with suppressed cells NaN). Each LAIT figure keeps the research default's
    relative spread (low/central, high/central) as its uncertainty.
    """
    name = la_name or la_code
    rows = lait[(lait["dataset"] == LAIT_DATASET) & (lait["breakdown"].fillna("") == "")]
    chosen: list[Parameter] = []
    basis: dict[str, str] = {}
    for placement, (indicator, method) in LAIT_UNIT_COSTS.items():
        pid = unit_cost_id(placement)
        default = params[pid]
        mine = _by_year(rows, indicator, la_code)
        england = _by_year(rows, indicator, ENGLAND_CODE)
        years = sorted(set(mine) | set(england))
        if not years:
            basis[pid] = f"research default (no LAIT {indicator} in the store)"
            continue
        year = years[-1]
        label = financial_year_label(year)
        if year in mine:
            value, area, grade = mine[year], name, "A"
            how = f"{name}'s own s251 outturn {label} (LAIT {indicator})"
        else:
            value, area, grade = england[year], "England", "B"
            how = (f"England s251 outturn {label} (LAIT {indicator}); {name}'s figure is "
                   "suppressed or not published")
        chosen.append(_lait_parameter(default, value, year, indicator, area, grade, how, method))
        basis[pid] = how
    for param in params:
        if param.id.startswith("unit_cost_") and param.id not in basis:
            basis[param.id] = "research default (the LAIT has no unit cost for this placement)"
    spend = _by_year(rows, "TotalLACFinance", la_code)
    total = (max(spend), spend[max(spend)]) if spend else None
    return LocalUnitCosts(tuple(chosen), basis, total)


def spend_check(local: LocalUnitCosts, params: ParameterSet, result: ProjectionResult,
                la_name: str) -> str | None:
    """A note setting the model's baseline cost of care beside the LA's published s251 spend on
    children looked after (which also covers leaving care, asylum services and education)."""
    if local.total_spend is None:
        return None
    year, spend = local.total_spend
    label = financial_year_label(year)
    try:
        converted = spend * price_base_factor(params[DEFLATOR_ID], label, result.price_base_year)
    except MissingAssumptionError:
        return None
    money = result.money
    first = money[(money["measure"] == "baseline_cost")
                  & (money["financial_year"] == result.financial_years[0])]
    return (f"Check: {la_name}'s s251 gross spend on children looked after in {label} was "
            f"£{spend / 1e6:,.1f}m (£{converted / 1e6:,.1f}m at {result.price_base_year} prices; "
            "LAIT TotalLACFinance, which also covers leaving care, asylum-seeking children and "
            f"education); the model's baseline cost of placements in {result.financial_years[0]} "
            f"is £{float(first['p50'].iloc[0]) / 1e6:,.1f}m (P50).")


def _by_year(rows: pd.DataFrame, indicator: str, area_code: str) -> dict[int, float]:
    found = rows[(rows["indicator"] == indicator) & (rows["area_code"] == area_code)]
    return {int(y): float(v) for y, v in zip(found["year"], found["value"], strict=True)
            if v is not None and not math.isnan(float(v)) and float(v) > 0}


def _lait_parameter(default: Parameter, value: float, year: int, indicator: str, area: str,
                    grade: str, how: str, method: str) -> Parameter:
    """A unit-cost parameter at the LAIT figure, with the default's relative spread."""
    central = default.value_at(date(year - 1, 4, 1))
    low_high = default.low_high
    distribution: dict[str, object] = {"kind": "fixed"}
    spread = ""
    if central and low_high is not None and low_high[0] < low_high[1]:
        low, high = value * low_high[0] / central, value * low_high[1] / central
        distribution = {"kind": "triangular", "low": low, "high": high}
        spread = (f" Uncertainty: the research range's spread around its value "
                  f"(x{low_high[0] / central:.2f} to x{low_high[1] / central:.2f}), "
                  f"£{low:,.0f} to £{high:,.0f}.")
    label = financial_year_label(year)
    reference = Reference(
        title=f"Local Authority Interactive Tool (LAIT): {indicator}, {area}, {label} "
              "(section 251 outturn weekly unit cost)",
        publisher="Department for Education", year=year, url=LAIT_URL, read="data file")
    return Parameter.model_validate({
        "id": default.id, "description": default.description, "unit": default.unit,
        "price_base_year": label, "values": {date(year - 1, 4, 1): value},
        "valid_range": default.valid_range, "distribution": distribution,
        "references": [reference.model_dump()], "confidence": grade, "status": "sourced",
        "required": default.required,
        "notes": f"{how}: {method}, rounded by the DfE to £5; nominal £ of {label}.{spread} "
                 f"Replaces the research default ({default.source_text}).",
    })
