"""The LA overview: the benchmark engine's result as charts, tables under them, and JSON."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import select

from sf_benefits.benchmark import BenchmarkResult, IndicatorBenchmark, indicators
from sf_benefits.benchmark.authorities import LocalAuthority, all_authorities
from sf_benefits.benchmark.engine import (
    MARKER_NOTE,
    SUPPRESSED_MEANING,
    TREND_STATUS,
    benchmark_from_tables,
    published_values,
    shown,
)
from sf_benefits.benchmark.indicator_table import IndicatorTable
from sf_benefits.benchmark.tables import indicator_tables
from sf_benefits.store import Store
from sf_benefits.store.queries import data_version
from sf_benefits.store.schema import local_authority
from sf_benefits.web.views import (
    PALETTE,
    Chart,
    Column,
    DataTable,
    chart_values,
    records,
    suppressed_marks,
)

_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str, str], BenchmarkResult] = OrderedDict()
_lock = threading.Lock()
T = TypeVar("T")
logger = logging.getLogger(__name__)


def _remember(cache: OrderedDict[tuple[str, str, str], T], store: Store, la_code: str,
              build: Callable[[Store, str], T]) -> T:
    """`build(store, la_code)`, kept in a small LRU cache until the published data change."""
    key = (str(store.engine.url), la_code, data_version(store))
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = build(store, la_code)
    with _lock:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


_tables: dict[tuple[str, str], tuple[list[LocalAuthority], dict[str, IndicatorTable]]] = {}
_tables_lock = threading.Lock()


def shared_tables(store: Store) -> tuple[list[LocalAuthority], dict[str, IndicatorTable]]:
    """Every LA and every indicator's national table, read once per data version and shared by
    all LAs' benchmarks (reading them is most of a benchmark's time; one LA's own part is
    quick). One request builds them; others arriving meanwhile wait for that build."""
    key = (str(store.engine.url), data_version(store))
    with _tables_lock:
        if key not in _tables:
            _tables.clear()
            _tables[key] = (all_authorities(store),
                            indicator_tables(store, list(indicators().values())))
        return _tables[key]


def _benchmark(store: Store, la_code: str) -> BenchmarkResult:
    las, tables = shared_tables(store)
    return benchmark_from_tables(store, las, tables, la_code)


def cached_benchmark(store: Store, la_code: str) -> BenchmarkResult:
    """The engine's benchmark for an LA, reused until the published data change."""
    return _remember(_cache, store, la_code, _benchmark)


def _kind(unit: str) -> str:
    return "money" if unit.upper().startswith("GBP") else "rate"


SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline(trend: Any, keys: tuple[str, ...] = ("la", "neighbour_mean")) -> dict[str, str]:
    """SVG polyline points for each series of a trend, on one shared scale (LA and neighbour
    mean), so the overview shows direction at a glance; a gap in the data is skipped."""
    years = [int(y) for y in trend["year"]] if len(trend) else []
    values = [v for key in keys if key in trend.columns for v in chart_values(list(trend[key]))
              if v is not None]
    if len(years) < 2 or not values:
        return {}
    low, high = min(values), max(values)
    span_y = (high - low) or 1.0
    first, span_x = years[0], (years[-1] - years[0]) or 1
    lines = {}
    for key in keys:
        if key not in trend.columns:
            continue
        points = [f"{(year - first) / span_x * (SPARK_WIDTH - 4) + 2:.1f},"
                  f"{SPARK_HEIGHT - 2 - (value - low) / span_y * (SPARK_HEIGHT - 4):.1f}"
                  for year, value in zip(years, chart_values(list(trend[key])), strict=True)
                  if value is not None]
        lines[key] = " ".join(points)
    lines["years"] = f"{years[0]} to {years[-1]}"
    return lines


def is_total_money(unit: str) -> bool:
    """A £ total for the whole area (not per child): England's total dwarfs any LA's, so it
    cannot share an axis with the LA and its neighbours."""
    text = unit.upper()
    return text.startswith("GBP") and "PER" not in text


@dataclass
class BenchmarkView:
    """What the overview page shows for one LA: a one-screen summary (value, neighbours,
    region, England, rank, band, a sparkline) and, a click away, each indicator's charts."""

    result: BenchmarkResult
    summary: DataTable
    sections: list[tuple[IndicatorBenchmark, list[Chart]]]

    def section(self, indicator_id: str) -> tuple[IndicatorBenchmark, list[Chart]] | None:
        """One indicator's detail: its benchmark and its charts, or None."""
        return next((s for s in self.sections if s[0].indicator.id == indicator_id), None)

    @cached_property
    def json(self) -> dict[str, Any]:
        """LA, neighbours, notes and the engine's tidy tables, JSON-safe (built once per view)."""
        frames = self.result.to_frames()
        la = self.result.la
        return {
            "la": {"la_code": la.la_code, "la_name": la.la_name, "region_name": la.region_name},
            "year": self.result.year,
            "neighbour_model": self.result.neighbour_model,
            "neighbours": [{"la_code": n.la_code, "la_name": n.la_name}
                           for n in self.result.neighbours],
            "notes": self.result.notes,
            "price_base": "Money indicators are in cash terms of each financial year.",
            "summary": records(frames["summary"]),
            "neighbour_values": records(frames["neighbours"]),
            "trend": records(frames["trend"]),
        }


_views: OrderedDict[tuple[str, str, str], BenchmarkView] = OrderedDict()


def benchmark_view(store: Store, la_code: str) -> BenchmarkView:
    """The overview of an LA, built once per data version and reused (pages and API)."""
    return _remember(_views, store, la_code, build_benchmark_view)


def build_benchmark_view(store: Store, la_code: str) -> BenchmarkView:
    """Summary table of every indicator, then a neighbour chart and a trend chart for each."""
    result = cached_benchmark(store, la_code)
    summary_rows = []
    sections = []
    for item in result.indicators:
        kind = _kind(item.indicator.unit)
        summary_rows.append({
            "indicator": item.indicator.label, "unit": item.indicator.unit, "year": item.year,
            "la_value": shown(item.la_value, item.la_status),
            "neighbour_mean": item.neighbour_mean,
            "region_value": shown(item.region_value, item.region_status),
            "england_value": shown(item.england_value, item.england_status),
            "rank": (f"{item.rank_among_neighbours} of {item.neighbours_ranked}"
                     if item.rank_among_neighbours is not None else None),
            "quartile_band": item.quartile_band, "_kind": kind,
            "_id": item.indicator.id, "_spark": sparkline(item.trend),
            "_detail": has_detail(item),
        })
        if has_detail(item):
            sections.append((item, [_neighbour_chart(result, item, kind),
                                    _trend_chart(result, item, kind)]))
    summary = DataTable(
        caption=f"{result.la.la_name} against its statistical neighbours"
                + (f", {result.year}" if result.year else ""),
        columns=[Column("indicator", "Indicator"),
                 Column("year", "Year"), Column("la_value", result.la.la_name, "value"),
                 Column("neighbour_mean", "Neighbour mean", "value"),
                 Column("region_value", result.la.region_name or "Region", "value"),
                 Column("england_value", "England", "value"),
                 Column("rank", "Rank in neighbours*"),
                 Column("quartile_band", "Band*")],
        rows=summary_rows)
    return BenchmarkView(result, summary, sections)


def has_detail(item: IndicatorBenchmark) -> bool:
    """True when the LA has a figure, published or suppressed, so its charts say something."""
    return item.la_value is not None or item.la_status == "suppressed"


def _neighbour_chart(result: BenchmarkResult, item: IndicatorBenchmark, kind: str) -> Chart:
    neighbours = published_values(item.neighbour_values, {"value": "status"})
    rows = [{"la_name": result.la.la_name, "value": shown(item.la_value, item.la_status),
             "_highlight": True}]
    rows += [{"la_name": r["la_name"], "value": r["value"]} for r in neighbours.to_dict("records")]
    rows.sort(key=lambda r: (not isinstance(r["value"], float), r["value"]
                             if isinstance(r["value"], float) else 0))
    colours = [PALETTE["la"] if r.get("_highlight") else "#b1b4b6" for r in rows]
    shapes = []
    references = [(item.neighbour_mean, PALETTE["neighbours"], "Neighbour mean")]
    if not is_total_money(item.indicator.unit):
        references.append((item.england_value, PALETTE["england"], "England"))
    for value, colour, label in references:
        if value is not None:
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": value, "x1": value,
                           "y0": 0, "y1": 1, "line": {"color": colour, "dash": "dash",
                                                      "width": 2}, "name": label})
    names, values = [r["la_name"] for r in rows], [r["value"] for r in rows]
    figure = {
        "data": [{"type": "bar", "orientation": "h", "x": chart_values(values), "y": names,
                  "marker": {"color": colours},
                  "hovertemplate": "%{y}: %{x:,.1f}<extra></extra>", "name": item.indicator.unit},
                 *suppressed_marks(names, values, "Value", SUPPRESSED_MEANING, horizontal=True)],
        "layout": {"shapes": shapes, "xaxis": {"title": {"text": item.indicator.unit}},
                   "yaxis": {"automargin": True}, "hovermode": "closest", "showlegend": False,
                   "height": 380, "margin": {"l": 20, "b": 60}},
    }
    if item.neighbour_mean is not None:
        rows.append({"la_name": "Neighbour mean", "value": item.neighbour_mean})
    if item.england_value is not None:
        rows.append({"la_name": "England", "value": item.england_value})
    table = DataTable(
        caption=f"{item.indicator.label}, {item.year}: {result.la.la_name} and its neighbours",
        columns=[Column("la_name", "Local authority"),
                 Column("value", item.indicator.unit, kind)],
        rows=rows)
    note = ("Dashed line: neighbour mean. England's total is in the table below: on this "
            "axis it would squash every LA to zero." if is_total_money(item.indicator.unit)
            else "Dashed lines: neighbour mean (orange) and England (grey).") + " " + MARKER_NOTE
    return Chart(id=f"nb-{item.indicator.id}", title=f"{item.indicator.label}, {item.year}",
                 figure=figure, table=table, note=note)


def _trend_chart(result: BenchmarkResult, item: IndicatorBenchmark, kind: str) -> Chart:
    trend = published_values(item.trend, TREND_STATUS)
    series = [("la", result.la.la_name), ("neighbour_mean", "Neighbour mean"),
              ("region", result.la.region_name or "Region"), ("england", "England")]
    colours = {"la": PALETTE["la"], "neighbour_mean": PALETTE["neighbours"],
               "region": PALETTE["region"], "england": PALETTE["england"]}
    years = [int(y) for y in trend["year"]]
    charted = [(k, label) for k, label in series
               if k in ("la", "neighbour_mean") or not is_total_money(item.indicator.unit)]
    data = [{"type": "scatter", "mode": "lines+markers", "name": label, "x": years,
             "y": chart_values(list(trend[key])), "line": {"color": colours[key],
                                                           "width": 3 if key == "la" else 2}}
            for key, label in charted if key in trend.columns]
    data += [mark for key, label in charted if key in trend.columns
             for mark in suppressed_marks(years, list(trend[key]), label, SUPPRESSED_MEANING)]
    figure = {"data": data, "layout": {"xaxis": {"title": {"text": "Year (to 31 March)"},
                                                 "dtick": 1},
                                       "yaxis": {"title": {"text": item.indicator.unit}},
                                       "height": 340}}
    table = DataTable(
        caption=f"{item.indicator.label}: trend ({item.indicator.unit})",
        columns=[Column("year", "Year")] + [Column(key, label, kind) for key, label in series],
        rows=records(trend))
    note = f"Source: {item.indicator.source}. {MARKER_NOTE}"
    if is_total_money(item.indicator.unit):
        note += (" Region and England totals are in the table only: on the same axis they "
                 "would flatten the LA and its neighbours to zero.")
    return Chart(id=f"tr-{item.indicator.id}", title=f"{item.indicator.label}: trend",
                 figure=figure, table=table, note=note)


def warm_benchmarks(store: Store, stop: threading.Event, pause_seconds: float = 0.05,
                    status: dict[str, int] | None = None) -> int:
    """Build every LA's overview once, one LA at a time, so first visits find it ready; stops
    early when `stop` is set. `status` (if given) shows progress as prepared/total. Returns how
    many LAs were built."""
    with store.engine.connect() as conn:
        codes = [str(c) for c in conn.execute(select(local_authority.c.la_code)).scalars()]
    status = status if status is not None else {}
    status.update(prepared=0, total=len(codes))
    built = 0
    for la_code in codes:
        if stop.wait(pause_seconds):
            break
        try:
            benchmark_view(store, la_code)
        except Exception:  # an LA the engine cannot benchmark is shown its error on request
            logger.exception("could not prepare the benchmark of %s", la_code)
        else:
            built += 1
        status["prepared"] += 1
    return built
