"""A guard on accuracy: the child-level model fitted to the shared synthetic returns up to 2022
projects the 2023 return's children in care (the backtest of
benchmarks/ssda903_vs_cs_demand_model.py, at ten times an average LA, in the default categories)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sf_benefits.ingest.ssda903.load import read_returns
from sf_benefits.ingest.ssda903.read import return_files
from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.project.childlevel import ALL_AGES, ChildLevelModel, build_histories, population_at
from tests.ingest.ssda903.fixtures import TEST_KEY

pytestmark = pytest.mark.shared_data


def test_fitted_to_2022_the_model_projects_2023(shared_data: Path) -> None:
    """Total within 3% (cs-demand-model: -2.6% in the benchmark's categories), placements within
    5% (weighted absolute error), and the total inside the 80% interval."""
    scale = shared_data / "ssda903" / "s10"
    fitted_to = read_returns(return_files([scale / str(y) for y in range(2019, 2023)]),
                             "E10000015", key=TEST_KEY)
    every_year = read_returns(return_files([scale]), "E10000015", key=TEST_KEY)
    when = pd.Timestamp("2023-03-31")
    frame = ChildLevelModel().fit(fitted_to).predict(1, seed=1)
    frame = frame[(frame["date"] == when) & (frame["age_band"] == ALL_AGES)].set_index("placement")
    actual = population_at(build_histories(every_year), [when]).groupby("placement")["children"].sum()
    total = actual.sum()
    assert abs(frame.loc[ALL_PLACEMENTS, "mean"] / total - 1) < 0.03
    by_place = frame["mean"].reindex(actual.index)
    assert (by_place - actual).abs().sum() / total < 0.05
    assert np.floor(frame.loc[ALL_PLACEMENTS, "lo-80"]) <= total <= np.ceil(
        frame.loc[ALL_PLACEMENTS, "hi-80"])
