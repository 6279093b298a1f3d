"""Benchmark an LA against its statistical neighbours, its region and England, indicator by
indicator: value, ranks, quartile band with polarity, gap to the neighbour mean, and the trend.

The engine reads each indicator's national `IndicatorTable` (plain tuples of floats, built from
the store once by `benchmark.tables` and kept on disk by `benchmark.table_cache`) and works in
plain Python, so one LA's benchmark from the command line imports neither pandas, numpy nor
SQLAlchemy; the pandas views of a result (`to_frames`, `neighbour_values`, `trend`) import pandas
when a presenter asks for them."""

from __future__ import annotations

import math
import sqlite3
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sf_benefits.benchmark.authorities import LocalAuthority, all_authorities, la_in
from sf_benefits.benchmark.catalogue import Indicator, Polarity, indicators
from sf_benefits.benchmark.indicator_table import IndicatorTable, ValueStatus, number_or_none
from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.store.embedded import (
    boundary_change_rows,
    series_break_in,
    statistical_neighbours,
)

if TYPE_CHECKING:
    import pandas as pd

    from sf_benefits.store import Store

NOT_PUBLISHED = "\u2013"
"""Shown where no figure was published."""

SUPPRESSED_MEANING = "withheld by the DfE to protect confidentiality or as too small to show"
MARKER_NOTE = (f"{SUPPRESSED} = {SUPPRESSED_MEANING}; {NOT_PUBLISHED} = no figure published "
               "(not collected or not applicable).")
"""The legend for every table or chart of benchmark figures."""


def shown(value: float | None, status: ValueStatus) -> float | str | None:
    """A figure as published: the number, "c" where suppressed, None where none was published."""
    return SUPPRESSED if status == "suppressed" else number_or_none(value)


@dataclass(frozen=True)
class NeighbourValue:
    """One statistical neighbour's figure for the benchmark year, None unless published."""

    rank: int
    la_code: str
    la_name: str
    value: float | None
    status: ValueStatus


@dataclass(frozen=True)
class TrendYear:
    """One year of an indicator's trend: the LA, its neighbours' mean, its region and England."""

    year: int
    la: float | None
    neighbour_mean: float | None
    region: float | None
    england: float | None
    la_status: ValueStatus
    region_status: ValueStatus
    england_status: ValueStatus


TREND_STATUS = {"la": "la_status", "region": "region_status", "england": "england_status"}
"""Each published series of a trend and the column holding its status."""


@dataclass(frozen=True)
class IndicatorBenchmark:
    """One indicator for one LA in one year, against neighbours, region and England. A value
    the publisher suppressed is None here (left out of every mean and rank) with its status
    "suppressed"; each neighbour and each trend year has its own status."""

    indicator: Indicator
    year: int | None
    la_value: float | None
    neighbour_rows: tuple[NeighbourValue, ...]
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
    trend_rows: tuple[TrendYear, ...]
    la_status: ValueStatus = "published"
    region_status: ValueStatus = "published"
    england_status: ValueStatus = "published"

    @property
    def neighbour_values(self) -> pd.DataFrame:
        """The neighbours as a table: rank, la_code, la_name, value (NaN unless published),
        status."""
        import pandas as pd

        rows = self.neighbour_rows
        return pd.DataFrame({"rank": pd.Series([r.rank for r in rows], dtype="int64"),
                             "la_code": [r.la_code for r in rows],
                             "la_name": [r.la_name for r in rows],
                             "value": [r.value for r in rows],
                             "status": [r.status for r in rows]})

    @property
    def trend(self) -> pd.DataFrame:
        """The trend as a table: year, la, neighbour_mean, region, england (NaN unless
        published), and la_status, region_status, england_status."""
        import pandas as pd

        columns = ("year", "la", "neighbour_mean", "region", "england", *TREND_STATUS.values())
        frame = pd.DataFrame({c: [getattr(r, c) for r in self.trend_rows] for c in columns})
        return frame.astype({"year": "int64", "la": float, "neighbour_mean": float,
                             "region": float, "england": float})


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
        import pandas as pd

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


def published_values(frame: pd.DataFrame, status_of: Mapping[str, str]) -> pd.DataFrame:
    """`frame` with each value column shown as published ("c" where its status column says
    suppressed) and the status columns dropped."""
    import pandas as pd

    out = frame.copy()
    for column, status in status_of.items():
        if column in out.columns and status in out.columns:
            out[column] = pd.Series([shown(v, s) for v, s in zip(out[column], out[status],
                                                                  strict=True)],
                                    index=out.index, dtype=object)
    return out.drop(columns=[s for s in status_of.values() if s in out.columns])


def competition_rank(value: float | None, among: Sequence[float],
                     polarity: Polarity) -> int | None:
    """The rank of `value` among the published values `among` (itself included): 1 = best
    (lowest for neutral), ties share the better rank (1, 2, 2, 4); None for a missing value."""
    if value is None:
        return None
    if polarity == "high_is_better":
        return 1 + sum(1 for v in among if v > value)
    return 1 + sum(1 for v in among if v < value)


def quartile_band(rank: float | None, ranked: int) -> str | None:
    """LAIT-style band from the national rank: A is the best quarter (lowest values if neutral)."""
    if rank is None or math.isnan(rank) or ranked == 0:
        return None
    share = rank / ranked
    return "A" if share <= 0.25 else "B" if share <= 0.5 else "C" if share <= 0.75 else "D"


def benchmark_la(store: Store, la: str | LocalAuthority, year: int | None = None,
                 indicator_ids: list[str] | None = None, neighbours: str = "published",
                 neighbour_model: str | None = None) -> BenchmarkResult:
    """Benchmark one LA. `neighbours` is "published" (NFER model in the store) or "computed"."""
    from sf_benefits.benchmark.tables import indicator_tables

    catalogue = indicators()
    chosen = [catalogue[i] for i in (indicator_ids or list(catalogue))]
    return benchmark_from_tables(store, all_authorities(store), indicator_tables(store, chosen),
                                 la, year, neighbours, neighbour_model)


def benchmark_from_tables(store: Store | sqlite3.Connection, las: Sequence[LocalAuthority],
                          tables: Mapping[str, IndicatorTable], la: str | LocalAuthority,
                          year: int | None = None, neighbours: str = "published",
                          neighbour_model: str | None = None) -> BenchmarkResult:
    """The benchmark from indicator tables already built and the store's LAs already read, so
    many LAs can share one read; the store gives the neighbours and boundary changes (computed
    neighbours need `Store`, the others also take the embedded store's `sqlite3` connection)."""
    catalogue = indicators()
    target = la if isinstance(la, LocalAuthority) else la_in(las, la)
    notes: list[str] = []
    if neighbours == "computed":
        if isinstance(store, sqlite3.Connection):
            raise TypeError("computed neighbours read the observations: pass a Store")
        from sf_benefits.benchmark.neighbours import computed_neighbours

        model = "computed"
        codes = computed_neighbours(store, target.la_code, year=year).neighbour_codes
    else:
        model, codes = statistical_neighbours(store, target.la_code, neighbour_model)
        if not codes:
            notes.append(f"No published statistical neighbours for {target.la_name} in the store.")
    broken = series_break_in(boundary_change_rows(store), target.la_code)
    if broken:
        notes.append(f"{target.la_name}: {broken}.")
    by_code = {a.la_code: a for a in las}
    neighbour_las = [by_code[c] for c in codes if c in by_code]
    names = {a.la_code: a.la_name for a in las}
    results = [_benchmark_indicator(table, catalogue[ind_id], target, codes, names, year)
               for ind_id, table in tables.items()]
    notes += [f"{b.indicator.label}, {b.year}: {target.la_name} makes a joint return with another "
              "LA, so DfE publishes one figure for both." for b in results
              if (b.year, target.la_code) in tables[b.indicator.id].joint_returns]
    return BenchmarkResult(target, year, model, neighbour_las, results, notes)


LA_LEVEL = "Local authority"


def _mean(values: Sequence[float]) -> float | None:
    """Mean of the published values (missing ones left out), None where none is published."""
    published = [v for v in values if not math.isnan(v)]
    return statistics.fmean(published) if published else None


def _benchmark_indicator(table: IndicatorTable, indicator: Indicator, la: LocalAuthority,
                         neighbour_codes: list[str], names: dict[str, str],
                         year: int | None) -> IndicatorBenchmark:
    wide = table.la
    own = [row[0] for row in wide.columns([la.la_code])] if la.la_code in wide.areas else None
    if year is None:
        held = ({y for y, v in zip(wide.years, own, strict=True) if not math.isnan(v)}
                if own is not None else set())
        held |= {y for level, y, code in table.suppressed
                 if level == LA_LEVEL and code == la.la_code}
        year = max(held) if held else (max(wide.years) if wide.years else None)
    national = [v for v in wide.row(year) if not math.isnan(v)]
    la_value = wide.value(year, la.la_code)
    neighbour_table = wide.columns(neighbour_codes)
    at = wide.year_index(year) if year is not None else None
    neighbour_only = (neighbour_table[at] if at is not None
                      else tuple(math.nan for _ in neighbour_codes))
    published = [v for v in neighbour_only if not math.isnan(v)]
    group = published if la_value is None else [la_value, *published]
    mean = _mean(neighbour_only)
    median = statistics.median(published) if published else None
    national_rank = competition_rank(la_value, national, indicator.polarity)
    neighbour_rows = tuple(
        NeighbourValue(rank, code, names.get(code, code), number_or_none(value),
                       table.status(LA_LEVEL, year, code, value))
        for rank, (code, value) in enumerate(zip(neighbour_codes, neighbour_only, strict=True),
                                             start=1))
    region_value = table.region.value(year, la.region_code)
    england_value = table.england.value(year, table.england_code)
    return IndicatorBenchmark(
        indicator=indicator, year=year, la_value=la_value, neighbour_rows=neighbour_rows,
        neighbour_mean=mean, neighbour_median=median, region_value=region_value,
        england_value=england_value,
        rank_among_neighbours=competition_rank(la_value, group, indicator.polarity)
        if published else None,
        neighbours_ranked=len(group) if published else 0, national_rank=national_rank,
        las_ranked=len(national), quartile_band=quartile_band(national_rank, len(national)),
        gap_to_neighbour_mean=None if la_value is None or mean is None else la_value - mean,
        trend_rows=_trend(table, la, own, [_mean(row) for row in neighbour_table]),
        la_status=table.status(LA_LEVEL, year, la.la_code, la_value),
        region_status=table.status("Regional", year, la.region_code, region_value),
        england_status=table.status("National", year, table.england_code, england_value),
    )


def _trend(table: IndicatorTable, la: LocalAuthority, own: list[float] | None,
           neighbour_mean: list[float | None]) -> tuple[TrendYear, ...]:
    """Every year in which the LA, its neighbours' mean, its region or England has a figure."""
    wide = table.la
    rows = []
    for year in sorted(set(wide.years) | set(table.region.years) | set(table.england.years)):
        at = wide.year_index(year)
        la_value = number_or_none(own[at]) if own is not None and at is not None else None
        mean = neighbour_mean[at] if at is not None else None
        region = table.region.value(year, la.region_code)
        england = table.england.value(year, table.england_code)
        if la_value is None and mean is None and region is None and england is None:
            continue
        rows.append(TrendYear(
            year, la_value, mean, region, england,
            table.status(LA_LEVEL, year, la.la_code, la_value),
            table.status("Regional", year, la.region_code, region),
            table.status("National", year, table.england_code, england)))
    return tuple(rows)
