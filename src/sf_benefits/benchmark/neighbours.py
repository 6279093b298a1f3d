"""Statistical neighbours computed from the store: the 10 LAs nearest on standardised indicators,
an open alternative to the published NFER model that can be refreshed every year."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.tables import POPULATION_COLUMNS, catalogue_values
from sf_benefits.store import Store
from sf_benefits.store.queries import (
    boundary_changes,
    child_population,
    continuous_series,
    observations,
    statistical_neighbours,
)

FEATURES: tuple[str, ...] = (
    "cin_rate_per_10k", "cpp_rate_per_10k", "referral_rate_per_10k", "cla_rate_per_10k",
)
"""Demand indicators compared (z-scores, equal weights), plus log population aged 0–17 for size."""
POPULATION_FEATURE = "log_population_0_17"
"""The size feature: log of the children aged 0–17 behind the rates."""


@dataclass(frozen=True)
class ComputedNeighbours:
    """The nearest LAs to one LA, with the features, year and distance that put them there."""

    la_code: str
    year: int
    features: tuple[str, ...]
    neighbour_codes: list[str]
    distances: list[float]


def feature_table(store: Store, year: int | None = None) -> tuple[int, pd.DataFrame]:
    """LA × feature matrix for the latest year (or `year`) in which most LAs have every feature:
    each demand indicator as the benchmark reads it, and the log of the children aged 0–17
    behind its rates (renamed LAs joined up)."""
    return _complete_in(_features(store), year)


def _features(store: Store) -> pd.DataFrame:
    """Every LA's features in every year, (year, area_code) × feature, NaN where missing."""
    catalogue = indicators()
    values = catalogue_values(store, [catalogue[f] for f in FEATURES])
    population = child_population(continuous_series(
        observations(store, list(POPULATION_COLUMNS)), boundary_changes(store)))
    columns = {f: values[f] for f in FEATURES}
    columns[POPULATION_FEATURE] = population.assign(value=np.log(population["population"]))
    return pd.concat({name: column[column["geographic_level"] == "Local authority"].set_index(
        ["year", "area_code"])["value"] for name, column in columns.items()}, axis=1)


def _complete_in(wide: pd.DataFrame, year: int | None) -> tuple[int, pd.DataFrame]:
    """The LAs with every feature in `year` (default: the latest year most LAs have them)."""
    complete = wide.dropna()
    if complete.empty:
        raise ValueError("no year has every neighbour feature for any LA: load CIN, CPP, CLA "
                         "and population data first")
    if year is None:
        counts: pd.Series = complete.groupby(level="year").size()
        year = int(counts[counts >= counts.max() * 0.9].index.max())
    return year, pd.DataFrame(complete.xs(year, level="year"))


def computed_neighbours(store: Store, la_code: str, year: int | None = None,
                        count: int = 10) -> ComputedNeighbours:
    """The `count` LAs closest to `la_code` by Euclidean distance on z-scored features."""
    wide = _features(store)
    year, table = _complete_in(wide, year)
    if la_code not in table.index:
        held = wide.xs(year, level="year").reindex([la_code]).iloc[0]
        missing = ", ".join(str(f) for f in held.index[held.isna()])
        raise ValueError(f"{la_code} cannot be given computed neighbours: they compare LAs on "
                         f"their {year} figures and it has none for {missing} (suppressed, or "
                         "the LA did not report that year); use the published neighbours")
    nearest = nearest_on_features(table, la_code, count)
    return ComputedNeighbours(la_code, year, tuple(table.columns), list(nearest.index),
                              [float(d) for d in nearest])


def nearest_on_features(table: pd.DataFrame, la_code: str, count: int) -> pd.Series:
    """Euclidean distance from `la_code` to the `count` nearest LAs (rows), nearest first, with
    every feature (column) z-scored so each weighs the same."""
    z = (table - table.mean()) / table.std(ddof=0).replace(0, 1)
    distance = np.sqrt(((z - z.loc[la_code]) ** 2).sum(axis=1)).drop(la_code)
    return distance.sort_values(kind="stable").head(count)


def compare_neighbours(store: Store, la_code: str, model: str | None = None) -> pd.DataFrame:
    """Published and computed lists side by side by rank, flagging LAs that are in both; where
    the LA cannot be given computed neighbours, the published list alone and why
    (`attrs["why_no_computed"]`)."""
    model, published = statistical_neighbours(store, la_code, model)
    try:
        computed = computed_neighbours(store, la_code).neighbour_codes
        why_no_computed = None
    except ValueError as exc:
        computed, why_no_computed = [], str(exc)
    size = max(len(published), len(computed))
    table = pd.DataFrame({
        "rank": range(1, size + 1),
        "published": published + [None] * (size - len(published)),
        "computed": computed + [None] * (size - len(computed)),
    })
    table["published_in_both"] = table["published"].isin(computed)
    table["computed_in_both"] = table["computed"].isin(published)
    table.attrs["model"] = model
    table.attrs["overlap"] = len(set(published) & set(computed))
    table.attrs["why_no_computed"] = why_no_computed
    return table
