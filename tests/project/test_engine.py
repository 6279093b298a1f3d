"""Monte Carlo appraisal: hand-computed money, zero impact, refusal, seeds, convergence, outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from sf_benefits.assumptions import MissingAssumptionError
from sf_benefits.project import ProjectionResult, prepare_assumptions, simulate
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.engine import QUANTILES, _quantile_rows
from tests.project.projection_fixtures import (
    TEST_DEFLATOR,
    Draws,
    complete_overrides,
    flat_draws,
    unset,
)

OPENING = np.full(len(PLACEMENTS), 100.0)
WEEKS = 365 / 7


def run(model: str, overrides: dict[str, Any], draws: Draws, seed: int = 7,
        without: tuple[str, ...] = (), **kwargs: Any) -> ProjectionResult:
    """Appraise `model` with `overrides`; the parameters in `without` as if shipped without a value."""
    innovation, params = prepare_assumptions(model, overrides, "test")
    params = unset(params, *without)
    return simulate(draws, innovation, params, opening_cla=kwargs.pop("opening", OPENING),
                    price_base_year=kwargs.pop("price_base_year", "2024-25"), seed=seed,
                    la_code="E10000001", method="test", **kwargs)


def money(result: ProjectionResult, measure: str, column: str = "p50") -> list[float]:
    frame = result.money[result.money["measure"] == measure]
    return frame[column].tolist()


def test_hand_computed_family_safeguarding_appraisal() -> None:
    overrides = complete_overrides("family_safeguarding", effect=0.1, ramp=0.0,
                                   implementation=500_000, running=100_000)
    del overrides["optimism_bias_costs"]  # the shipped Green Book upper bound, 41%
    overrides["deadweight"] = {"value": 0.2, "source": "test"}
    overrides["optimism_bias_benefits"] = {"value": 0.1, "source": "test"}
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=2))

    stay = 7 / 9  # 700 in care and 200 ceases a year: hazard 200 / 900
    kept_1 = 20 * stay
    kept_2 = (kept_1 + 20) * stay
    gross = [kept_1 / 2 * 1000 * WEEKS, (kept_1 + kept_2) / 2 * 1000 * WEEKS]
    benefits = [g * 0.8 * 0.9 for g in gross]
    costs = [600_000 * 1.41, 100_000 * 1.41]
    net = [b - c for b, c in zip(benefits, costs, strict=True)]
    assert result.financial_years == ("2025-26", "2026-27")
    assert money(result, "baseline_cost") == pytest.approx([700 * 1000 * WEEKS] * 2)
    assert money(result, "gross_savings") == pytest.approx(gross)
    assert money(result, "scenario_cost") == pytest.approx([700 * 1000 * WEEKS - g for g in gross])
    assert money(result, "benefits_after_adjustments") == pytest.approx(benefits)
    assert money(result, "total_cost") == pytest.approx(costs)
    assert money(result, "net_savings") == pytest.approx(net)
    npv = net[0] + net[1] / 1.035
    assert result.net_present_value.p50 == pytest.approx(npv)
    pv_costs = costs[0] + costs[1] / 1.035
    assert result.return_on_investment.p50 == pytest.approx(npv / pv_costs)
    assert result.payback_year == ("2025-26" if net[0] >= 0 else
                                   "2026-27" if sum(net) >= 0 else None)
    kept = result.counts[result.counts["series"] == "kept_out_of_care"]["p50"].tolist()
    assert kept == pytest.approx([kept_1, kept_2])


def test_payback_year_and_probability() -> None:
    overrides = complete_overrides("family_safeguarding", effect=0.1, ramp=0.0,
                                   implementation=3_000_000, running=0.0)
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=4))
    cumulative = money(result, "cumulative_net_savings")
    first = next(i for i, c in enumerate(cumulative) if c >= 0)
    assert cumulative[first - 1] < 0
    assert result.payback_year == result.financial_years[first]
    assert result.probability_of_payback == 1.0
    never = run("family_safeguarding",
                complete_overrides("family_safeguarding", effect=0.0, implementation=1.0),
                flat_draws(n_draws=1, horizon=3))
    assert never.payback_year is None
    assert never.probability_of_payback == 0.0


@pytest.mark.parametrize("model", ["family_safeguarding", "family_valued", "no_wrong_door"])
def test_zero_impact_gives_exactly_zero_savings(model: str) -> None:
    draws = flat_draws(n_draws=200, horizon=5, noise_sd=0.1, seed=11)
    result = run(model, complete_overrides(model, effect=0.0, ramp=2.0), draws)
    for measure in ("gross_savings", "benefits_after_adjustments", "net_savings",
                    "cumulative_discounted_net_savings"):
        frame = result.money[result.money["measure"] == measure]
        assert (frame[["p10", "p50", "p90", "mean"]] == 0.0).all().all(), measure
    baseline = result.money[result.money["measure"] == "baseline_cost"]
    scenario = result.money[result.money["measure"] == "scenario_cost"]
    assert baseline["p50"].tolist() == scenario["p50"].tolist()
    assert result.net_present_value == result.present_value_benefits
    assert result.net_present_value.p50 == 0.0


def test_zero_impact_with_costs_loses_exactly_the_costs() -> None:
    overrides = complete_overrides("family_safeguarding", effect=0.0, implementation=100.0,
                                   running=10.0)
    result = run("family_safeguarding", overrides, flat_draws(n_draws=3, horizon=3))
    assert money(result, "net_savings") == pytest.approx([-110.0, -10.0, -10.0])
    assert result.net_present_value.p50 == pytest.approx(-110 - 10 / 1.035 - 10 / 1.035**2)
    assert result.return_on_investment.p50 == pytest.approx(-1.0)


def test_refuses_naming_every_parameter_without_a_source() -> None:
    draws = flat_draws(n_draws=2, horizon=2)
    gaps = ("fs_reduction_in_starts", "fs_ramp_up_years", "fs_implementation_cost", "deadweight",
            "unit_cost_placed_with_parents_weekly")
    with pytest.raises(MissingAssumptionError) as caught:
        run("family_safeguarding", {}, draws, without=gaps)
    assert set(caught.value.parameter_ids) == set(gaps)
    for pid in gaps:
        assert pid in str(caught.value)
    with pytest.raises(MissingAssumptionError, match="fs_reduction_in_starts") as one:
        run("family_safeguarding", complete_overrides("family_safeguarding"), draws,
            without=("fs_reduction_in_starts",))
    assert one.value.parameter_ids == ["fs_reduction_in_starts"]


def test_unit_cost_needed_only_for_placements_with_children() -> None:
    draws = flat_draws(n_draws=2, horizon=2)
    cla = draws.cla.copy()
    cla[:, :, PLACEMENTS.index("other")] = 0.0
    opening = OPENING.copy()
    opening[PLACEMENTS.index("other")] = 0.0
    overrides = complete_overrides("family_safeguarding")
    del overrides["unit_cost_other_weekly"]
    no_other = Draws(draws.years, draws.placements, cla, draws.starts, draws.ceases,
                     draws.population_0_17)
    result = run("family_safeguarding", overrides, no_other, opening=opening,
                 without=("unit_cost_other_weekly",))
    assert "unit_cost_other_weekly" not in set(result.assumptions["id"])
    with pytest.raises(MissingAssumptionError, match="unit_cost_other_weekly"):
        run("family_safeguarding", overrides, draws, without=("unit_cost_other_weekly",))


def test_shipped_unit_costs_are_converted_with_the_shipped_deflator() -> None:
    overrides = complete_overrides("family_safeguarding")
    del overrides["unit_cost_foster_weekly"]  # shipped: £646 a week at 2016-17 prices
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=1))
    foster = result.assumptions.set_index("id").loc["unit_cost_foster_weekly"]
    # HM Treasury GDP deflator (March 2026): 2016-17 = 76.0754, 2024-25 = 100
    assert foster["price_base_factor"] == pytest.approx(100 / 76.0754)
    assert foster["value_in_price_base"] == pytest.approx(849.1575, abs=1e-4)
    low, high = ((600 * 1000 + 100 * weekly * 100 / 76.0754) * WEEKS for weekly in (600, 820))
    assert low <= money(result, "baseline_cost")[0] <= high  # one draw of the foster cost
    with pytest.raises(MissingAssumptionError, match="gdp_deflator_index"):
        run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=1),
            without=("gdp_deflator_index",))
    overrides["gdp_deflator_index"] = {"values": TEST_DEFLATOR, "source": "test index"}
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=1))
    assert result.assumptions.set_index("id").loc["unit_cost_foster_weekly",
                                                  "price_base_factor"] == pytest.approx(1.3)
    partial = dict(overrides, gdp_deflator_index={"values": {"2024-04-01": 104.0}})
    with pytest.raises(MissingAssumptionError, match="no index for 2016-17"):
        run("family_safeguarding", partial, flat_draws(n_draws=1, horizon=1))


def test_optional_workforce_saving_is_excluded_then_included() -> None:
    overrides = complete_overrides("family_safeguarding", effect=0.0)
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=2),
                 without=("fs_agency_fte_reduction",))
    assert any("workforce" in e for e in result.excluded)
    overrides["fs_agency_fte_reduction"] = {"value": 3.0, "source": "workforce plan"}
    overrides["agency_social_worker_premium_annual"] = {
        "value": 20_000, "price_base_year": "2024-25", "source": "LA agency invoices"}
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=2))
    assert result.excluded == ()
    assert money(result, "gross_savings") == pytest.approx([60_000.0, 60_000.0])


def test_family_valued_averts_families_times_children_times_effect() -> None:
    overrides = complete_overrides("family_valued", effect=100.0)  # 100 families a year
    overrides["fv_cost_per_fgc"] = {"value": 2_000, "price_base_year": "2024-25", "source": "t"}
    result = run("family_valued", overrides, flat_draws(n_draws=1, horizon=1))
    averted = result.counts[result.counts["series"] == "averted_starts"]["p50"].tolist()
    assert averted == pytest.approx([100 * 1.732 * 0.086])
    assert money(result, "running_cost") == pytest.approx([200_000.0])


def test_conferences_stop_counting_once_the_national_duty_applies() -> None:
    overrides = complete_overrides("family_valued", effect=100.0)
    overrides["fv_cost_per_fgc"] = {"value": 2_000, "price_base_year": "2024-25", "source": "t"}
    overrides["fv_running_cost_annual"] = {"value": 50_000, "price_base_year": "2024-25",
                                           "source": "t"}
    overrides["fv_fgc_duty_start_year"] = {"value": 2027, "source": "duty from 2027-28"}
    # years ending March 2027, 2028, 2029 are 2026-27, 2027-28, 2028-29
    result = run("family_valued", overrides, flat_draws(n_draws=1, horizon=3, first_year=2027))
    averted = result.counts[result.counts["series"] == "averted_starts"]["p50"].tolist()
    assert averted == pytest.approx([100 * 1.732 * 0.086, 0.0, 0.0])
    assert money(result, "running_cost") == pytest.approx([250_000.0, 50_000.0, 50_000.0])
    row = result.assumptions.set_index("id").loc["fv_fgc_duty_start_year"]
    assert (row["status"], row["value"]) == ("override", 2027)


def test_no_wrong_door_shift_saves_the_cost_difference() -> None:
    overrides = complete_overrides("no_wrong_door", effect=0.5, ramp=0.0)
    overrides["unit_cost_childrens_homes_secure_weekly"] = {
        "value": 6000, "price_base_year": "2024-25", "source": "t"}
    overrides["unit_cost_foster_weekly"] = {"value": 800, "price_base_year": "2024-25",
                                            "source": "t"}
    result = run("no_wrong_door", overrides, flat_draws(n_draws=1, horizon=2),
                 without=("nwd_reduction_in_starts",))
    assert any("reduction in starts" in e for e in result.excluded)
    # 50 children move from a home to foster care at the first 31 March; the average in the
    # first year is 25, in the second 50.
    assert money(result, "gross_savings") == pytest.approx(
        [25 * 5200 * WEEKS, 50 * 5200 * WEEKS])
    homes = result.counts[(result.counts["series"] == "scenario")
                          & (result.counts["placement"] == "childrens_homes_secure")]
    assert homes["p50"].tolist() == pytest.approx([50.0, 50.0])


def uncertain_overrides() -> dict[str, Any]:
    overrides = complete_overrides("family_safeguarding", ramp=1.0, implementation=2e6,
                                   running=3e5)
    overrides["fs_reduction_in_starts"] = {
        "value": 0.2, "distribution": {"kind": "uniform", "low": 0.1, "high": 0.3}, "source": "t"}
    overrides["optimism_bias_costs"] = {"value": 0.2, "range": [0.0, 0.41], "source": "t"}
    return overrides


def test_same_seed_same_result_and_a_different_seed_differs() -> None:
    draws = flat_draws(n_draws=500, horizon=5, noise_sd=0.05, seed=2)
    first = run("family_safeguarding", uncertain_overrides(), draws, seed=42)
    again = run("family_safeguarding", uncertain_overrides(), draws, seed=42)
    other = run("family_safeguarding", uncertain_overrides(), draws, seed=43)
    assert first.net_present_value == again.net_present_value
    for name, frame in first.to_frames().items():
        assert frame.equals(again.to_frames()[name]), name
    assert first.net_present_value.p50 != other.net_present_value.p50


def test_p50_converges_as_draws_grow() -> None:
    # With flat demand the NPV rises with the reduction in starts, so its median is the NPV at the
    # median reduction (0.2, the middle of a uniform 0.1-0.3).
    centre = run("family_safeguarding",
                 {**uncertain_overrides(), "fs_reduction_in_starts": {"value": 0.2, "source": "t"}},
                 flat_draws(n_draws=1, horizon=5)).net_present_value.p50
    errors = []
    for n in (20, 200, 2_000, 20_000):
        result = run("family_safeguarding", uncertain_overrides(), flat_draws(n_draws=n, horizon=5),
                     seed=5)
        errors.append(abs(result.net_present_value.p50 - centre) / abs(centre))
    assert errors[-1] < 0.005
    assert errors[-1] < errors[0]
    assert max(errors[2:]) < 0.02


def test_interval_widens_with_uncertainty() -> None:
    result = run("family_safeguarding", uncertain_overrides(),
                 flat_draws(n_draws=2_000, horizon=5, noise_sd=0.05))
    npv = result.net_present_value
    assert npv.p10 < npv.p50 < npv.p90
    band = result.money[result.money["measure"] == "cumulative_net_savings"]
    assert (band["p10"] <= band["p50"]).all() and (band["p50"] <= band["p90"]).all()
    fixed = run("family_safeguarding",
                {**uncertain_overrides(), "fs_reduction_in_starts": {"value": 0.2, "source": "t"}},
                flat_draws(n_draws=2_000, horizon=5, noise_sd=0.05))
    assert npv.p90 - npv.p10 > fixed.net_present_value.p90 - fixed.net_present_value.p10


@pytest.mark.parametrize(("n_draws", "shape"), [(7, (3, 2)), (10, (4,)), (11, (2, 3)), (2, (5,))])
def test_quantile_rows_equal_numpy_linear_quantiles(n_draws: int, shape: tuple[int, ...]) -> None:
    array = np.random.default_rng(n_draws).normal(size=(n_draws, *shape))
    assert _quantile_rows(array) == pytest.approx(np.quantile(array, QUANTILES, axis=0),
                                                   abs=1e-12)


def test_baseline_count_bands_are_numpy_quantiles_of_the_demand_draws() -> None:
    """P10/P50/P90 of the children in care are the draws' quantiles, interpolated (7 draws, so a
    quantile by floor or nearest draw would differ)."""
    draws = flat_draws(n_draws=7, horizon=3, noise_sd=0.2, seed=4)
    counts = run("family_safeguarding", uncertain_overrides(), draws).counts
    baseline = counts[counts["series"] == "baseline"].set_index(["year", "placement"])
    total = np.concatenate([draws.cla, draws.cla.sum(axis=2, keepdims=True)], axis=2)
    expected = np.quantile(total, QUANTILES, axis=0)
    for y, year in enumerate(draws.years):
        for p, placement in enumerate((*PLACEMENTS, "all")):
            row = baseline.loc[(year, placement)]
            assert [row["p10"], row["p50"], row["p90"]] == pytest.approx(expected[:, y, p],
                                                                         rel=1e-12)


def test_sensitivity_table_for_a_tornado() -> None:
    result = run("family_safeguarding", uncertain_overrides(), flat_draws(n_draws=50, horizon=5))
    table = result.sensitivity.set_index("parameter_id")
    assert set(table.index) == {"fs_reduction_in_starts", "optimism_bias_costs"}
    reduction = table.loc["fs_reduction_in_starts"]
    assert (reduction["low"], reduction["high"]) == (0.1, 0.3)
    assert reduction["npv_p50_low"] < reduction["npv_p50_central"] < reduction["npv_p50_high"]
    bias = table.loc["optimism_bias_costs"]
    assert bias["npv_p50_low"] > bias["npv_p50_high"]
    costs = 2e6 + 3e5 * sum(1.035**-t for t in range(5))
    assert bias["npv_p50_low"] - bias["npv_p50_high"] == pytest.approx(0.41 * costs)
    assert result.sensitivity["swing"].is_monotonic_decreasing


def test_discount_rate_setting_is_used_and_recorded() -> None:
    overrides = complete_overrides("family_safeguarding", effect=0.0, running=100.0)
    result = run("family_safeguarding", overrides, flat_draws(n_draws=1, horizon=2),
                 discount_rate=0.10)
    assert result.discount_rate == 0.10
    assert result.net_present_value.p50 == pytest.approx(-100 - 100 / 1.1)
    row = result.assumptions.set_index("id").loc["discount_rate"]
    assert row["status"] == "override"
    assert "run setting" in row["source"]


def test_result_frames_are_tidy_and_complete() -> None:
    result = run("family_safeguarding", uncertain_overrides(), flat_draws(n_draws=20, horizon=3))
    frames = result.to_frames()
    assert set(frames) == {"run", "summary", "counts", "money", "sensitivity", "assumptions",
                           "observed"}
    counts = frames["counts"]
    assert list(counts.columns) == ["year", "series", "placement", "p10", "p50", "p90"]
    assert set(counts["placement"]) == {*PLACEMENTS, "all"}
    assert len(counts[(counts["series"] == "baseline")]) == 3 * (len(PLACEMENTS) + 1)
    assert list(frames["money"].columns) == ["financial_year", "measure", "p10", "p50", "p90",
                                             "mean"]
    assert set(frames["money"]["financial_year"]) == {"2025-26", "2026-27", "2027-28"}
    assert {"id", "value", "unit", "price_base_year", "source", "confidence"} <= set(
        frames["assumptions"].columns)
    details = frames["run"].set_index("item")["value"]
    assert details["price_base_year"] == "2024-25"
    assert details["seed"] == "7"


def test_exported_counts_suppress_one_to_five_children() -> None:
    draws = flat_draws(n_draws=5, horizon=2, per_placement=3.0, starts=2.0, ceases=2.0)
    result = run("family_safeguarding", complete_overrides("family_safeguarding", effect=0.2),
                 draws)
    exported = result.suppressed_counts()
    cells = pd.Series(exported[["p10", "p50", "p90"]].to_numpy().ravel())
    numbers = pd.to_numeric(cells, errors="coerce").dropna()
    assert not ((numbers >= 1) & (numbers <= 5)).any()
    by_placement = exported[(exported["series"] == "baseline")
                            & (exported["placement"] == "foster")]
    assert (by_placement["p50"] == "c").all()
    total = exported[(exported["series"] == "baseline") & (exported["placement"] == "all")]
    assert (total["p50"] == 21).all()
