"""The multi-state model recovers planted rates, projects with honest intervals, and plugs into
the LA-level engine."""

from __future__ import annotations

from dataclasses import replace

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
from sf_benefits.project.childlevel.ages import CARE_ENDS_AT_YEARS, MONTHS_IN_CARE_AGE
from sf_benefits.project.childlevel.model import (
    FittedRates,
    entry_drift,
    exit_drift,
    pooling_weight,
    tally,
)
from sf_benefits.project.demand import CareHistory, DemandDraws
from sf_benefits.project.scenario import apply_scenario, ramp_fraction


@pytest.fixture(scope="module")
def fitted(planted_data: Ssda903Data) -> ChildLevelModel:
    return ChildLevelModel(window_years=3.0, n_draws=100).fit(planted_data)


def test_fit_recovers_the_planted_transition_rates(fitted: ChildLevelModel,
                                                   planted: SyntheticReturns) -> None:
    rates = fitted.rates
    truth = planted.rates.hazards
    events = rates.events.sum(axis=1)
    informative = events >= 30
    assert informative.sum() >= 40
    standard_error = truth[informative] / np.sqrt(events[informative])
    z = (rates.pooled_hazards[informative] - truth[informative]) / standard_error
    assert np.all(np.abs(z) < 4.5), z
    assert np.abs(np.median(z)) < 1.0
    never = truth == 0
    assert events[never].sum() < 0.01 * events.sum(), "moves that never happen are rare"


def test_rates_by_time_in_care_agree_when_the_truth_has_no_duration_effect(
        fitted: ChildLevelModel, planted: SyntheticReturns) -> None:
    """The planted hazards do not depend on time in care, so each time-in-care band's estimate
    is the planted rate within chance (the exposure split across bands is right)."""
    rates = fitted.rates
    truth = np.broadcast_to(planted.rates.hazards[:, None], rates.events.shape)
    informative = rates.events >= 30
    assert informative[:, 0].sum() >= 5 and informative[:, 2].sum() >= 20
    z = (rates.hazards[informative] - truth[informative]) / (
        truth[informative] / np.sqrt(rates.events[informative]))
    assert np.all(np.abs(z) < 4.5), z
    assert np.abs(np.median(z)) < 1.0


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
    """Each draw takes the age band's pooled rate from Gamma(events, exposure) over all times in
    care, then each hazard by time in care from Gamma(events + w x that rate, exposure + w), with
    w the fitted pooling weight; the number of entries per year from Gamma(entries in the last
    year) / that year, spread over ages and first placements by a Dirichlet draw of the window's
    mix. A move never seen in an age band is zero."""
    rates = fitted.rates
    hazards, entries = fitted._draw_parameters(np.random.default_rng(3), 20_000, uncertain=True)
    w = rates.pooling_years
    pooled = rates.pooled_hazards[:, None]
    shape = rates.events + w * pooled
    rate = np.broadcast_to(rates.exposure_years[..., None] + w, shape.shape)
    pooled_events = np.broadcast_to(rates.events.sum(axis=1)[:, None], shape.shape)
    pooled_exposure = np.broadcast_to(
        np.maximum(rates.exposure_years.sum(axis=1), 1e-12)[:, None, :, None], shape.shape)
    variance = (shape + (w / pooled_exposure) ** 2 * pooled_events) / rate ** 2
    cells = rates.events >= 20
    assert cells.sum() >= 10
    drawn = hazards[:, cells]
    assert drawn.mean(axis=0) == pytest.approx(shape[cells] / rate[cells], rel=0.01)
    assert drawn.std(axis=0) == pytest.approx(np.sqrt(variance[cells]), rel=0.03)
    sparse = (rates.events[:, 0] == 0) & (pooled[:, 0] > 0)
    assert sparse.any()
    borrowed = hazards[:, :, 0][:, sparse].mean(axis=0)
    assert borrowed == pytest.approx((shape[:, 0] / rate[:, 0])[sparse], rel=0.2)
    never = np.broadcast_to(pooled == 0, shape.shape)
    assert (hazards[:, never] == 0).all()
    total = entries.sum(axis=(1, 2)) * rates.entry_window_years
    assert total.mean() == pytest.approx(rates.recent_entries, rel=0.01)
    assert total.std() == pytest.approx(np.sqrt(rates.recent_entries), rel=0.05)
    share = entries / entries.sum(axis=(1, 2), keepdims=True)
    assert share.mean(axis=0) == pytest.approx(rates.entries / rates.entries.sum(), abs=1e-3)
    assert (share[:, rates.entries == 0] == 0).all()


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


def test_constant_planted_rates_give_little_drift_or_misfit(fitted: ChildLevelModel) -> None:
    """The planted rates do not change from year to year and the planted moves are the model's
    own kind, so the year-to-year spreads and the model's misfit are near zero (they would widen
    the intervals for nothing)."""
    rates = fitted.rates
    spreads = [rates.entry_drift, rates.exit_drift, rates.move_drift, rates.entry_mix_drift,
               rates.mix_misfit]
    assert all(0.0 <= spread < 0.08 for spread in spreads), spreads


@pytest.mark.parametrize("steps_per_year", [4, 12])
def test_moves_that_begin_at_an_age_start_on_the_birthday(steps_per_year: int) -> None:
    """Children aged 15 to 16 (spread evenly over the year of age) move into placement 1 at a
    planted rate of one a year from their 16th birthday only: a year later the share moved is
    1 - E[e^-(age - 15)] = e^-1, whatever the step, because a slot's children crossing into a band mid-step
    take both bands' rates for half a step each."""
    placements = ("fostering", "supported")
    model = ChildLevelModel(placements=placements, steps_per_year=steps_per_year)
    bands, stages, k = len(AGE_BANDS), 3, len(placements)
    exposure = np.full((bands, stages, k), 1e6)
    events = np.zeros((bands, stages, k, k + 1))
    events[AGE_BANDS.index("16_to_17"), :, 0, 1] = 1e6
    day = pd.Timestamp("2023-03-31")
    model.rates_ = FittedRates(day - pd.DateOffset(years=1), day, placements, events, exposure,
                               np.zeros((MONTHS_IN_CARE_AGE, k)), 1.0, 1.0, 0.0)
    initial = np.zeros((CARE_ENDS_AT_YEARS * steps_per_year, steps_per_year + 1, k))
    initial[15 * steps_per_year:16 * steps_per_year, -1, 0] = 1000.0 / steps_per_year
    model._initial = initial
    path = model.central_path(1)
    moved = path[(path["date"] == path["date"].max()) & (path["placement"] == "supported")]
    assert moved["expected"].sum() / 1000.0 == pytest.approx(np.exp(-1.0), rel=0.01)


def test_pooling_weight_follows_the_evidence_for_rates_by_time_in_care(
        fitted: ChildLevelModel) -> None:
    """The planted hazards do not depend on time in care, so the returns' likeliest pooling
    weight is (nearly) full pooling; counts planted with rates three times higher in the first
    three months than after a year, over years of exposure, keep (mostly) their own rates: the
    weight is a small share of each cell's exposure."""
    assert fitted.rates.pooling_years >= 1_000
    rng = np.random.default_rng(11)
    exposure = np.broadcast_to(np.array([40.0, 120.0, 400.0])[None, :, None], (5, 3, 4)).copy()
    by_stage = np.array([3.0, 2.0, 1.0])[None, :, None, None]
    hazards = rng.uniform(0.05, 0.5, (5, 1, 4, 5)) * by_stage
    events = rng.poisson(hazards * exposure[..., None]).astype(float)
    assert pooling_weight(events, exposure) <= exposure.min() / 4


def test_each_draw_is_one_path_where_children_in_care_change_by_starts_less_ceases(
        fitted: ChildLevelModel) -> None:
    """In every draw the children in care at each 31 March are the year before's plus starts
    less ceases (whole children), so the money engine's stock and flows agree; on average the
    drawn flows are the expected ones."""
    draws = fitted.sample(horizon=3, n_draws=400, seed=5)
    opening = fitted.opening_stock().sum()
    stock = np.c_[np.full(400, opening), draws.cla.sum(axis=2)]
    assert np.diff(stock, axis=1) == pytest.approx(draws.starts - draws.ceases, abs=1e-6)
    assert (draws.ceases >= 0).all() and (draws.starts == np.round(draws.starts)).all()
    expected = fitted._simulate(3, 1, 5, None, stochastic=False)
    for drawn, central in ((draws.starts, expected.starts), (draws.ceases, expected.ceases)):
        yearly = central[0].reshape(3, -1).sum(axis=1)
        assert drawn.mean(axis=0) == pytest.approx(yearly, rel=0.05)


def test_tally_counts_each_named_cell_as_adding_ones_would() -> None:
    """Counts by cell, repeated cells and -1 (the last cell, as in indexing) included."""
    rng = np.random.default_rng(5)
    shape = (4, 3, 6)
    cells = (rng.integers(0, 4, 500), rng.integers(0, 3, 500), rng.integers(-1, 6, 500))
    expected = np.zeros(shape)
    np.add.at(expected, cells, 1.0)
    counted = tally(shape, cells)
    assert counted.dtype == float and counted.sum() == 500
    np.testing.assert_array_equal(counted, expected)
    np.testing.assert_array_equal(tally(shape, tuple(c[:0] for c in cells)), np.zeros(shape))


def _projected_with_the_years_own_rates(histories: CareHistories, steps_per_year: int
                                        ) -> pd.DataFrame:
    """Expected children in care on 31 March 2023 (date, age_band, placement, expected),
    projected from a year before with rates and entries counted over that year itself."""
    model = ChildLevelModel(steps_per_year=steps_per_year, window_years=1.0)
    own_rates = model.fit(histories, reference_start=pd.Timestamp("2022-04-01")).rates
    model.fit(histories, reference_end=pd.Timestamp("2022-03-31"))
    model.rates_ = replace(own_rates, reference_start=model.rates.reference_start,
                           reference_end=model.rates.reference_end)
    path = model.central_path(1)
    return path[path["date"] == pd.Timestamp("2023-03-31")]


@pytest.mark.parametrize("steps_per_year", [4, 12])
def test_given_the_years_own_rates_the_projection_reproduces_it_by_age_and_placement(
        planted_data: Ssda903Data, steps_per_year: int) -> None:
    """The returns are simulated with hazards by age band and placement alone: with rates and
    entries counted over the projected year itself, the projection from the year before lands
    within chance of every age band's and placement's children in care (ageing by step, entries
    by month of age, 18th birthdays and moves across band boundaries add no bias of their own;
    in the shared returns, where leaving care depends on age at entry, the same check shows
    the structure's remaining misses: about 2% too few under 1s and 1-2% too many 1-4s)."""
    histories = build_histories(planted_data)
    projected = _projected_with_the_years_own_rates(histories, steps_per_year)
    actual = population_at(histories, [pd.Timestamp("2023-03-31")])
    for key in ("age_band", "placement"):
        expected = projected.groupby(key)["expected"].sum()
        counted = actual.groupby(key)["children"].sum().reindex(expected.index)
        z = (expected - counted) / np.sqrt(np.maximum(counted, 25))
        assert (z.abs() < 1.5).all(), z
    assert abs(projected["expected"].sum() / actual["children"].sum() - 1) < 0.015


def _babies_in_care(seed: int, born_on_the_1st: bool) -> Ssda903Data:
    """Seeded returns of babies who enter foster care, 3,000 a year from 2010, and leave at a
    hazard of half a year (one episode each; open on 31 March 2023 when still in care): on the
    day they are born, or (`born_on_the_1st`) at an age spread evenly over their first year with
    the date of birth recorded as the 1st of the month, as in the DfE's returns."""
    rng = np.random.default_rng(seed)
    first, last = pd.Timestamp("2010-04-01"), pd.Timestamp("2023-03-31")
    span = (last - first).days
    n = rng.poisson(3000 * span / 365.25)
    entered = first + pd.to_timedelta(rng.integers(0, span, n), unit="D")
    born = entered
    if born_on_the_1st:
        born = (entered - pd.to_timedelta(rng.integers(0, 365, n), unit="D")).to_period(
            "M").to_timestamp()
    left = entered + pd.to_timedelta(np.ceil(rng.exponential(2.0 * 365.25, n)), unit="D")
    ids = [f"c{i}" for i in range(n)]
    episodes = pd.DataFrame({"child_id": ids, "decom": entered,
                             "dec": left.where(left <= last, pd.NaT), "place": "U4"})
    episodes["rec"] = np.where(episodes["dec"].isna(), "", "E13")
    for column in ("rne", "ls", "cin", "place_provider", "reason_place_change"):
        episodes[column] = ""
    episodes["collection_year"] = 2023
    children = pd.DataFrame({"child_id": ids, "dob": born, "sex": "1", "ethnic": "WBRI"})
    return Ssda903Data("E10000015", children, episodes, tuple(range(2017, 2024)), last)


@pytest.mark.parametrize(("steps_per_year", "born_on_the_1st"),
                         [(4, False), (12, False), (4, True)])
def test_babies_grow_up_in_the_projection_as_in_the_returns(
        steps_per_year: int, born_on_the_1st: bool) -> None:
    """Given the year's own rates and entries, the projection from the year before lands within
    chance of the under-1s and 1-4s in care, whether babies enter care at birth (all of their
    first year in care under 1) or at any age with dates of birth on the 1st of the month (all
    a month older on each 1st): tracking entrants as if their ages spread evenly over the step
    they enter in grows them up too early: about 10% and 7% too few under 1s."""
    histories = build_histories(_babies_in_care(17, born_on_the_1st))
    expected = _projected_with_the_years_own_rates(histories, steps_per_year).groupby(
        "age_band")["expected"].sum()
    counted = population_at(histories, [pd.Timestamp("2023-03-31")]).groupby(
        "age_band")["children"].sum()
    for band in ("under_1", "1_to_4"):
        z = (expected[band] - counted[band]) / np.sqrt(counted[band])
        assert abs(z) < 2.0, (band, expected[band], counted[band])
