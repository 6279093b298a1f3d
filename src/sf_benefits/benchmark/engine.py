"""Benchmark an LA against its statistical neighbours, its region and England, indicator by
indicator: value, ranks, quartile band with polarity, gap to the neighbour mean, and the trend."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sf_benefits.benchmark.catalogue import Indicator, Polarity, Selector, indicators
from sf_benefits.store import Store
from sf_benefits.store.queries import (
    boundary_changes,
    continuous_series,
    local_authorities,
    observations,
    select_rows,
    series_break,
    statistical_neighbours,
)


@dataclass(frozen=True)
class LocalAuthority:
    """An upper-tier LA as the store knows it."""

    la_code: str
    old_la_code: str | None
    la_name: str
    region_code: str | None
    region_name: str | None


class UnknownLocalAuthority(LookupError):
    """The text matched no LA; the message suggests the closest names."""


@dataclass(frozen=True)
class IndicatorBenchmark:
    """One indicator for one LA in one year, against neighbours, region and England."""

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
        """Tidy tables: `summary` (one row per indicator), `neighbours` (long), `trend` (long)."""
        summary = pd.DataFrame([{
            "indicator_id": b.indicator.id, "indicator": b.indicator.label,
            "unit": b.indicator.unit, "polarity": b.indicator.polarity, "year": b.year,
            "la_value": b.la_value, "neighbour_mean": b.neighbour_mean,
            "neighbour_median": b.neighbour_median, "region_value": b.region_value,
            "england_value": b.england_value, "rank_among_neighbours": b.rank_among_neighbours,
            "neighbours_ranked": b.neighbours_ranked, "national_rank": b.national_rank,
            "las_ranked": b.las_ranked, "quartile_band": b.quartile_band,
            "gap_to_neighbour_mean": b.gap_to_neighbour_mean, "source": b.indicator.source,
        } for b in self.indicators])
        neighbours = pd.concat(
            [b.neighbour_values.assign(indicator_id=b.indicator.id, year=b.year)
             for b in self.indicators], ignore_index=True) if self.indicators else pd.DataFrame()
        trend = pd.concat([b.trend.assign(indicator_id=b.indicator.id) for b in self.indicators],
                          ignore_index=True) if self.indicators else pd.DataFrame()
        return {"summary": summary, "neighbours": neighbours, "trend": trend}


def resolve_la(store: Store, text: str) -> LocalAuthority:
    """An LA by name (any case), 3-digit code or GSS code; a near miss gets 'did you mean'."""
    las = local_authorities(store)
    if las.empty:
        raise UnknownLocalAuthority("the store holds no LAs yet: run `sf-benefits data load` first")
    wanted = text.strip()
    for column in ("la_code", "old_la_code"):
        hit = las[las[column].fillna("").str.upper() == wanted.upper()]
        if not hit.empty:
            return _la(hit.iloc[-1])
    hit = las[las["la_name"].str.casefold() == wanted.casefold()]
    if not hit.empty:
        return _la(hit.iloc[-1])
    names = list(las["la_name"])
    close = difflib.get_close_matches(wanted.casefold(), [n.casefold() for n in names], n=3,
                                      cutoff=0.6)
    suggestion = [n for n in names if n.casefold() in close]
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestion)}?" if suggestion else ""
    raise UnknownLocalAuthority(f"no local authority called {text!r}{hint}")


def _la(row: pd.Series) -> LocalAuthority:
    def text(value: object) -> str | None:
        return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(
            value)

    return LocalAuthority(str(row["la_code"]), text(row["old_la_code"]), str(row["la_name"]),
                          text(row["region_code"]), text(row["region_name"]))


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


def indicator_values(frame: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """year, geographic_level, area_code, value for one indicator (ratios computed per area-year)."""
    def pick(selector: Selector) -> pd.DataFrame:
        rows = select_rows(frame, list(selector.indicator), selector.where,
                           {k: list(v) for k, v in selector.any_of.items()})
        return rows[["year", "geographic_level", "area_code", "value"]]

    if indicator.value is not None:
        return pick(indicator.value)
    assert indicator.numerator is not None and indicator.denominator is not None
    keys = ["year", "geographic_level", "area_code"]
    merged = pick(indicator.numerator).merge(pick(indicator.denominator), on=keys,
                                             suffixes=("_num", "_den"))
    merged["value"] = merged["value_num"] / merged["value_den"].where(merged["value_den"] > 0)
    return merged[keys + ["value"]]


def _selectors(indicator: Indicator) -> list[str]:
    names: list[str] = []
    for selector in (indicator.value, indicator.numerator, indicator.denominator):
        if selector is not None:
            names.extend(selector.indicator)
    return names


def benchmark_la(store: Store, la: str | LocalAuthority, year: int | None = None,
                 indicator_ids: list[str] | None = None, neighbours: str = "published",
                 neighbour_model: str | None = None) -> BenchmarkResult:
    """Benchmark one LA. `neighbours` is "published" (NFER model in the store) or "computed"."""
    catalogue = indicators()
    chosen = [catalogue[i] for i in (indicator_ids or list(catalogue))]
    las = local_authorities(store)
    frame = observations(store, sorted({n for ind in chosen for n in _selectors(ind)}))
    frame = continuous_series(frame, boundary_changes(store))
    return benchmark_from_frame(store, las, frame, la, year, chosen, neighbours, neighbour_model)


def benchmark_from_frame(store: Store, las: pd.DataFrame, frame: pd.DataFrame,
                         la: str | LocalAuthority, year: int | None, chosen: list[Indicator],
                         neighbours: str = "published",
                         neighbour_model: str | None = None) -> BenchmarkResult:
    """The benchmark from observations already read, so many LAs can share one read."""
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
    by_code = {r.la_code: r for r in las.itertuples()}
    neighbour_las = [_la(pd.Series(by_code[c]._asdict())) for c in codes if c in by_code]
    results = [_benchmark_indicator(frame, ind, target, codes, las, year) for ind in chosen]
    return BenchmarkResult(target, year, model, neighbour_las, results, notes)


def _benchmark_indicator(frame: pd.DataFrame, indicator: Indicator, la: LocalAuthority,
                         neighbour_codes: list[str], las: pd.DataFrame,
                         year: int | None) -> IndicatorBenchmark:
    values = indicator_values(frame, indicator)
    la_level = values[values["geographic_level"] == "Local authority"]
    own_years = la_level.loc[(la_level["area_code"] == la.la_code) & la_level["value"].notna(),
                             "year"]
    if year is None:
        year = int(own_years.max()) if not own_years.empty else (
            int(la_level["year"].max()) if not la_level.empty else None)
    names = dict(zip(las["la_code"], las["la_name"], strict=True))
    this_year = la_level[la_level["year"] == year].set_index("area_code")["value"]
    national = competition_rank(this_year, indicator.polarity)
    ranked = int(this_year.notna().sum())
    group = this_year.reindex([la.la_code, *neighbour_codes])
    group_rank = competition_rank(group, indicator.polarity)
    neighbour_only = this_year.reindex(neighbour_codes)
    la_value = _num(this_year.get(la.la_code))
    mean = _num(neighbour_only.mean()) if neighbour_only.notna().any() else None
    median = _num(neighbour_only.median()) if neighbour_only.notna().any() else None
    region = _area_value(values, "Regional", la.region_code, year)
    england = _area_value(values, "National", None, year)
    national_rank = _int(national.get(la.la_code))
    neighbour_table = pd.DataFrame({
        "rank": range(1, len(neighbour_codes) + 1), "la_code": neighbour_codes,
        "la_name": [names.get(c, c) for c in neighbour_codes],
        "value": [_num(this_year.get(c)) for c in neighbour_codes],
    })
    trend = _trend(values, la, neighbour_codes)
    return IndicatorBenchmark(
        indicator=indicator, year=year, la_value=la_value, neighbour_values=neighbour_table,
        neighbour_mean=mean, neighbour_median=median, region_value=region, england_value=england,
        rank_among_neighbours=_int(group_rank.get(la.la_code)),
        neighbours_ranked=int(group.notna().sum()), national_rank=national_rank,
        las_ranked=ranked, quartile_band=quartile_band(national_rank, ranked),
        gap_to_neighbour_mean=None if la_value is None or mean is None else la_value - mean,
        trend=trend,
    )


def _trend(values: pd.DataFrame, la: LocalAuthority, neighbour_codes: list[str]) -> pd.DataFrame:
    la_level = values[values["geographic_level"] == "Local authority"]
    own = la_level[la_level["area_code"] == la.la_code].set_index("year")["value"]
    neighbour_mean = (la_level[la_level["area_code"].isin(neighbour_codes)]
                      .groupby("year")["value"].mean())
    region = values[(values["geographic_level"] == "Regional")
                    & (values["area_code"] == la.region_code)].set_index("year")["value"]
    england = values[values["geographic_level"] == "National"].groupby("year")["value"].first()
    trend = pd.DataFrame({"la": own, "neighbour_mean": neighbour_mean, "region": region,
                          "england": england})
    return trend.rename_axis("year").reset_index().sort_values("year")


def _area_value(values: pd.DataFrame, level: str, code: str | None, year: int | None) -> float | None:
    rows = values[(values["geographic_level"] == level) & (values["year"] == year)]
    if code is not None:
        rows = rows[rows["area_code"] == code]
    return _num(rows["value"].iloc[0]) if not rows.empty else None


def _num(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


def _int(value: object) -> int | None:
    number = _num(value)
    return None if number is None else int(number)
