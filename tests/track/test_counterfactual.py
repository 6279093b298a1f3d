"""DiD and synthetic control on panels with a planted effect: recovered, and zero when none.

Tolerances (stated in the report): over 16 synthetic panels of 60 LAs (2008–2024, effect from
2019: 11 pre and 6 post years; a different treated LA in each), the mean estimate of each method
is within 3.5 percentage points of the planted effect, every single estimate within 15 points,
and at least 13 of the 16 95% intervals contain the planted value (−8%, or 0 when nothing is
planted). One LA's estimate is noisy (sd ≈ 5 points on these panels, from LA-specific trends and
autocorrelated noise), which is why the intervals are wide and the tolerances are set on 16 LAs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sf_benefits.track import (
    CounterfactualError,
    cla_rate_panel,
    difference_in_differences,
    estimate_effects,
    first_post_year,
    nearest_comparators,
    synthetic_control,
)
from sf_benefits.track.counterfactual import _placebo_interval, synthetic_weights
from sf_benefits.track.simulate import plant_effect, synthetic_history

FIRST_POST = 2019
PANELS = range(16)
MEAN_TOLERANCE = 0.035
SINGLE_TOLERANCE = 0.15
MIN_COVERED = 13


def _run(effect: float) -> pd.DataFrame:
    rows = []
    for seed in PANELS:
        treated = f"E99{(seed * 7) % 60 + 1:06d}"
        panel = cla_rate_panel(plant_effect(synthetic_history(seed=seed), treated, FIRST_POST,
                                            effect))
        pool = [c for c in panel["la_code"].unique() if c != treated]
        did = difference_in_differences(panel, treated, FIRST_POST,
                                        nearest_comparators(panel, treated, pool, FIRST_POST),
                                        placebo_pool=pool)
        sc = synthetic_control(panel, treated, FIRST_POST, pool)
        rows.append({"did": did.effect_pct, "did_low": did.interval_pct[0],
                     "did_high": did.interval_pct[1], "sc": sc.effect_pct,
                     "sc_low": sc.interval_pct[0], "sc_high": sc.interval_pct[1],
                     "did_time_zero": did.placebo_in_time.covers_zero
                     if did.placebo_in_time else False,
                     "sc_time_zero": sc.placebo_in_time.covers_zero
                     if sc.placebo_in_time else False})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return _run(-0.08)


@pytest.fixture(scope="module")
def null() -> pd.DataFrame:
    return _run(0.0)


@pytest.mark.parametrize("method", ["did", "sc"])
def test_planted_minus_8_percent_is_recovered(planted: pd.DataFrame, method: str) -> None:
    estimates = planted[method]
    assert abs(estimates.mean() - (-0.08)) <= MEAN_TOLERANCE
    assert (abs(estimates + 0.08) <= SINGLE_TOLERANCE).all()
    covered = (planted[f"{method}_low"] <= -0.08) & (planted[f"{method}_high"] >= -0.08)
    assert covered.sum() >= MIN_COVERED


@pytest.mark.parametrize("method", ["did", "sc"])
def test_no_planted_effect_intervals_cover_zero(null: pd.DataFrame, method: str) -> None:
    covered = (null[f"{method}_low"] <= 0) & (null[f"{method}_high"] >= 0)
    assert covered.sum() >= MIN_COVERED
    assert abs(null[method].mean()) <= MEAN_TOLERANCE
    assert null[f"{method}_time_zero"].sum() >= MIN_COVERED


def test_noise_free_panels_recover_the_planted_effect_exactly() -> None:
    """Without LA trends or noise every LA moves with the nation, so both methods must return the
    planted −8% up to the rounding of counts to whole children, whichever LA is treated, and
    the placebos (all near zero) give a narrow interval there."""
    history = synthetic_history(n_las=30, seed=12, trend_sd=0.0, noise_sd=0.0)
    for treated in ("E99000004", "E99000017", "E99000025"):
        panel = cla_rate_panel(plant_effect(history, treated, FIRST_POST, -0.08))
        pool = [c for c in panel["la_code"].unique() if c != treated]
        did = difference_in_differences(panel, treated, FIRST_POST, pool)
        sc = synthetic_control(panel, treated, FIRST_POST, pool)
        assert did.effect_pct == pytest.approx(-0.08, abs=0.003), treated
        assert sc.effect_pct == pytest.approx(-0.08, abs=0.003), treated
        for interval in (did.interval_pct, sc.interval_pct):
            assert interval[0] < -0.07 and interval[1] > -0.09 and interval[1] - interval[0] < 0.01


def test_effect_moves_with_the_plant() -> None:
    history = synthetic_history(seed=3)
    treated = "E99000010"
    effects = []
    for planted_effect in (0.0, -0.08, -0.20):
        panel = cla_rate_panel(plant_effect(history, treated, FIRST_POST, planted_effect))
        pool = [c for c in panel["la_code"].unique() if c != treated]
        did = difference_in_differences(panel, treated, FIRST_POST, pool)
        effects.append(did.effect_log)
    assert effects[1] - effects[0] == pytest.approx(np.log(0.92), abs=1e-9)
    assert effects[2] - effects[0] == pytest.approx(np.log(0.80), abs=1e-9)


def test_twfe_equals_the_two_by_two_difference() -> None:
    panel = cla_rate_panel(synthetic_history(n_las=12, seed=5))
    treated, controls = "E99000001", [f"E99{i:06d}" for i in range(2, 13)]
    did = difference_in_differences(panel, treated, FIRST_POST, controls)
    wide = np.log(panel.pivot(index="la_code", columns="year", values="cla_rate_per_10k"))
    post = wide.columns >= FIRST_POST
    change = wide.loc[:, post].mean(axis=1) - wide.loc[:, ~post].mean(axis=1)
    assert did.effect_log == pytest.approx(change[treated] - change[controls].mean(), abs=1e-10)
    n_units, n_years = wide.loc[[treated, *controls]].shape
    unit = np.repeat(np.arange(n_units), n_years)
    period = np.tile(np.arange(n_years), n_units)
    design = np.column_stack([
        np.ones(n_units * n_years),
        (unit[:, None] == np.arange(1, n_units)[None, :]).astype(float),
        (period[:, None] == np.arange(1, n_years)[None, :]).astype(float),
        ((unit == 0) & post[period]).astype(float)])
    full = sm.OLS(wide.loc[[treated, *controls]].to_numpy().ravel(), design).fit(
        cov_type="cluster", cov_kwds={"groups": unit})
    assert did.effect_log == pytest.approx(full.params[-1], abs=1e-10)
    assert did.cluster_se_log == pytest.approx(full.bse[-1], rel=1e-8)
    frames = did.to_frames()
    assert set(frames) == {"did_estimate", "did_event_study"}
    assert len(frames["did_event_study"]) == len(did.years)


def test_synthetic_weights_recover_a_convex_combination() -> None:
    rng = np.random.default_rng(1)
    donors = rng.uniform(50, 120, size=(10, 6))
    target = 0.3 * donors[:, 1] + 0.7 * donors[:, 4]
    weights = synthetic_weights(target, donors)
    assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    assert weights[1] == pytest.approx(0.3, abs=1e-3) and weights[4] == pytest.approx(0.7,
                                                                                     abs=1e-3)


def _hand_panel(log_rates: dict[str, np.ndarray], first_year: int = 2012) -> pd.DataFrame:
    """A panel with a population of 10,000 children, so the rate per 10k is the count."""
    return pd.DataFrame([
        {"la_code": code, "year": first_year + t, "cla": float(np.exp(v)),
         "population_0_17": 10_000.0, "cla_rate_per_10k": float(np.exp(v))}
        for code, values in log_rates.items() for t, v in enumerate(values)])


def test_placebo_interval_is_the_estimate_minus_the_placebo_quantiles() -> None:
    """With placebo errors 0, .1, .2, .3 and 1 the 50% interval's quantiles are .1 and .3, so an
    estimate of −.1 has the interval (−.1 − .3, −.1 − .1): the errors are subtracted."""
    assert _placebo_interval(-0.1, np.array([0.0, 0.1, 0.2, 0.3, 1.0]), 0.5) == pytest.approx(
        (-0.4, -0.2))


def test_did_placebo_interval_by_hand() -> None:
    """Log rates step up at 2019 by −0.2 (treated) and 0, 0.1, 0.5 (comparators). By hand: β =
    −0.2 − 0.2 = −0.4; each comparator against the other three gives placebos −2/15, 0 and 8/15,
    whose 25% and 75% quantiles are −1/15 and 4/15; the 50% interval is β − 4/15 to β + 1/15."""
    years = np.arange(2012, 2023)
    post = (years >= FIRST_POST).astype(float)
    steps = {"T": -0.2, "A": 0.0, "B": 0.1, "C": 0.5}
    panel = _hand_panel({code: np.log(40.0 + 10 * i) + step * post
                         for i, (code, step) in enumerate(steps.items())})
    did = difference_in_differences(panel, "T", FIRST_POST, ["A", "B", "C"], level=0.5)
    assert did.effect_log == pytest.approx(-0.4, abs=1e-12)
    assert did.effect_pct == pytest.approx(np.expm1(-0.4), abs=1e-12)
    assert did.interval_pct == pytest.approx((np.expm1(-0.4 - 4 / 15), np.expm1(-0.4 + 1 / 15)),
                                             abs=1e-12)
    assert did.n_placebos == 3
    assert did.p_value_placebo == pytest.approx(2 / 4)


def test_synthetic_control_effect_on_a_known_answer() -> None:
    """The treated LA is exactly half A and half B before 2019 and 10% below that mix after it:
    the weights are 0.5 and 0.5, the effect −10% of the synthetic rate, and the gap in children
    the mean post-2019 synthetic rate × −0.1 (population 10,000)."""
    years = np.arange(2012, 2023)
    rng = np.random.default_rng(9)
    donors = {code: np.log(rng.uniform(40, 90) * np.exp(np.cumsum(rng.normal(0, 0.08, years.size))))
              for code in "ABCDEF"}
    mix = 0.5 * np.exp(donors["A"]) + 0.5 * np.exp(donors["B"])
    treated = mix * np.where(years >= FIRST_POST, 0.9, 1.0)
    panel = _hand_panel({"T": np.log(treated), **donors})
    sc = synthetic_control(panel, "T", FIRST_POST, list("ABCDEF"))
    assert sc.weights.to_dict() == pytest.approx({"A": 0.5, "B": 0.5}, abs=1e-4)
    assert sc.effect_pct == pytest.approx(-0.10, abs=1e-4)
    post_mix = mix[years >= FIRST_POST]
    assert sc.effect_rate_per_10k == pytest.approx(-0.1 * post_mix.mean(), rel=1e-3)
    assert sc.children_effect_per_year == pytest.approx(-0.1 * post_mix.mean(), rel=1e-3)
    assert sc.pre_period_rmspe == pytest.approx(0.0, abs=1e-3)


def test_synthetic_control_reports_fit_and_weights() -> None:
    panel = cla_rate_panel(synthetic_history(seed=2))
    pool = [c for c in panel["la_code"].unique() if c != "E99000007"]
    sc = synthetic_control(panel, "E99000007", FIRST_POST, pool)
    assert (sc.weights >= 0).all() and sc.weights.sum() == pytest.approx(1.0, abs=1e-6)
    assert sc.pre_period_rmspe >= 0 and 0 < sc.p_value_placebo <= 1
    assert set(sc.to_frames()) == {"sc_estimate", "sc_weights", "sc_path"}
    assert sc.path["post"].sum() == 2024 - FIRST_POST + 1


def test_too_few_years_is_refused() -> None:
    panel = cla_rate_panel(synthetic_history(first_year=2016, seed=4))
    pool = [c for c in panel["la_code"].unique() if c != "E99000001"]
    with pytest.raises(CounterfactualError, match="years before"):
        difference_in_differences(panel, "E99000001", 2019, pool)
    with pytest.raises(CounterfactualError):
        synthetic_control(panel, "E99000001", 2019, pool)


@pytest.mark.parametrize(("go_live", "year"), [
    (date(2020, 2, 1), 2021), (date(2019, 11, 1), 2021), (date(2021, 2, 11), 2022),
    (date(2020, 6, 1), 2021), (date(2020, 4, 1), 2021), (date(2019, 9, 1), 2020)])
def test_first_post_year(go_live: date, year: int) -> None:
    assert first_post_year(go_live) == year


def test_estimate_effects_uses_published_neighbours_when_enough() -> None:
    history = plant_effect(synthetic_history(seed=8), "E99000002", 2020, -0.08)
    neighbours = [f"E99{i:06d}" for i in range(3, 13)]
    estimates = estimate_effects(history, "E99000002", date(2019, 6, 1),
                                 published_neighbours=neighbours)
    assert estimates.first_post_year == 2020
    assert estimates.did is not None and estimates.synthetic_control is not None
    assert estimates.comparison_basis.startswith("10 published")
    assert set(estimates.did.comparators) == set(neighbours)
    few = estimate_effects(history, "E99000002", date(2019, 6, 1),
                           published_neighbours=neighbours[:3])
    assert few.comparison_basis.startswith("20 computed")


@pytest.mark.shared_data
def test_planted_effect_on_real_histories(shared_data: Path, tmp_path: Path) -> None:
    from sf_benefits.ingest.loader import load_directory
    from sf_benefits.store import Store
    from sf_benefits.store.queries import care_history
    from sf_benefits.track.adopters import known_adopter_codes

    store = Store.open(f"sqlite:///{tmp_path / 'real.sqlite'}")
    load_directory(store, shared_data)
    history = care_history(store)
    panel = cla_rate_panel(history)
    wide = panel.pivot(index="la_code", columns="year", values="cla_rate_per_10k")
    complete = wide.dropna()
    candidates = sorted(set(complete.index) - known_adopter_codes())
    assert len(candidates) >= 30, f"only {len(candidates)} complete non-adopter LA series loaded"
    assert (complete.columns < FIRST_POST).sum() >= 4, "fewer than 4 years before the effect"
    errors: dict[str, list[float]] = {"did": [], "sc": []}
    for treated in candidates[:: max(1, len(candidates) // 8)][:8]:
        planted_panel = cla_rate_panel(plant_effect(history, treated, FIRST_POST, -0.08))
        pool = [c for c in candidates if c != treated]
        did = difference_in_differences(planted_panel, treated, FIRST_POST,
                                        nearest_comparators(planted_panel, treated, pool,
                                                            FIRST_POST), placebo_pool=pool)
        sc = synthetic_control(planted_panel, treated, FIRST_POST, pool)
        errors["did"].append(did.effect_pct + 0.08)
        errors["sc"].append(sc.effect_pct + 0.08)
    for method, values in errors.items():
        assert abs(float(np.mean(values))) <= MEAN_TOLERANCE + 0.02, method


def test_pre_trend_check_flags_a_diverging_la() -> None:
    history = synthetic_history(seed=6, trend_sd=0.0)
    treated = "E99000003"
    panel = cla_rate_panel(history)
    pool = [c for c in panel["la_code"].unique() if c != treated]
    parallel = difference_in_differences(panel, treated, FIRST_POST, pool)
    mask = (history["la_code"] == treated) & (history["measure"] == "cla_31_march")
    diverging = history.copy()
    diverging.loc[mask, "value"] *= np.exp(0.04 * (diverging.loc[mask, "year"] - 2008))
    flagged = difference_in_differences(cla_rate_panel(diverging), treated, FIRST_POST, pool)
    assert parallel.pre_trend_ok and parallel.pre_trend_p_value >= 0.05
    assert not flagged.pre_trend_ok and flagged.pre_trend_p_value < 0.05


def test_exported_estimates_carry_every_figure_under_its_name() -> None:
    panel = cla_rate_panel(plant_effect(synthetic_history(n_las=20, seed=2), "E99000007",
                                        FIRST_POST, -0.08))
    pool = [c for c in panel["la_code"].unique() if c != "E99000007"]
    did = difference_in_differences(panel, "E99000007", FIRST_POST, pool)
    sc = synthetic_control(panel, "E99000007", FIRST_POST, pool)
    assert did.placebo_in_time is not None and sc.placebo_in_time is not None
    shared = {"treated": "E99000007", "first_post_year": FIRST_POST,
              "interval_level": 0.95, "placebo_in_time_year": FIRST_POST - 3}
    did_frames = did.to_frames()
    assert did_frames["did_estimate"].iloc[0].to_dict() == {
        **shared, "method": "difference-in-differences (TWFE, log CLA rate)",
        "n_comparators": len(pool), "effect_pct": did.effect_pct,
        "interval_low_pct": did.interval_pct[0], "interval_high_pct": did.interval_pct[1],
        "interval_method": did.interval_method,
        "cluster_interval_low_pct": did.cluster_interval_pct[0],
        "cluster_interval_high_pct": did.cluster_interval_pct[1],
        "p_value_placebo": did.p_value_placebo,
        "children_effect_per_year": did.children_effect_per_year,
        "children_interval_low": did.children_interval[0],
        "children_interval_high": did.children_interval[1],
        "pre_trend_ok": did.pre_trend_ok, "pre_trend_p_value": did.pre_trend_p_value,
        "pre_period_rmspe_log": did.pre_period_rmspe_log,
        "placebo_in_time_effect_pct": did.placebo_in_time.effect_pct,
        "placebo_in_time_covers_zero": did.placebo_in_time.covers_zero}
    assert did_frames["did_event_study"].equals(did.event_study)
    sc_frames = sc.to_frames()
    assert sc_frames["sc_estimate"].iloc[0].to_dict() == {
        **shared, "method": "synthetic control (CLA rate per 10k)", "effect_pct": sc.effect_pct,
        "effect_rate_per_10k": sc.effect_rate_per_10k,
        "interval_low_pct": sc.interval_pct[0], "interval_high_pct": sc.interval_pct[1],
        "interval_method": "placebo-in-space (Abadie et al. 2010)",
        "p_value_placebo": sc.p_value_placebo,
        "n_placebos_in_interval": sc.n_placebos_in_interval,
        "pre_period_rmspe": sc.pre_period_rmspe, "post_period_rmspe": sc.post_period_rmspe,
        "children_effect_per_year": sc.children_effect_per_year,
        "children_interval_low": sc.children_interval[0],
        "children_interval_high": sc.children_interval[1],
        "placebo_in_time_effect_pct": sc.placebo_in_time.effect_pct,
        "placebo_in_time_covers_zero": sc.placebo_in_time.covers_zero}
    weights = sc_frames["sc_weights"]
    assert list(weights.columns) == ["la_code", "weight"]
    assert weights.set_index("la_code")["weight"].to_dict() == sc.weights.to_dict()
    assert sc_frames["sc_path"].equals(sc.path)
