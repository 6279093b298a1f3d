"""The LA's own LAIT unit costs by default, England's where the LA's is suppressed, research
defaults for placements the LAIT does not cover; converted to the run's prices with the deflator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sf_benefits.assumptions import Parameter, assumptions_for
from sf_benefits.project import ProjectionResult, prepare_assumptions, simulate
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.unit_costs import LAIT_DATASET, local_unit_costs, spend_check
from tests.project.projection_fixtures import flat_draws

LA = "E06000007"
ENGLAND = "E92000001"


def lait(rows: list[tuple[str, int, str, float]], dataset: str = LAIT_DATASET,
         breakdown: str = "") -> pd.DataFrame:
    """Store observations as the LAIT loader writes them: (indicator, year ending, area, value)."""
    return pd.DataFrame([{"dataset": dataset, "year": year, "area_code": area,
                          "breakdown": breakdown, "indicator": indicator, "value": value}
                         for indicator, year, area, value in rows])


PUBLISHED = lait([
    ("FosteringFinance", 2022, LA, 720.0), ("FosteringFinance", 2023, LA, 670.0),
    ("FosteringFinance", 2023, ENGLAND, 665.0),
    ("RescareFinance", 2023, LA, math.nan), ("RescareFinance", 2022, LA, 4650.0),
    ("RescareFinance", 2023, ENGLAND, 5980.0),
    ("LACFinance", 2023, LA, 1635.0), ("LACFinance", 2023, ENGLAND, 1610.0),
    ("TotalLACFinance", 2023, LA, 28_354_716.0),
])


def chosen(frame: pd.DataFrame,
           model: str = "family_safeguarding") -> tuple[dict[str, Parameter], dict[str, str]]:
    local = local_unit_costs(frame, LA, assumptions_for(model), "Warrington")
    return {p.id: p for p in local.parameters}, local.basis


def test_the_la_own_cost_is_used_at_its_price_base_year() -> None:
    params, basis = chosen(PUBLISHED)
    foster = params["unit_cost_foster_weekly"]
    assert (foster.value_at(foster_start := min(foster.values)), foster.price_base_year,
            foster.confidence, foster.status) == (670.0, "2022-23", "A", "sourced")
    assert foster_start.isoformat() == "2022-04-01"
    assert basis["unit_cost_foster_weekly"] == (
        "Warrington's own s251 outturn 2022-23 (LAIT FosteringFinance)")
    # the research range's spread (600 and 820 around 646) carried to the LA's figure
    assert foster.distribution.low == pytest.approx(670 * 600 / 646)
    assert foster.distribution.high == pytest.approx(670 * 820 / 646)
    assert foster.references[0].publisher == "Department for Education"
    assert "FosteringFinance, Warrington, 2022-23" in foster.references[0].title
    other = params["unit_cost_other_weekly"]
    assert (other.value_at(min(other.values)), other.price_base_year) == (1635.0, "2022-23")


def test_suppressed_la_figure_falls_back_to_england_for_the_same_year() -> None:
    params, basis = chosen(PUBLISHED)
    homes = params["unit_cost_childrens_homes_secure_weekly"]
    assert (homes.value_at(min(homes.values)), homes.price_base_year, homes.confidence) == (
        5980.0, "2022-23", "B")
    assert basis["unit_cost_childrens_homes_secure_weekly"].startswith(
        "England s251 outturn 2022-23 (LAIT RescareFinance); Warrington's figure is suppressed")


def test_placements_the_lait_does_not_cover_keep_the_research_default() -> None:
    params, basis = chosen(PUBLISHED)
    for placement in ("placed_with_parents", "independent_living", "placed_for_adoption",
                      "other_residential"):
        assert f"unit_cost_{placement}_weekly" not in params
        assert basis[f"unit_cost_{placement}_weekly"].startswith("research default (the LAIT has no")
    nothing, basis = chosen(lait([]).reindex(columns=PUBLISHED.columns))
    assert nothing == {}
    assert basis["unit_cost_foster_weekly"] == (
        "research default (no LAIT FosteringFinance in the store)")


def test_other_datasets_and_breakdowns_are_not_unit_costs() -> None:
    frame = pd.concat([lait([("FosteringFinance", 2024, LA, 999.0)], dataset="s251_other"),
                       lait([("FosteringFinance", 2024, LA, 998.0)], breakdown="sex=Girls"),
                       PUBLISHED])
    params, _ = chosen(frame)
    assert params["unit_cost_foster_weekly"].price_base_year == "2022-23"


def run_with(frame: pd.DataFrame, overrides: dict | None = None) -> ProjectionResult:
    local = local_unit_costs(frame, LA, assumptions_for("family_safeguarding"), "Warrington")
    innovation, params = prepare_assumptions("family_safeguarding", overrides, "Warrington finance",
                                             local.parameters)
    return simulate(flat_draws(n_draws=1, horizon=1), innovation, params,
                    opening_cla=np.full(len(PLACEMENTS), 100.0), price_base_year="2024-25",
                    seed=1, la_code=LA, method="test", sensitivity=False, basis=local.basis)


def test_the_lait_cost_is_converted_with_the_deflator_and_shown_with_its_basis() -> None:
    table = run_with(PUBLISHED).assumptions.set_index("id")
    foster = table.loc["unit_cost_foster_weekly"]
    # HM Treasury GDP deflator, 2022-23 = 91.2996, 2024-25 = 100: 670 x 100 / 91.2996
    assert foster["price_base_factor"] == pytest.approx(100 / 91.2996)
    assert round(foster["value_in_price_base"], 2) == 733.85
    assert foster["basis"] == "Warrington's own s251 outturn 2022-23 (LAIT FosteringFinance)"
    assert "LAIT" in foster["source"]
    homes = table.loc["unit_cost_childrens_homes_secure_weekly"]
    assert round(homes["value_in_price_base"], 2) == round(5980 * 100 / 91.2996, 2) == 6549.86
    assert table.loc["unit_cost_placed_with_parents_weekly", "basis"].startswith("research default")
    assert table.loc["deadweight", "basis"] == "research default (derived, grade D)"


def test_a_user_override_wins_over_the_lait_and_says_so() -> None:
    result = run_with(PUBLISHED, {"unit_cost_foster_weekly": {
        "value": 800, "price_base_year": "2024-25", "source": "2024-25 ledger"}})
    foster = result.assumptions.set_index("id").loc["unit_cost_foster_weekly"]
    assert (foster["value"], foster["status"]) == (800, "override")
    assert foster["basis"] == "user override (Warrington finance)"
    assert result.overrides == ("unit_cost_foster_weekly",)
    assert "unit_cost_foster_weekly" in result.run_details().set_index("item").loc[
        "overrides", "value"]


def test_the_la_total_spend_is_set_beside_the_model_baseline_cost() -> None:
    local = local_unit_costs(PUBLISHED, LA, assumptions_for("family_safeguarding"), "Warrington")
    assert local.total_spend == (2023, 28_354_716.0)
    _, params = prepare_assumptions("family_safeguarding", local=local.parameters)
    result = run_with(PUBLISHED)
    note = spend_check(local, params, result, "Warrington")
    # 28,354,716 x 100 / 91.2996 = 31,056,731 at 2024-25 prices
    assert note is not None and note.startswith(
        "Check: Warrington's s251 gross spend on children looked after in 2022-23 was £28.4m "
        "(£31.1m at 2024-25 prices;")
    assert spend_check(local_unit_costs(PUBLISHED, "E06000999", params), params, result,
                       "Nowhere") is None
