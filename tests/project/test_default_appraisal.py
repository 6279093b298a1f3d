"""With no overrides the shipped defaults give a £ appraisal; its P10/P50/P90 equal those of the
same model written out longhand from the parameter files, drawing each parameter from the
engine's documented stream (seed and parameter id), so every draw can be compared exactly."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sf_benefits.project import prepare_assumptions, simulate
from sf_benefits.project.categories import PLACEMENTS
from tests.project.projection_fixtures import flat_draws

N = 20_000
SEED = 3
WEEKS = 365 / 7
# HM Treasury GDP deflator (March 2026), 2024-25 = 100, by financial year
DEFLATOR = {"2016-17": 76.0754, "2020-21": 85.1002, "2021-22": 85.3036, "2023-24": 96.1117,
            "2025-26": 103.2388}
# shipped (low, value, high, price base) of every weekly unit cost, by placement
UNIT_COSTS = {  # placement: (low, value, high, price base)
    "foster": (600, 646, 820, "2016-17"),
    "childrens_homes_secure": (4108, 6106, 6249, "2023-24"),
    "other_residential": (2790, 6106, 10000, "2023-24"),
    "placed_with_parents": (79, 145, 290, "2025-26"),
    "independent_living": (620, 1010, 3320, "2023-24"),
    "placed_for_adoption": (79, 145, 290, "2025-26"),
    "other": (145, 1857, 6106, "2023-24"),
}


def longhand_family_safeguarding_npv() -> np.ndarray:
    """NPV draws for 100 children in each of 7 placements, 200 starts and 200 ceases a year,
    5 years from 2025-26, with every shipped Family Safeguarding parameter drawn."""

    def tri(pid: str, low: float, mode: float, high: float) -> np.ndarray:
        rng = np.random.default_rng([SEED, zlib.crc32(pid.encode())])
        return rng.triangular(low, mode, high, N)

    def to_2024_25(year: str) -> float:
        return 100 / DEFLATOR[year]

    reduction = tri("fs_reduction_in_starts", 0.0, 0.15, 0.30)
    ramp_years = tri("fs_ramp_up_years", 1, 2, 3)
    implementation = tri("fs_implementation_cost", 250_000, 500_000, 1_000_000) * to_2024_25(
        "2021-22")
    running = tri("fs_running_cost_annual", 500_000, 1_000_000, 2_000_000) * to_2024_25("2021-22")
    fte = tri("fs_agency_fte_reduction", 0, 4, 10)
    premium = tri("agency_social_worker_premium_annual", 17_800, 22_700, 27_600) * to_2024_25(
        "2020-21")
    deadweight = tri("deadweight", 0.0, 0.10, 0.25)
    bias_benefits = tri("optimism_bias_benefits", 0.02, 0.25, 0.50)
    bias_costs = 0.41
    weekly = sum(tri(f"unit_cost_{placement}_weekly", low, mid, high) * to_2024_25(base)
                 for placement, (low, mid, high, base) in UNIT_COSTS.items()) * 100 / 700
    stay = 1 - 200 / (700 + 200)
    kept_before = np.zeros(N)
    npv = np.zeros(N)
    for t in range(1, 6):
        ramp = np.minimum(1.0, t / ramp_years)
        kept = np.minimum((kept_before + np.minimum(200 * reduction * ramp, 200)) * stay, 700)
        gross = (kept_before + kept) / 2 * weekly * WEEKS + fte * premium * ramp
        benefit = gross * (1 - deadweight) * (1 - bias_benefits)
        cost = (running + (implementation if t == 1 else 0)) * (1 + bias_costs)
        npv += (benefit - cost) / 1.035 ** (t - 1)
        kept_before = kept
    return npv


def test_default_family_safeguarding_npv_matches_a_longhand_monte_carlo() -> None:
    innovation, params = prepare_assumptions("family_safeguarding")
    result = simulate(flat_draws(n_draws=N, horizon=5, first_year=2026), innovation, params,
                      opening_cla=np.full(len(PLACEMENTS), 100.0), price_base_year="2024-25",
                      seed=SEED, la_code="E06000007", method="test", sensitivity=False)
    expected = np.quantile(longhand_family_safeguarding_npv(), [0.1, 0.5, 0.9])
    npv = result.net_present_value
    assert npv.p10 < npv.p50 < npv.p90
    assert [npv.p10, npv.p50, npv.p90] == pytest.approx(expected, rel=1e-9)
    assert result.price_base_year == "2024-25"
    assert result.overrides == ()
    roi = result.return_on_investment
    assert roi.p10 < roi.p50 < roi.p90


@pytest.mark.parametrize("model", ["family_safeguarding", "family_valued", "no_wrong_door"])
def test_every_model_runs_on_its_defaults_and_names_its_grade_d_drivers(model: str) -> None:
    innovation, params = prepare_assumptions(model)
    result = simulate(flat_draws(n_draws=400, horizon=5, noise_sd=0.05, first_year=2024),
                      innovation, params, opening_cla=np.full(len(PLACEMENTS), 100.0),
                      price_base_year="2024-25", seed=3, la_code="E06000007", method="test")
    npv = result.net_present_value
    assert npv.p10 < npv.p50 < npv.p90
    table = result.sensitivity
    assert table["swing"].is_monotonic_decreasing
    assert {"confidence", "status", "driver"} <= set(table.columns)
    assert table["driver"].iloc[0]
    drivers = result.drivers
    assert set(result.grade_d_drivers) == set(
        drivers.loc[drivers["confidence"] == "D", "parameter_id"])
    assert result.grade_d_drivers  # every model's running cost is a grade-D judgement
    summary = result.summary().set_index("measure")
    assert summary.loc["net_present_value", "rests_on_grade_d"] == "; ".join(
        result.grade_d_drivers)
