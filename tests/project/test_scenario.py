"""Scenario mechanics on tiny hand-checkable draws: ramp-up, hazard, averted starts, shifts."""

from __future__ import annotations

import numpy as np
import pytest

from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.scenario import Shift, apply_scenario, cease_hazard, ramp_fraction
from tests.project.projection_fixtures import flat_draws


def test_ramp_fraction() -> None:
    assert ramp_fraction(2.0, 4)[0].tolist() == [0.5, 1.0, 1.0, 1.0]
    assert ramp_fraction(0.0, 3)[0].tolist() == [1.0, 1.0, 1.0]
    assert ramp_fraction(np.array([4.0, 1.0]), 2).tolist() == [[0.25, 0.5], [1.0, 1.0]]
    with pytest.raises(ValueError, match="negative"):
        ramp_fraction(-1.0, 3)


def test_cease_hazard_is_leavers_over_children_in_care_during_the_year() -> None:
    hazard = cease_hazard(np.array([[700.0, 0.0]]), np.array([[200.0, 0.0]]))
    assert hazard[0, 0] == pytest.approx(200 / 900)
    assert hazard[0, 1] == 1.0


def test_averted_starts_stay_out_for_the_expected_time_in_care() -> None:
    draws = flat_draws(n_draws=1, horizon=3)  # 700 in care, 200 starts and 200 ceases a year
    ramp = ramp_fraction(2.0, 3)
    paths = apply_scenario(draws, ramp, starts_reduction=np.array([0.1]))
    stay = 1 - 200 / 900
    averted = [10.0, 20.0, 20.0]
    kept = [10 * stay, (10 * stay + 20) * stay, ((10 * stay + 20) * stay + 20) * stay]
    assert paths.averted_starts[0].tolist() == pytest.approx(averted)
    assert paths.kept_out_of_care[0].tolist() == pytest.approx(kept)
    assert paths.starts[0].tolist() == pytest.approx([190.0, 180.0, 180.0])
    assert paths.cla[0, :, 0].tolist() == pytest.approx([100 - k / 7 for k in kept])
    assert paths.cla[0].sum(axis=1).tolist() == pytest.approx([700 - k for k in kept])
    # stock identity for the averted children: kept(t-1) + averted(t) = kept(t) + fewer ceases(t)
    fewer_ceases = 200.0 - paths.ceases[0]
    assert (np.array([0, *kept[:-1]]) + averted).tolist() == pytest.approx(kept + fewer_ceases)


def test_averted_count_is_capped_at_baseline_starts() -> None:
    draws = flat_draws(n_draws=1, horizon=2, starts=5.0)
    paths = apply_scenario(draws, ramp_fraction(0.0, 2), averted_per_year=np.array([50.0]))
    assert paths.averted_starts[0].tolist() == [5.0, 5.0]


def test_placement_shift_moves_children_without_changing_the_total() -> None:
    draws = flat_draws(n_draws=1, horizon=2)
    homes, foster = PLACEMENTS.index("childrens_homes_secure"), PLACEMENTS.index("foster")
    paths = apply_scenario(draws, ramp_fraction(2.0, 2),
                           shifts=(Shift(homes, foster, np.array([0.5])),))
    assert paths.cla[0, :, homes].tolist() == [75.0, 50.0]
    assert paths.cla[0, :, foster].tolist() == [125.0, 150.0]
    assert paths.cla.sum(axis=2).tolist() == draws.cla.sum(axis=2).tolist()


def test_zero_effect_leaves_every_path_exactly_unchanged() -> None:
    draws = flat_draws(n_draws=50, horizon=4, noise_sd=0.1, seed=3)
    homes, foster = PLACEMENTS.index("childrens_homes_secure"), PLACEMENTS.index("foster")
    paths = apply_scenario(draws, ramp_fraction(1.0, 4), starts_reduction=np.zeros(50),
                           averted_per_year=np.zeros(50),
                           shifts=(Shift(homes, foster, np.zeros(50)),))
    assert np.array_equal(paths.cla, draws.cla)
    assert np.array_equal(paths.starts, draws.starts)
    assert np.array_equal(paths.ceases, draws.ceases)
