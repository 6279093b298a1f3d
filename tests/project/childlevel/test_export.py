"""What a child-level projection publishes: observed counts at the jump-off date are protected with
their totals; model estimates of later dates are suppressed cell by cell, totals never."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.ingest.ssda903.load import read_returns
from sf_benefits.project.childlevel import ChildLevelModel
from sf_benefits.project.childlevel.export import publishable_projection
from tests.ingest.ssda903.fixtures import TEST_KEY, write_small_returns

JUMP_OFF = pd.Timestamp("2023-03-31")
LATER = pd.Timestamp("2024-03-31")


def _table() -> pd.DataFrame:
    """Two ages x two placements with totals, at the jump-off (observed) and a year later."""
    observed = {("under_1", "foster"): 3, ("under_1", "other"): 40,
                ("10_to_15", "foster"): 200, ("10_to_15", "other"): 300}
    rows = []
    for when, shift in ((JUMP_OFF, 0.0), (LATER, 0.2)):
        cells = {k: v + shift for k, v in observed.items()}
        for band in ("under_1", "10_to_15"):
            cells[(band, "all")] = sum(v for (b, _), v in cells.items() if b == band)
        for place in ("foster", "other", "all"):
            cells[("all", place)] = sum(v for (b, p), v in cells.items()
                                        if p == place and b != "all")
        for (band, place), value in cells.items():
            spread = 0.0 if when == JUMP_OFF else 0.1 * value
            rows.append((when, place, band, value, value - spread, value + spread))
    return pd.DataFrame(rows, columns=["date", "placement", "age_band", "mean", "lo-80", "hi-80"])


def _cell(frame: pd.DataFrame, when: pd.Timestamp, band: str, place: str) -> pd.Series:
    return frame[(frame["date"] == when) & (frame["age_band"] == band)
                 & (frame["placement"] == place)].iloc[0]


def test_observed_small_count_hides_the_smallest_protecting_cells_and_no_total() -> None:
    out = publishable_projection(_table(), JUMP_OFF)
    base = out[out["date"] == JUMP_OFF]
    hidden = {(r.age_band, r.placement) for r in base.itertuples() if r.mean == SUPPRESSED}
    # 3 is primary; in a 2x2 table with totals, all four inner cells must go, no total need.
    assert hidden == {("under_1", "foster"), ("under_1", "other"), ("10_to_15", "foster"),
                      ("10_to_15", "other")}
    for column in ("lo-80", "hi-80"):
        assert ((base[column] == SUPPRESSED) == (base["mean"] == SUPPRESSED)).all()
    assert _cell(out, JUMP_OFF, "all", "all")["mean"] == 543


def test_estimates_of_later_dates_hide_only_small_cells_never_a_total() -> None:
    out = publishable_projection(_table(), JUMP_OFF)
    later = out[out["date"] == LATER]
    assert _cell(out, LATER, "under_1", "foster")["mean"] == SUPPRESSED
    assert _cell(out, LATER, "under_1", "other")["mean"] == 40
    total = _cell(out, LATER, "all", "all")
    assert (total["mean"], total["lo-80"], total["hi-80"]) == (544, 489, 598)
    assert (later[["mean", "lo-80", "hi-80"]] == SUPPRESSED).sum().sum() == 3


def test_a_real_projection_never_shows_a_small_count_or_hides_a_large_total(
        tmp_path: Path) -> None:
    data = read_returns(write_small_returns(tmp_path), "E10000015", key=TEST_KEY)
    model = ChildLevelModel(n_draws=40, seed=3).fit(data)
    frame = model.predict(2, level=[80])
    out = publishable_projection(frame, model.rates.reference_end)
    for column in ("mean", "lo-80", "hi-80"):
        numbers = pd.to_numeric(out[column], errors="coerce")
        assert not numbers.between(1, 5).any()
        large = frame[column] >= 20
        totals = (frame["age_band"] == "all") | (frame["placement"] == "all")
        later = frame["date"] > model.rates.reference_end
        assert not (out.loc[large & totals & later, column] == SUPPRESSED).any()
