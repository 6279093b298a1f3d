"""The child-level model's 80% intervals cover the truth about 80% of the time on populations
simulated with known rates, a planted rise in entries is picked up, and the year-to-year spread
of rates beyond chance is recovered."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sf_benefits.ingest.ssda903.load import Ssda903Data, read_returns
from sf_benefits.ingest.ssda903.synthetic import generate_returns
from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.project.childlevel import ALL_AGES, ChildLevelModel, build_histories, population_at
from sf_benefits.project.childlevel.model import _spread_beyond_chance
from tests.ingest.ssda903.fixtures import TEST_KEY

ORIGIN = pd.Timestamp("2021-03-31")
HELD = [pd.Timestamp("2022-03-31"), pd.Timestamp("2023-03-31")]


def _inside(actual: pd.Series, lo: pd.Series, hi: pd.Series) -> pd.Series:
    return (actual >= np.floor(lo)) & (actual <= np.ceil(hi))


def test_80_percent_intervals_cover_about_80_percent_over_seeds(tmp_path: Path) -> None:
    """Eight populations at twice an average LA, each fitted to 2021 and scored on 2022 and 2023:
    the pooled coverage of cells (age band x placement), placements and totals is near 80%
    (too narrow intervals, without chance or rate uncertainty, cover far less)."""
    cells, places, totals = [], [], []
    for seed in range(8):
        returns = generate_returns(scale=2, seed=500 + seed)
        data = read_returns(returns.write(tmp_path / str(seed)), "E10000015", key=TEST_KEY)
        histories = build_histories(data)
        frame = ChildLevelModel(n_draws=100).fit(histories, reference_end=ORIGIN).predict(
            2, seed=seed)
        frame = frame[frame["date"].isin(HELD)]
        actual = population_at(histories, HELD)
        merged = actual.merge(frame, on=["date", "placement", "age_band"])
        counted = merged[merged["mean"] >= 1]
        cells += list(_inside(counted["children"], counted["lo-80"], counted["hi-80"]))
        by_place = actual.groupby(["date", "placement"], as_index=False)["children"].sum().merge(
            frame[frame["age_band"] == ALL_AGES], on=["date", "placement"])
        places += list(_inside(by_place["children"], by_place["lo-80"], by_place["hi-80"]))
        total = actual.groupby("date", as_index=False)["children"].sum().merge(
            frame[(frame["age_band"] == ALL_AGES) & (frame["placement"] == ALL_PLACEMENTS)],
            on="date")
        totals += list(_inside(total["children"], total["lo-80"], total["hi-80"]))
    assert len(cells) > 300 and len(places) == 8 * 2 * 7
    assert 0.72 <= np.mean(cells) <= 0.94, np.mean(cells)
    assert 0.68 <= np.mean(places) <= 0.95, np.mean(places)
    assert np.mean(totals) >= 0.6, totals


def _fewer_early_entrants(data: Ssda903Data, share_kept: float, since: pd.Timestamp,
                          seed: int) -> Ssda903Data:
    """The same returns less a random share of the children whose care began before `since`
    (after the returns start), so entries rise by 1 / share_kept at `since`."""
    first = data.episodes.groupby("child_id")["decom"].min()
    early = first[(first < since) & (first >= pd.Timestamp("2018-04-01"))].index.to_numpy()
    dropped = early[np.random.default_rng(seed).random(early.size) > share_kept]
    keep = ~data.episodes["child_id"].isin(dropped)
    return replace(data, episodes=data.episodes[keep].reset_index(drop=True),
                   children=data.children[~data.children["child_id"].isin(dropped)]
                   .reset_index(drop=True), episode_child=None)


def test_a_planted_rise_in_entries_is_recovered(planted_data: Ssda903Data) -> None:
    """Entries rise by 1 / 0.7 from April 2022: the entry level is the latest year's, not the
    window's average, and the first projected year's starts are at the new level."""
    since = pd.Timestamp("2022-04-01")
    data = _fewer_early_entrants(planted_data, 0.7, since, seed=11)
    model = ChildLevelModel(n_draws=100).fit(data)
    spells = model.histories_.spells if model.histories_ is not None else pd.DataFrame()
    latest = float((spells["start"] >= since).sum())
    earlier = float(((spells["start"] >= since - pd.DateOffset(years=1))
                     & (spells["start"] < since)).sum())
    assert latest > 1.3 * earlier
    assert model.rates.entries_per_year.sum() == pytest.approx(latest, rel=0.01)
    draws = model.sample(1, 100, seed=4)
    assert draws.starts[:, 0].mean() == pytest.approx(latest, rel=0.05)
    low, high = np.percentile(draws.starts[:, 0], [10, 90])
    assert low < latest < high


def test_spread_beyond_chance_recovers_a_planted_spread() -> None:
    """Rates of 200 cells change from year to year by a planted log sd (plus a change all cells
    share): the estimate is near the planted sd, and near zero when only chance moves them."""
    rng = np.random.default_rng(8)
    exposure = np.broadcast_to(rng.uniform(50, 500, 200), (5, 200))
    base = np.log(rng.uniform(0.2, 1.0, 200))
    for planted in (0.0, 0.15):
        steps = rng.normal(0.0, planted, (5, 200)) + rng.normal(0.0, 0.3, (5, 1))
        counts = rng.poisson(exposure * np.exp(base + np.cumsum(steps, axis=0))).astype(float)
        assert _spread_beyond_chance(counts, exposure) == pytest.approx(planted, abs=0.03)
    assert _spread_beyond_chance(np.ones((1, 3)), np.ones((1, 3))) == 0.0
