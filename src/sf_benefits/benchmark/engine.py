"""Benchmark an LA against its statistical neighbours, its region and England, indicator by
indicator: value, ranks, quartile band with polarity, gap to the neighbour mean, and the trend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from sf_benefits.benchmark.authorities import LocalAuthority, authorities_in, resolve_la
from sf_benefits.benchmark.catalogue import Indicator, Polarity, Selector, indicators
from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.ingest.ees import JOINT_STATUS
from sf_benefits.store import Store
from sf_benefits.store.queries import (
    DFE_POPULATION,
    boundary_changes,
    child_population,
    continuous_series,
    local_authorities,
    observations,
    select_rows,
    series_break,
    statistical_neighbours,
)

ValueStatus = Literal["published", "suppressed", "not available"]
"""Whether a benchmark figure was published, withheld by the publisher to protect
confidentiality (shown as "c"), or not published at all (not collected, not applicable)."""

SUPPRESSION_MARKERS = frozenset({"c", "low", "k"})
"""Published markers of a figure the publisher withheld: "c" to protect confidentiality, "low"
and "k" because it rounds to nothing (under 0.5%). Each is shown as "c". Other markers ("x" not
available, "z" not applicable, ".", ":", "..", "u", "-", blank) mean no figure, shown as "–"."""

NOT_PUBLISHED = "\u2013"
"""Shown where no figure was published."""

SUPPRESSED_MEANING = "withheld by the DfE to protect confidentiality or as too small to show"
MARKER_NOTE = (f"{SUPPRESSED} = {SUPPRESSED_MEANING}; {NOT_PUBLISHED} = no figure published "
               "(not collected or not applicable).")
"""The legend for every table or chart of benchmark figures."""


def shown(value: float | None, status: ValueStatus) -> float | str | None:
    """A figure as published: the number, "c" where suppressed, None where none was published."""
    return SUPPRESSED if status == "suppressed" else _num(value)


@dataclass(frozen=True)
class IndicatorBenchmark:
    """One indicator for one LA in one year, against neighbours, region and England. A value
    the publisher suppressed is None here (left out of every mean and rank) with its status
    "suppressed"; `neighbour_values` has a status per neighbour."""

    indicator: Indicator
    year: int | None
    la_value: float | None
    neighbour_values: pd.DataFrame
    neighbour_mean: float | None
    neighbour_median: float | None
    region_value: float | None
    england_value: float | None
    rank_among_neighbours: int | None
    neighbours_ranked: int
    national_rank: int | None
    las_ranked: int
    quartile_band: str | None
    gap_to_neighbour_mean: float | None
    trend: pd.DataFrame
    """year, la, neighbour_mean, region, england, and la_status, region_status, england_status."""
    la_status: ValueStatus = "published"
    region_status: ValueStatus = "published"
    england_status: ValueStatus = "published"


@dataclass(frozen=True)
class BenchmarkResult:
    """An LA's benchmark on every requested indicator; presenters render it, never recompute it."""

    la: LocalAuthority
    year: int | None
    neighbour_model: str
    neighbours: list[LocalAuthority]
    indicators: list[IndicatorBenchmark]
    notes: list[str] = field(default_factory=list)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables as published: `summary` (one row per indicator), `neighbours` (long),
        `trend` (long); a suppressed figure is "c", one never published is empty."""
        summary = pd.DataFrame([{
            "indicator_id": b.indicator.id, "indicator": b.indicator.label,
            "unit": b.indicator.unit, "polarity": b.indicator.polarity, "year": b.year,
            "la_value": shown(b.la_value, b.la_status), "neighbour_mean": b.neighbour_mean,
            "neighbour_median": b.neighbour_median,
            "region_value": shown(b.region_value, b.region_status),
            "england_value": shown(b.england_value, b.england_status),
            "rank_among_neighbours": b.rank_among_neighbours,
            "neighbours_ranked": b.neighbours_ranked, "national_rank": b.national_rank,
            "las_ranked": b.las_ranked, "quartile_band": b.quartile_band,
            "gap_to_neighbour_mean": b.gap_to_neighbour_mean, "source": b.indicator.source,
        } for b in self.indicators])
        neighbours = pd.concat(
            [published_values(b.neighbour_values, {"value": "status"}).assign(
                indicator_id=b.indicator.id, year=b.year) for b in self.indicators],
            ignore_index=True) if self.indicators else pd.DataFrame()
        trend = pd.concat([published_values(b.trend, TREND_STATUS).assign(
            indicator_id=b.indicator.id) for b in self.indicators],
            ignore_index=True) if self.indicators else pd.DataFrame()
        return {"summary": summary, "neighbours": neighbours, "trend": trend}


TREND_STATUS = {"la": "la_status", "region": "region_status", "england": "england_status"}
"""Each published series of a trend and the column holding its status."""


def published_values(frame: pd.DataFrame, status_of: Mapping[str, str]) -> pd.DataFrame:
    """`frame` with each value column shown as published ("c" where its status column says
    suppressed) and the status columns dropped."""
    out = frame.copy()
    for column, status in status_of.items():
        if column in out.columns and status in out.columns:
            out[column] = pd.Series([shown(v, s) for v, s in zip(out[column], out[status],
                                                                  strict=True)],
                                    index=out.index, dtype=object)
    return out.drop(columns=[s for s in status_of.values() if s in out.columns])


def competition_rank(values: pd.Series, polarity: Polarity) -> pd.Series:
    """Rank 1 = best (lowest for neutral); ties share the better rank (1, 2, 2, 4); missing → NaN."""
    ascending = polarity != "high_is_better"
    return values.rank(method="min", ascending=ascending, na_option="keep")


def quartile_band(rank: float | None, ranked: int) -> str | None:
    """LAIT-style band from the national rank: A is the best quarter (lowest values if neutral)."""
    if rank is None or np.isnan(rank) or ranked == 0:
        return None
    share = rank / ranked
    return "A" if share <= 0.25 else "B" if share <= 0.5 else "C" if share <= 0.75 else "D"


def indicator_values(frame: pd.DataFrame, indicator: Indicator,
                     population: pd.DataFrame | None = None) -> pd.DataFrame:
    """year, geographic_level, area_code, value, status, dataset and basis for one indicator: the
    published figure where there is one, else the count per 10,000 children (on `population`,
    `child_population(frame)` unless given) or the ratio."""
    keys = ["year", "geographic_level", "area_code"]
    columns = [*keys, "value", "status", "dataset", "basis"]

    def pick(selector: Selector, basis: str) -> pd.DataFrame:
        rows = select_rows(frame, list(selector.indicator), selector.where,
                           {k: list(v) for k, v in selector.any_of.items()}, selector.dataset,
                           selector.contains)
        return rows.assign(basis=basis)[columns]

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
            child_population(frame) if population is None else population, on=keys)
        counts["value"] = counts["value"] / counts["population"].where(counts["population"] > 0)
        parts.append(counts.assign(value=counts["value"] * 10_000)[columns])
    values = pd.concat(parts, ignore_index=True)
    published_first = values["value"].isna().to_numpy().argsort(kind="stable")
    return values.iloc[published_first].drop_duplicates(keys, keep="first")


def indicator_coverage(store: Store) -> pd.DataFrame:
    """What the store holds for each benchmark indicator: the files it is read from, how, the
    years with LA values and how many LAs have one in the latest; empty where nothing matched."""
    catalogue = indicators()
    frame = indicator_observations(store, list(catalogue.values()))
    population = child_population(frame)
    rows = []
    for indicator in catalogue.values():
        values = indicator_values(frame, indicator, population)
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


def indicator_observations(store: Store, chosen: list[Indicator]) -> pd.DataFrame:
    """Every stored observation the chosen indicators read, renamed LAs' series joined up."""
    preferred: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    for indicator in chosen:
        for selector in indicator.selectors():
            for name in selector.indicator:
                if selector.dataset:
                    preferred.setdefault(name, set()).update(selector.dataset)
                else:
                    everywhere.add(name)
    names = sorted({n for ind in chosen for n in indicator_names(ind)})
    frame = observations(store, names, {n: tuple(sorted(parts)) for n, parts in preferred.items()
                                        if n not in everywhere})
    return continuous_series(frame, boundary_changes(store))


def indicator_names(indicator: Indicator) -> list[str]:
    """The stored indicator columns an indicator reads, population included for per-10k rates."""
    names = [name for selector in indicator.selectors() for name in selector.indicator]
    return names + (["population_0_17", DFE_POPULATION[0]] if indicator.per_10k_children else [])


def benchmark_la(store: Store, la: str | LocalAuthority, year: int | None = None,
                 indicator_ids: list[str] | None = None, neighbours: str = "published",
                 neighbour_model: str | None = None) -> BenchmarkResult:
    """Benchmark one LA. `neighbours` is "published" (NFER model in the store) or "computed"."""
    catalogue = indicators()
    chosen = [catalogue[i] for i in (indicator_ids or list(catalogue))]
    return benchmark_from_tables(store, local_authorities(store), indicator_tables(store, chosen),
                                 la, year, neighbours, neighbour_model)


@dataclass(frozen=True)
class IndicatorTable:
    """One indicator's values as year × area tables for LAs and regions, and England by year."""

    la: pd.DataFrame
    region: pd.DataFrame
    england: pd.Series
    joint_returns: frozenset[tuple[int, str]] = frozenset()
    suppressed: frozenset[tuple[str, int, str]] = frozenset()
    """(geographic level, year, area code) of each figure the publisher suppressed."""

    @classmethod
    def from_values(cls, values: pd.DataFrame) -> IndicatorTable:
        def wide(level: str) -> pd.DataFrame:
            rows = values[values["geographic_level"] == level]
            return rows.drop_duplicates(["year", "area_code"]).pivot(
                index="year", columns="area_code", values="value")

        england = wide("National")
        joint = values[(values["status"] == JOINT_STATUS)
                       & (values["geographic_level"] == "Local authority")]
        hidden = values[values["value"].isna()
                        & values["status"].fillna("").str.lower().isin(SUPPRESSION_MARKERS)]
        return cls(wide("Local authority"), wide("Regional"),
                   england.iloc[:, 0] if not england.empty else pd.Series(dtype=float),
                   frozenset(zip(joint["year"].astype(int), joint["area_code"], strict=True)),
                   frozenset(zip(hidden["geographic_level"], hidden["year"].astype(int),
                                 hidden["area_code"], strict=True)))

    def status(self, level: str, year: int | None, area_code: object,
               value: object) -> ValueStatus:
        """The status of the figure `value` for an area (level as published) in a year."""
        if _num(value) is not None:
            return "published"
        return ("suppressed" if year is not None and (level, int(year), area_code)
                in self.suppressed else "not available")


def indicator_tables(store: Store, chosen: list[Indicator]) -> dict[str, IndicatorTable]:
    """Each indicator's values for every area and year, read once (renamed LAs joined up)."""
    frame = indicator_observations(store, chosen)
    population = child_population(frame)
    return {ind.id: IndicatorTable.from_values(indicator_values(frame, ind, population))
            for ind in chosen}


def benchmark_from_tables(store: Store, las: pd.DataFrame, tables: dict[str, IndicatorTable],
                          la: str | LocalAuthority, year: int | None = None,
                          neighbours: str = "published",
                          neighbour_model: str | None = None) -> BenchmarkResult:
    """The benchmark from indicator tables already built, so many LAs can share one read."""
    catalogue = indicators()
    target = la if isinstance(la, LocalAuthority) else resolve_la(store, la)
    notes: list[str] = []
    if neighbours == "computed":
        from sf_benefits.benchmark.neighbours import computed_neighbours

        model = "computed"
        codes = computed_neighbours(store, target.la_code, year=year).neighbour_codes
    else:
        model, codes = statistical_neighbours(store, target.la_code, neighbour_model)
        if not codes:
            notes.append(f"No published statistical neighbours for {target.la_name} in the store.")
    broken = series_break(boundary_changes(store), target.la_code)
    if broken:
        notes.append(f"{target.la_name}: {broken}.")
    by_code = las.set_index("la_code", drop=False)
    neighbour_las = authorities_in(
        by_code.loc[[c for c in codes if c in by_code.index]].to_dict("records"))
    names = dict(zip(las["la_code"], las["la_name"], strict=True))
    results = [_benchmark_indicator(table, catalogue[ind_id], target, codes, names, year)
               for ind_id, table in tables.items()]
    notes += [f"{b.indicator.label}, {b.year}: {target.la_name} makes a joint return with another "
              "LA, so DfE publishes one figure for both." for b in results
              if (b.year, target.la_code) in tables[b.indicator.id].joint_returns]
    return BenchmarkResult(target, year, model, neighbour_las, results, notes)


LA_LEVEL = "Local authority"


def _benchmark_indicator(table: IndicatorTable, indicator: Indicator, la: LocalAuthority,
                         neighbour_codes: list[str], names: dict[str, str],
                         year: int | None) -> IndicatorBenchmark:
    wide = table.la
    own = wide[la.la_code].dropna() if la.la_code in wide.columns else pd.Series(dtype=float)
    if year is None:
        held = {int(y) for y in own.index} | {y for level, y, code in table.suppressed
                                               if level == LA_LEVEL and code == la.la_code}
        year = max(held) if held else (int(wide.index.max()) if not wide.empty else None)
    this_year = pd.Series(wide.loc[year] if year in wide.index else [], dtype=float)
    national = competition_rank(this_year, indicator.polarity)
    ranked = int(this_year.notna().sum())
    group = this_year.reindex([la.la_code, *neighbour_codes])
    group_rank = competition_rank(group, indicator.polarity)
    neighbour_only = this_year.reindex(neighbour_codes)
    la_value = _num(this_year.get(la.la_code))
    mean = _num(neighbour_only.mean()) if neighbour_only.notna().any() else None
    median = _num(neighbour_only.median()) if neighbour_only.notna().any() else None
    region_series = (table.region[la.region_code] if la.region_code in table.region.columns
                     else pd.Series(dtype=float))
    national_rank = _int(national.get(la.la_code))
    neighbour_table = pd.DataFrame({
        "rank": range(1, len(neighbour_codes) + 1), "la_code": neighbour_codes,
        "la_name": [names.get(c, c) for c in neighbour_codes],
        "value": [_num(v) for v in neighbour_only],
        "status": [table.status(LA_LEVEL, year, c, v)
                   for c, v in zip(neighbour_codes, neighbour_only, strict=True)],
    })
    trend = pd.DataFrame({
        "la": wide[la.la_code] if la.la_code in wide.columns else pd.Series(dtype=float),
        "neighbour_mean": wide.reindex(columns=neighbour_codes).mean(axis=1),
        "region": region_series, "england": table.england,
    }).rename_axis("year").reset_index().sort_values("year")
    trend = trend.dropna(subset=["la", "neighbour_mean", "region", "england"], how="all")
    areas = {"la": (LA_LEVEL, la.la_code), "region": ("Regional", la.region_code),
             "england": ("National", table.england.name)}
    for column, (level, code) in areas.items():
        trend[TREND_STATUS[column]] = [table.status(level, y, code, v) for y, v in
                                       zip(trend["year"], trend[column], strict=True)]
    region_value = _num(region_series.get(year))
    england_value = _num(table.england.get(year))
    return IndicatorBenchmark(
        indicator=indicator, year=year, la_value=la_value, neighbour_values=neighbour_table,
        neighbour_mean=mean, neighbour_median=median, region_value=region_value,
        england_value=england_value,
        rank_among_neighbours=_int(group_rank.get(la.la_code)),
        neighbours_ranked=int(group.notna().sum()), national_rank=national_rank,
        las_ranked=ranked, quartile_band=quartile_band(national_rank, ranked),
        gap_to_neighbour_mean=None if la_value is None or mean is None else la_value - mean,
        trend=trend, la_status=table.status(LA_LEVEL, year, la.la_code, la_value),
        region_status=table.status("Regional", year, la.region_code, region_value),
        england_status=table.status("National", year, table.england.name, england_value),
    )


def _num(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


def _int(value: object) -> int | None:
    number = _num(value)
    return None if number is None else int(number)
