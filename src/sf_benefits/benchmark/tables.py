"""Each benchmark indicator's national tables, built once from the store's observations with
pandas: the published figure, or a rate per 10,000 children, or a ratio, for every area and year;
what the engine (`benchmark.engine`) ranks and compares, LA by LA, without pandas."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sf_benefits.benchmark.catalogue import Indicator, Selector, indicators
from sf_benefits.benchmark.indicator_table import SUPPRESSION_MARKERS, AreaTable, IndicatorTable
from sf_benefits.ingest.ees import JOINT_STATUS
from sf_benefits.store import Store
from sf_benefits.store.queries import (
    DFE_POPULATION,
    boundary_changes,
    child_population,
    continuous_series,
    matching_rows,
    one_per_year_and_area,
    select_rows,
    series_observations,
    stored_series,
)

POPULATION_COLUMNS = ("population_0_17", DFE_POPULATION[0])
"""The stored columns `child_population` reads, behind every per-10,000 rate."""


def indicator_values(frame: pd.DataFrame, indicator: Indicator,
                     population: pd.DataFrame | None = None) -> pd.DataFrame:
    """year, geographic_level, area_code, value, status, dataset and basis for one indicator: the
    published figure where there is one, else the count per 10,000 children (on `population`,
    `child_population(frame)` unless given) or the ratio."""
    return values_from(indicator, lambda selector: select_rows(frame, *selection(selector)),
                       child_population(frame) if population is None else population)


def selection(selector: Selector) -> tuple[list[str], dict[str, str], dict[str, list[str]],
                                           tuple[str, ...], dict[str, str]]:
    """A selector as the arguments of `select_rows` (after the frame)."""
    return (list(selector.indicator), selector.where,
            {k: list(v) for k, v in selector.any_of.items()}, selector.dataset, selector.contains)


def values_from(indicator: Indicator, rows_of: Callable[[Selector], pd.DataFrame],
                population: pd.DataFrame) -> pd.DataFrame:
    """An indicator's values (as `indicator_values`) from the rows each of its selectors reads
    (as `select_rows`) and the children aged 0–17 (as `child_population`)."""
    keys = ["year", "geographic_level", "area_code"]
    columns = [*keys, "value", "status", "dataset", "basis"]

    def pick(selector: Selector, basis: str) -> pd.DataFrame:
        return rows_of(selector).assign(basis=basis)[columns]

    if indicator.numerator is not None and indicator.denominator is not None:
        merged = pick(indicator.numerator, "ratio").merge(
            pick(indicator.denominator, "ratio")[[*keys, "value", "status", "dataset"]], on=keys,
            suffixes=("", "_den"))
        merged["value"] = merged["value"] / merged["value_den"].where(merged["value_den"] > 0)
        merged["status"] = merged["status"].where(merged["status"].notna(),
                                                  merged["status_den"])
        merged["dataset"] = merged["dataset"] + " ÷ " + merged["dataset_den"]
        return merged[columns]
    parts = [pick(indicator.value, "published")] if indicator.value is not None else []
    if indicator.per_10k_children is not None:
        counts = pick(indicator.per_10k_children, "per 10,000 children, computed").merge(
            population, on=keys)
        counts["value"] = counts["value"] / counts["population"].where(counts["population"] > 0)
        parts.append(counts.assign(value=counts["value"] * 10_000)[columns])
    values = pd.concat(parts, ignore_index=True)
    published_first = values["value"].isna().to_numpy().argsort(kind="stable")
    return values.iloc[published_first].drop_duplicates(keys, keep="first")


def indicator_coverage(store: Store) -> pd.DataFrame:
    """What the store holds for each benchmark indicator: the files it is read from, how, the
    years with LA values and how many LAs have one in the latest; empty where nothing matched."""
    catalogue = indicators()
    values_of = catalogue_values(store, list(catalogue.values()))
    rows = []
    for indicator in catalogue.values():
        values = values_of[indicator.id]
        las = values[(values["geographic_level"] == "Local authority") & values["value"].notna()]
        latest = int(las["year"].max()) if not las.empty else None
        rows.append({
            "indicator_id": indicator.id, "indicator": indicator.label,
            "files": ", ".join(sorted(set(las["dataset"]))),
            "basis": ", ".join(sorted(set(las["basis"]))),
            "first_year": int(las["year"].min()) if latest else None, "last_year": latest,
            "las_in_last_year": int((las["year"] == latest).sum()) if latest else 0,
        })
    return pd.DataFrame(rows).astype({"first_year": "Int64", "last_year": "Int64"})


def catalogue_values(store: Store, chosen: list[Indicator]) -> dict[str, pd.DataFrame]:
    """Each chosen indicator's values by id, as `indicator_values` finds them among all their
    stored observations (renamed LAs' series joined up), reading only the series its selectors
    choose and the child population's: which series a selector reads is known before its rows."""
    series = stored_series(store, sorted({n for ind in chosen for n in indicator_names(ind)}))
    # keyed by the selector's JSON: a selector holds dicts, so it has no hash
    series_read = {selector.model_dump_json(): matching_rows(series, *selection(selector))
                   ["series_id"] for ind in chosen for selector in ind.selectors()}
    wanted = set(series.loc[series["indicator"].isin(POPULATION_COLUMNS), "series_id"]).union(
        *series_read.values())
    frame = continuous_series(series_observations(store, sorted(wanted)),
                              boundary_changes(store))
    population = child_population(frame)

    def rows_of(selector: Selector) -> pd.DataFrame:
        read = frame["series_id"].isin(series_read[selector.model_dump_json()])
        return one_per_year_and_area(frame[read])

    return {ind.id: values_from(ind, rows_of, population) for ind in chosen}


def indicator_names(indicator: Indicator) -> list[str]:
    """The stored indicator columns an indicator reads, population included for per-10k rates."""
    names = [name for selector in indicator.selectors() for name in selector.indicator]
    return names + (list(POPULATION_COLUMNS) if indicator.per_10k_children else [])


def indicator_tables(store: Store, chosen: list[Indicator]) -> dict[str, IndicatorTable]:
    """Each indicator's values for every area and year, read once (renamed LAs joined up)."""
    return {indicator_id: indicator_table(values)
            for indicator_id, values in catalogue_values(store, chosen).items()}


def area_table(rows: pd.DataFrame) -> AreaTable:
    """Rows of year, area_code and value as the engine's year × area table: years and areas in
    order, the first value given for a year and area, NaN where none (as a pivot, without one)."""
    year_at, years = pd.factorize(rows["year"], sort=True)
    area_at, areas = pd.factorize(rows["area_code"], sort=True)
    cell = year_at * len(areas) + area_at
    _, first = np.unique(cell, return_index=True)
    grid = np.full((len(years), len(areas)), np.nan)
    grid.flat[cell[first]] = rows["value"].to_numpy(dtype=float)[first]
    return AreaTable(tuple(int(y) for y in years), tuple(str(a) for a in areas),
                     tuple(tuple(row) for row in grid.tolist()))


def indicator_table(values: pd.DataFrame) -> IndicatorTable:
    """An indicator's table from its values (as `indicator_values`): LAs, regions and England
    by year, each figure's joint return and suppression kept beside them."""
    def wide(level: str) -> AreaTable:
        return area_table(values[values["geographic_level"] == level])

    england = wide("National")
    joint = values[(values["status"] == JOINT_STATUS)
                   & (values["geographic_level"] == "Local authority")]
    hidden = values[values["value"].isna()
                    & values["status"].fillna("").str.lower().isin(SUPPRESSION_MARKERS)]
    return IndicatorTable(
        wide("Local authority"), wide("Regional"),
        AreaTable(england.years, england.areas[:1], tuple(row[:1] for row in england.rows)),
        frozenset(zip(joint["year"].astype(int), joint["area_code"], strict=True)),
        frozenset(zip(hidden["geographic_level"], hidden["year"].astype(int),
                      hidden["area_code"], strict=True)))
