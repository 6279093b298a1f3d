"""The multi-state model recovers planted rates, projects with honest intervals, and plugs into
the LA-level engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sf_benefits.ingest.ssda903.load import Ssda903Data
from sf_benefits.ingest.ssda903.synthetic import SyntheticReturns
from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.project.childlevel import (
    AGE_BANDS,
    ALL_AGES,
    CareHistories,
    ChildLevelModel,
    RateScenario,
    build_histories,
    population_at,
)
from sf_benefits.project.childlevel.model import entry_drift, exit_drift
from sf_benefits.project.demand import CareHistory, DemandDraws
from sf_benefits.project.scenario import apply_scenario, ramp_fraction


@pytest.fixture(scope="module")
def fitted(planted_data: Ssda903Data) -> ChildLevelModel:
    return ChildLevelModel(window_years=3.0, n_draws=100).fit(planted_data)


def test_fit_recovers_the_planted_transition_rates(fitted: ChildLevelModel,
                                                   planted: SyntheticReturns) -> None:
    rates = fitted.rates
    truth = planted.rates.hazards
    events = rates.events
    informative = events >= 30
    assert informative.sum() >= 40
    standard_error = truth[informative] / np.sqrt(events[informative])
    z = (rates.hazards[informative] - truth[informative]) / standard_error
    assert np.all(np.abs(z) < 4.5), z
    assert np.abs(np.median(z)) < 1.0
    never = truth == 0
    assert events[never].sum() < 0.01 * events.sum(), "moves that never happen are rare"


def test_fit_recovers_planted_entries_by_age_band(fitted: ChildLevelModel,
                                                  planted: SyntheticReturns) -> None:
    table = fitted.entry_rates().groupby("age_band", sort=False)["entries_per_year"].sum()
    expected = planted.rates.entries_per_year * planted.scale
    assert list(table.index) == list(AGE_BANDS)
    z = (table.to_numpy() - expected) / np.sqrt(expected / fitted.rates.window_years)
    assert np.all(np.abs(z) < 4.0), z


def test_rate_tables_are_tidy(fitted: ChildLevelModel) -> None:
    moves = fitted.transition_rates()
    assert set(moves.columns) == {"age_band", "from", "to", "events", "exposure_years",
                                  "rate_per_year"}
    assert not (moves["from"] == moves["to"]).any()
    assert len(moves) == len(AGE_BANDS) * len(PLACEMENTS) * len(PLACEMENTS)


def test_predict_gives_mean_and_intervals_by_placement_and_age(fitted: ChildLevelModel) -> None:
    frame = fitted.predict(2, level=[80, 95], seed=1)
    assert list(frame.columns) == ["date", "placement", "age_band", "mean", "lo-80", "hi-80",
                                   "lo-95", "hi-95"]
    assert set(frame["placement"]) == {*PLACEMENTS, ALL_PLACEMENTS}
    assert set(frame["age_band"]) == {*AGE_BANDS, ALL_AGES}
    assert frame["date"].min() == pd.Timestamp("2023-03-31")
    assert pd.Timestamp("2025-03-31") in set(frame["date"])
    assert (frame["lo-95"] <= frame["lo-80"] + 1e-9).all()
    # a cell of a child or two can have its mean above its 90th percentile (a few draws of 1)
    counted = frame[frame["mean"] >= 1]
    assert (counted["lo-80"] <= counted["mean"] + 1e-9).all()
    assert (counted["mean"] <= counted["hi-80"] + 1e-9).all()
    last = frame[frame["date"] == frame["date"].max()]
    parts = last[(last["placement"] != ALL_PLACEMENTS) & (last["age_band"] != ALL_AGES)]
    total = last[(last["placement"] == ALL_PLACEMENTS) & (last["age_band"] == ALL_AGES)]
    assert np.isclose(parts["mean"].sum(), total["mean"].iloc[0])
    assert total["hi-80"].iloc[0] - total["lo-80"].iloc[0] > 50


def test_same_seed_same_figures(fitted: ChildLevelModel) -> None:
    first = fitted.predict(1, seed=7)
    again = fitted.predict(1, seed=7)
    other = fitted.predict(1, seed=8)
    pd.testing.assert_frame_equal(first, again)
    assert not first["mean"].equals(other["mean"])


def test_backtest_on_held_back_years(planted_data: Ssda903Data) -> None:
    histories = build_histories(planted_data)
    model = ChildLevelModel(window_years=2.0, n_draws=100).fit(
        histories, reference_end=pd.Timestamp("2021-03-31"))
    frame = model.predict(2, seed=3)
    actual = population_at(histories, [pd.Timestamp("2023-03-31")])
    cells = frame[(frame["date"] == pd.Timestamp("2023-03-31"))
                  & (frame["placement"] != ALL_PLACEMENTS) & (frame["age_band"] != ALL_AGES)]
    merged = actual.merge(cells, on=["date", "placement", "age_band"])
    wape = (merged["mean"] - merged["children"]).abs().sum() / merged["children"].sum()
    assert wape < 0.10
    assert abs(merged["mean"].sum() / merged["children"].sum() - 1) < 0.05
    inside = (merged["children"] >= np.floor(merged["lo-80"])) & (
        merged["children"] <= np.ceil(merged["hi-80"]))
    assert inside.mean() > 0.6


def test_central_path_agrees_with_the_simulated_mean(fitted: ChildLevelModel) -> None:
    central = fitted.central_path(2)
    expected = central[central["date"] == central["date"].max()]["expected"].sum()
    frame = fitted.predict(2, seed=5)
    simulated = frame[(frame["date"] == frame["date"].max())
                      & (frame["placement"] == ALL_PLACEMENTS)
                      & (frame["age_band"] == ALL_AGES)]["mean"].iloc[0]
    assert abs(simulated / expected - 1) < 0.02


def test_scenario_modifies_entry_and_transition_rates(fitted: ChildLevelModel) -> None:
    baseline = fitted.sample(3, 50, seed=9)
    fewer_entries = fitted.sample(3, 50, seed=9, scenario=RateScenario(
        "fewer entries", entry_multiplier={"10_to_15": 0.5, "16_to_17": 0.5}))
    assert fewer_entries.starts.mean() < 0.8 * baseline.starts.mean()
    assert fewer_entries.cla_total[:, -1].mean() < baseline.cla_total[:, -1].mean() - 100
    step_down = RateScenario("step down",
                             transition_multiplier={("childrens_homes_secure", "foster"): 3.0},
                             years_to_full_effect=2.0)
    moved = fitted.sample(3, 50, seed=9, scenario=step_down)
    homes = PLACEMENTS.index("childrens_homes_secure")
    assert moved.cla[:, -1, homes].mean() < baseline.cla[:, -1, homes].mean() * 0.9
    assert step_down.ramp(1.0) == 0.5 and step_down.ramp(3.0) == 1.0
    with pytest.raises(ValueError, match="unknown move"):
        RateScenario("bad", transition_multiplier={("foster", "moon"): 2.0}).hazard_factors(
            PLACEMENTS)


def test_sample_feeds_the_la_level_scenario_engine(fitted: ChildLevelModel) -> None:
    draws = fitted.sample(3, 40, seed=2)
    assert isinstance(draws, DemandDraws)
    assert draws.years.tolist() == [2024, 2025, 2026]
    assert draws.cla.shape == (40, 3, len(PLACEMENTS))
    assert (draws.starts > 1500).all() and (draws.ceases > 1500).all()
    paths = apply_scenario(draws, ramp_fraction(1.0, 3), starts_reduction=np.full(40, 0.2))
    assert (paths.cla.sum(axis=2) <= draws.cla.sum(axis=2) + 1e-9).all()


def test_history_in_the_la_level_format(fitted: ChildLevelModel) -> None:
    history = fitted.to_history()
    assert list(history.columns) == ["la_code", "year", "measure", "placement", "value"]
    parsed = CareHistory.from_frame(history)
    assert parsed.years.tolist() == [2019, 2020, 2021, 2022, 2023]
    assert fitted.histories_ is not None
    actual = population_at(fitted.histories_, [pd.Timestamp("2023-03-31")])
    assert parsed.value("cla_31_march", 2023) == actual["children"].sum()
    assert np.allclose(np.nansum(parsed.cla_by_placement, axis=1), parsed.cla_total)
    assert (parsed.starts > 1500).all()


def test_unfitted_model_and_bad_windows(planted_data: Ssda903Data) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        ChildLevelModel().predict(1)
    with pytest.raises(ValueError, match="after the data end"):
        ChildLevelModel().fit(planted_data, reference_end=pd.Timestamp("2030-03-31"))
    with pytest.raises(ValueError, match="before the returns do"):
        ChildLevelModel().fit(planted_data, reference_start=pd.Timestamp("2017-03-31"))
    one_year = ChildLevelModel(window_years=9.0).fit(planted_data)
    assert one_year.rates.reference_start == pd.Timestamp("2018-04-01")
    with pytest.raises(ValueError, match="steps_per_year"):
        ChildLevelModel(steps_per_year=5)


def test_rate_draws_follow_the_gamma_posterior(fitted: ChildLevelModel) -> None:
    """Each hazard is drawn from Gamma(events, 1 / exposure) and each entry count from
    Gamma(entries) / window: mean events / exposure and sd sqrt(events) / exposure; a rate seen
    once is drawn too, one never seen is zero."""
    rates = fitted.rates
    hazards, entries = fitted._draw_parameters(np.random.default_rng(3), 20_000, uncertain=True)
    exposure = np.broadcast_to(rates.exposure_years[:, :, None], rates.events.shape)
    cells = (rates.events >= 20) & (exposure > 0)
    assert cells.sum() >= 10
    events, exposure = rates.events[cells], exposure[cells]
    drawn = hazards[:, cells]
    assert drawn.mean(axis=0) == pytest.approx(events / exposure, rel=0.01)
    assert drawn.std(axis=0) == pytest.approx(np.sqrt(events) / exposure, rel=0.03)
    assert (hazards[:, rates.events == 0] == 0).all()
    single = rates.events == 1
    assert single.any() and (hazards[:, single] > 0).all()
    assert (rates.entries == 1).any() and (entries[:, rates.entries == 1] > 0).all()
    counted = rates.entries >= 20
    assert counted.sum() >= 5
    per_year = entries[:, counted]
    assert per_year.std(axis=0) == pytest.approx(
        np.sqrt(rates.entries[counted]) / rates.window_years, rel=0.03)


def test_entry_drift_is_the_year_on_year_change_beyond_chance() -> None:
    def histories(counts: list[int]) -> CareHistories:
        starts = [pd.Timestamp(year=2019 + i, month=1, day=1) for i, n in enumerate(counts)
                  for _ in range(n)]
        spells = pd.DataFrame({"start": pd.to_datetime(starts), "end": pd.NaT})
        return CareHistories(pd.DataFrame(), spells, pd.Timestamp("2022-03-31"), PLACEMENTS,
                             "E10000015", (2019, 2020, 2021, 2022))

    changes = np.diff(np.log([1000, 1100, 900, 1000]))
    expected = np.sqrt(np.mean(changes ** 2) - 2 / 1000)
    until = pd.Timestamp("2022-03-31")
    assert entry_drift(histories([1000, 1100, 900, 1000]), until) == pytest.approx(expected)
    assert entry_drift(histories([1000, 1000, 1000, 1000]), until) == 0.0
    assert entry_drift(histories([1000, 1100, 900, 1000]), pd.Timestamp("2020-03-31")) == 0.0


def test_exit_drift_is_the_change_in_the_rate_of_leaving_beyond_chance() -> None:
    years = (2019, 2020, 2021, 2022)
    leaving = [400, 600, 400, 600]
    rows = []
    for year, ended in zip(years, leaving, strict=True):
        starts = [pd.Timestamp(year=year - 1, month=5, day=1)] * 1000
        ends = [pd.Timestamp(year=year, month=2, day=1)] * ended + [pd.NaT] * (1000 - ended)
        rows += list(zip(starts, ends, strict=True))
    spells = pd.DataFrame(rows, columns=["start", "end"])
    histories = CareHistories(pd.DataFrame(), spells, pd.Timestamp("2022-03-31"), PLACEMENTS,
                              "E10000015", years)
    open_at_start = [0, 600, 1000, 1600]
    rates = np.asarray(leaving) / (1000 + np.asarray(open_at_start))
    changes = np.diff(np.log(rates))
    expected = np.sqrt(np.mean(changes ** 2) - 2 / np.mean(leaving))
    assert exit_drift(histories, pd.Timestamp("2022-03-31")) == pytest.approx(expected)


def test_matrix_exponential_equals_scipy_for_every_generator_shape() -> None:
    from scipy.linalg import expm

    from sf_benefits.project.childlevel.model import matrix_exponential

    rng = np.random.default_rng(7)
    for scale in (0.0, 0.01, 1.0, 40.0):
        generators = rng.gamma(0.5, scale, (3, 4, 8, 8)) if scale else np.zeros((3, 4, 8, 8))
        generators[..., 7, :] = 0.0
        index = np.arange(8)
        generators[..., index, index] = 0.0
        generators[..., index, index] = -generators.sum(axis=-1)
        ours = matrix_exponential(generators)
        assert np.allclose(ours, expm(generators), rtol=1e-12, atol=1e-13)
        assert np.allclose(ours.sum(axis=-1), 1.0, atol=1e-12)
