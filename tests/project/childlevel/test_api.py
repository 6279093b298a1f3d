"""The LA-level appraisal run on the child-level baseline."""

from __future__ import annotations

import pytest

from sf_benefits.assumptions import AssumptionError
from sf_benefits.ingest.ssda903.load import Ssda903Data
from sf_benefits.project.childlevel import RateScenario
from sf_benefits.project.childlevel.api import METHOD, run_childlevel_projection
from tests.project.projection_fixtures import complete_overrides


def test_innovation_appraised_on_the_child_level_baseline(planted_data: Ssda903Data) -> None:
    result = run_childlevel_projection(
        planted_data, "family_safeguarding", horizon=3, n_draws=60, seed=4,
        overrides=complete_overrides("family_safeguarding", effect=0.2), sensitivity=False)
    assert result.method == METHOD and result.la_code == "E10000015"
    counts = result.counts
    baseline = counts[(counts["series"] == "baseline") & (counts["placement"] == "all")]
    scenario = counts[(counts["series"] == "scenario") & (counts["placement"] == "all")]
    assert baseline["year"].tolist() == [2024, 2025, 2026]
    assert (scenario["p50"].to_numpy() < baseline["p50"].to_numpy()).all()
    assert result.net_present_value.p50 > 0
    assert set(result.observed["measure"]) == {"cla_31_march", "starts", "ceases"}
    details = result.run_details().set_index("item")["value"]
    assert details["rests_on_grade_d"] == "not assessed (no sensitivity run)"


def test_a_rate_scenario_changes_the_baseline_demand(planted_data: Ssda903Data) -> None:
    def baseline_total(scenario: RateScenario | None) -> float:
        result = run_childlevel_projection(
            planted_data, "family_safeguarding", horizon=2, n_draws=40, seed=4,
            overrides=complete_overrides("family_safeguarding", effect=0.0),
            rate_scenario=scenario, sensitivity=False)
        counts = result.counts
        rows = counts[(counts["series"] == "baseline") & (counts["placement"] == "all")]
        return float(rows["p50"].iloc[-1])

    plain = baseline_total(None)
    fewer = baseline_total(RateScenario("fewer entries", entry_multiplier=0.5))
    assert fewer < plain - 200


def test_shipped_defaults_run_and_an_invalid_override_is_named(planted_data: Ssda903Data) -> None:
    result = run_childlevel_projection(planted_data, "family_safeguarding", horizon=2, n_draws=10,
                                       sensitivity=False)
    assert result.overrides == () and result.net_present_value.p10 < result.net_present_value.p90
    with pytest.raises(AssumptionError, match="fs_reduction_in_starts: -5 is outside"):
        run_childlevel_projection(planted_data, "family_safeguarding", horizon=2, n_draws=10,
                                  overrides={"fs_reduction_in_starts": -5})
