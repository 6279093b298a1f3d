"""Turn the engines' results into a `ReportDocument`: choose, label and arrange their figures,
and apply small-number suppression to every count of children. Nothing here recomputes a
figure: every number shown is a value the benchmark, projection or tracking engine returned.

Suppression policy: observed and projected counts are suppressed alike, with the totals each
table publishes declared so secondary suppression protects them. Differences between two
projections (children kept out of care, starts averted) are suppressed when 1 to 5 but can be
approximated from the baseline and scenario totals in another table; they are model estimates,
not records of children, so this reveals nothing about a real child.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, cast

import pandas as pd

from sf_benefits.benchmark import BenchmarkResult, IndicatorBenchmark
from sf_benefits.benchmark.engine import TREND_STATUS
from sf_benefits.benchmark.indicator_table import ValueStatus
from sf_benefits.disclosure import (
    SUPPRESSED,
    RowTotal,
    suppress_count,
    suppress_counts,
    suppress_realised,
)
from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENT_LABELS, PLACEMENTS
from sf_benefits.project.method_words import method_technical, method_words
from sf_benefits.project.result import ProjectionResult
from sf_benefits.reports.document import (
    Chart,
    Column,
    ColumnKind,
    KeyFigure,
    ReportDocument,
    Section,
    Table,
)
from sf_benefits.reports.formatting import (
    NOT_AVAILABLE,
    format_value,
    money_in_words,
    price_base_note,
)
from sf_benefits.track.realised import RealisedBenefit

HEADLINE_INDICATOR = "cla_rate_per_10k"

SERIES_LABELS = {
    "baseline": "Without the innovation (baseline)",
    "scenario": "With the innovation (scenario)",
    "averted_starts": "Starts in care averted in the year",
    "kept_out_of_care": "Children kept out of care at 31 March",
    "baseline_starts": "Starts in care, baseline",
    "scenario_starts": "Starts in care, scenario",
}

OBSERVED_LABELS = {
    "cla_31_march": "Children looked after at 31 March",
    "starts": "Children starting to be looked after",
    "ceases": "Children ceasing to be looked after",
}

MONEY_LABELS = {
    "baseline_cost": "Cost of care, baseline",
    "scenario_cost": "Cost of care, scenario",
    "gross_savings": "Gross savings",
    "benefits_after_adjustments": "Savings net of deadweight and optimism bias",
    "implementation_cost": "Implementation cost",
    "running_cost": "Running cost",
    "total_cost": "Total cost of the innovation",
    "net_savings": "Net savings",
    "cumulative_net_savings": "Cumulative net savings",
    "discounted_net_savings": "Discounted net savings",
    "cumulative_discounted_net_savings": "Cumulative discounted net savings",
}

CHART_MONEY_MEASURES = ("gross_savings", "total_cost", "net_savings", "cumulative_net_savings")

APPRAISAL_LABELS = {
    "net_present_value": "Net present value (NPV)",
    "present_value_benefits": "Present value of benefits",
    "present_value_costs": "Present value of costs",
    "return_on_investment": "Return on investment (ROI)",
    "probability_net_present_value_positive": "Chance the NPV is above zero",
    "probability_of_payback": "Chance of paying back within the horizon",
}

CASH_NOTE = "£ figures are cash (outturn) prices of the year shown."

STANDARD_CAVEATS = (
    "Counts of children from 1 to 5 are shown as 'c' and, where a published total would "
    "reveal one, the next smallest count is also shown as 'c' (DfE practice). A published "
    "benchmark figure the DfE withheld (to protect confidentiality, or as too small to show) "
    f"is also 'c'; '{NOT_AVAILABLE}' marks a figure that is not available. Money, rates and "
    "percentages the tool computes are not suppressed.",
    "Projections are not forecasts of what will happen: they show what the stated assumptions "
    "imply. P10, P50 and P90 are the 10th, 50th (central) and 90th percentiles of the Monte "
    "Carlo draws, so eight in ten draws lie between P10 and P90.",
    "Money is in real terms at the stated price base, discounted as the HM Treasury Green Book "
    "sets out. Benefits are cashable only where the LA removes the cost (for example a "
    "placement that is not made); they are not cash in the bank.",
    "Published benchmark figures are DfE statistics for the year shown; spending figures are "
    "cash (outturn) prices of that financial year and are not adjusted to the price base.",
    "Each assumption carries its source and a confidence grade (A strongest to D weakest; X not "
    "found). Figures resting on grade C or D evidence should be tested locally before they go "
    "into a budget.",
)


class TrackingFrames(Protocol):
    """What the report needs from any further tracking result (e.g. the counterfactual effect
    estimates): its tidy tables."""

    def to_frames(self) -> Mapping[str, pd.DataFrame]: ...


@dataclass(frozen=True)
class ReportInput:
    """Everything one report draws on: the engines' results for one LA and one model, and,
    where the LA has implemented the model, its realised benefit and effect estimates."""

    benchmark: BenchmarkResult
    projection: ProjectionResult
    tracking: RealisedBenefit | None = None
    effects: TrackingFrames | None = None
    generated_on: date = field(default_factory=date.today)
    headline_indicator: str = HEADLINE_INDICATOR
    scenario: str | None = None
    """The saved scenario's name (web) or a description of the run (command line)."""


def build_document(report: ReportInput) -> ReportDocument:
    """The report's sections, tables and charts for `report`, counts already suppressed."""
    bench, proj = report.benchmark, report.projection
    headline = _headline(bench, report.headline_indicator)
    sections = [
        _benchmark_section(bench, headline),
        _projection_section(proj),
        _money_section(proj),
        _uncertainty_section(proj),
        _sensitivity_section(proj),
        _assumptions_section(proj),
    ]
    if report.tracking is not None or report.effects is not None:
        sections.append(_tracking_section(report.tracking, report.effects))
    caveats = (*STANDARD_CAVEATS, *bench.notes, *proj.notes,
               *(f"Not included in the money: {item}." for item in proj.excluded))
    sources = sorted({b.indicator.source for b in bench.indicators}
                     | {str(s) for s in proj.assumptions.get("source", pd.Series(dtype=str))
                        if isinstance(s, str) and s})
    return ReportDocument(
        title=f"{proj.model_title}: benefits for {bench.la.la_name}",
        la_name=bench.la.la_name,
        la_code=bench.la.la_code,
        model_name=proj.model_title,
        price_base_year=proj.price_base_year,
        generated_on=report.generated_on,
        summary=_summary(bench, proj, headline) + _tracking_summary(report.tracking),
        key_figures=_key_figures(proj, headline),
        sections=tuple(sections),
        caveats=caveats,
        sources=tuple(sources),
        scenario=report.scenario or _run_description(proj),
    )


def _run_description(proj: ProjectionResult) -> str:
    """How a run without a saved scenario is named: its draws, seed and overrides."""
    overridden = int((proj.assumptions.get("status", pd.Series(dtype=str)) == "override").sum())
    return (f"command-line run ({proj.n_draws:,} draws, seed {proj.seed}, "
            f"{overridden} assumption(s) overridden)")


def readable_vintage(text: str) -> str:
    """A data vintage without fractions of a second or time zone ("… loaded 2024-06-01 09:30")."""
    return re.sub(r"(\d{2}:\d{2})(:\d{2})?(\.\d+)?([+-]\d{2}:?\d{2}|Z)?", r"\1", text)


def unit_kind(unit: str | None) -> ColumnKind:
    """How a value with this unit is shown (from the benchmark or assumption unit text)."""
    text = (unit or "").strip().lower()
    if text.startswith("gbp") or text.startswith("£"):
        return "money"
    if text in {"%", "percent", "percentage"}:
        return "percent"
    if text in {"ratio", "probability"} or text.startswith(("proportion", "share", "per year")):
        return "fraction"
    if text.startswith("per 10,000") or text.startswith("per 10000"):
        return "rate"
    if is_count_unit(text):
        return "count"
    return "number"


def is_count_unit(unit: str | None) -> bool:
    """True when the unit says the figure is a number of children (so it must be suppressed)."""
    text = (unit or "").strip().lower()
    if "per " in text or "%" in text or text.startswith("gbp") or "rate" in text:
        return False
    return text in {"count", "number", "children"} or text.startswith("children")


def _headline(bench: BenchmarkResult, indicator_id: str) -> IndicatorBenchmark | None:
    for item in bench.indicators:
        if item.indicator.id == indicator_id:
            return item
    return bench.indicators[0] if bench.indicators else None


def _shown(value: float | None, unit: str,
           status: ValueStatus = "published") -> float | int | str | None:
    """A benchmark value as exported: "c" where the publisher suppressed it, counts of children
    from 1 to 5 suppressed too, others unchanged."""
    if status == "suppressed":
        return SUPPRESSED
    return suppress_count(value) if is_count_unit(unit) else value


def _count_words(value: object) -> str:
    count = suppress_count(value)
    if count == SUPPRESSED:
        return "fewer than 6"
    return format_value(count, "count")


def _p50(frame: pd.DataFrame, series: str, year: int) -> float | None:
    rows = frame[(frame["series"] == series) & (frame["placement"] == ALL_PLACEMENTS)
                 & (frame["year"] == year)]
    return None if rows.empty else float(rows["p50"].iloc[0])


def _summary(bench: BenchmarkResult, proj: ProjectionResult,
             headline: IndicatorBenchmark | None) -> tuple[str, ...]:
    la = bench.la.la_name
    words: list[str] = []
    if headline is not None and headline.la_status == "suppressed":
        words.append(f"In {headline.year}, {la}'s figure for '{headline.indicator.label}' was "
                     f"withheld by the DfE ({SUPPRESSED}), so it is not compared or ranked.")
    elif headline is not None and headline.la_value is not None:
        unit = headline.indicator.unit
        kind = unit_kind(unit)
        sentence = (f"In {headline.year}, {la}'s figure for "
                    f"'{headline.indicator.label}' was "
                    f"{format_value(_shown(headline.la_value, unit), kind)}")
        if headline.neighbour_mean is not None:
            sentence += (f", against a mean of "
                         f"{format_value(_shown(headline.neighbour_mean, unit), kind)} "
                         f"across its {len(bench.neighbours)} statistical neighbours")
        if headline.england_value is not None:
            sentence += (f" and {format_value(_shown(headline.england_value, unit), kind)} "
                         "in England")
        sentence += "."
        if headline.rank_among_neighbours is not None:
            sentence += (f" It ranks {headline.rank_among_neighbours} of "
                         f"{headline.neighbours_ranked} among itself and its neighbours")
            if headline.quartile_band is not None:
                sentence += f", in quartile band {headline.quartile_band} nationally"
            sentence += " (rank 1 and band A are the lowest values)." if (
                headline.indicator.polarity == "neutral") else " (rank 1 and band A are best)."
        words.append(sentence)
    counts = proj.counts
    if not counts.empty:
        last = int(counts["year"].max())
        baseline, scenario = _p50(counts, "baseline", last), _p50(counts, "scenario", last)
        if baseline is not None and scenario is not None:
            words.append(
                f"Without {proj.model_title}, the central projection (P50) is "
                f"{_count_words(baseline)} children looked after at 31 March {last}; with it, "
                f"{_count_words(scenario)}."
            )
    npv = proj.net_present_value
    note = price_base_note(proj.price_base_year)
    words.append(
        f"Over {proj.horizon} years from {proj.financial_years[0]}, the net present value (NPV) "
        f"of adopting {proj.model_title} is {money_in_words(npv.p50)} ({note}), with eight in "
        f"ten draws between {money_in_words(npv.p10)} and {money_in_words(npv.p90)}. "
        f"The chance that it is above zero is "
        f"{format_value(proj.probability_net_present_value_positive, 'fraction')}."
    )
    if proj.payback_year is not None:
        words.append(
            f"In the central case the investment pays back in {proj.payback_year} (chance of "
            f"paying back within the horizon: "
            f"{format_value(proj.probability_of_payback, 'fraction')})."
        )
    else:
        words.append(
            "In the central case the investment does not pay back within the horizon (chance "
            f"of paying back: {format_value(proj.probability_of_payback, 'fraction')})."
        )
    return tuple(words)


def _tracking_summary(realised: RealisedBenefit | None) -> tuple[str, ...]:
    if realised is None:
        return ()
    if not realised.has_periods:
        return (f"The innovation went live on {realised.go_live_date.isoformat()}; no actuals "
                "after go-live have been compared with the locked baseline yet.",)
    latest = suppress_realised(realised.periods).iloc[-1]
    note = price_base_note(realised.price_base_year)
    saving = latest["cumulative_saving_gbp"]
    realised_words = (f"withheld ({SUPPRESSED}: a count of children from 1 to 5 could be "
                      "worked out from it)" if saving == SUPPRESSED
                      else money_in_words(float(saving)))
    return (
        f"Since go-live on {realised.go_live_date.isoformat()}, realised savings to "
        f"{latest['period']} are {realised_words} ({note}) against "
        f"{money_in_words(float(latest['cumulative_expected_saving_gbp']))} expected in the "
        f"business case: {realised.status}.",
    )


def _key_figures(proj: ProjectionResult,
                 headline: IndicatorBenchmark | None) -> tuple[KeyFigure, ...]:
    note = price_base_note(proj.price_base_year)
    npv, roi = proj.net_present_value, proj.return_on_investment
    figures = [
        KeyFigure("Net present value (NPV), P50", npv.p50, "money",
                  f"{note}; P10 {format_value(npv.p10, 'money')} to P90 "
                  f"{format_value(npv.p90, 'money')}; discounted at "
                  f"{format_value(proj.discount_rate, 'fraction')} a year."
                  + (f" Rests on grade-D assumptions: {', '.join(proj.grade_d_drivers)}."
                     if proj.grade_d_drivers else "")),
        KeyFigure("Present value of benefits, P50", proj.present_value_benefits.p50, "money", note),
        KeyFigure("Present value of costs, P50", proj.present_value_costs.p50, "money", note),
        KeyFigure("Return on investment (ROI), P50", roi.p50, "fraction",
                  "Net benefit per £1 of cost, as a percentage (benefits less costs, over costs)."),
        KeyFigure("Payback year (central case)", proj.payback_year or "not within the horizon",
                  "text", "First financial year from which cumulative net benefit stays above 0."),
        KeyFigure("Chance the NPV is above zero", proj.probability_net_present_value_positive,
                  "fraction", f"Share of {proj.n_draws:,} Monte Carlo draws (seed {proj.seed})."),
        KeyFigure("Price base year", proj.price_base_year, "text",
                  "Every £ figure is in real terms at this financial year's prices."),
    ]
    if headline is not None:
        unit = headline.indicator.unit
        kind = unit_kind(unit)
        england = _shown(headline.england_value, unit, headline.england_status)
        figures.insert(0, KeyFigure(
            f"{headline.indicator.label} ({headline.year})",
            _shown(headline.la_value, unit, headline.la_status), kind,
            f"Neighbour mean {format_value(_shown(headline.neighbour_mean, unit), kind)}; "
            f"England {format_value(england, kind)}; {unit}."))
    return tuple(figures)


def _benchmark_section(bench: BenchmarkResult,
                       headline: IndicatorBenchmark | None) -> Section:
    names = ", ".join(n.la_name for n in bench.neighbours) or "none in the store"
    paragraphs = [
        f"Statistical neighbours ({bench.neighbour_model}): {names}.",
        "Rank 1 is the best value where a lower or higher value is better, and the lowest "
        "value where neither is; quartile bands A (first quarter) to D use the national rank.",
    ]
    rows = []
    kinds: list[ColumnKind] = []
    for item in bench.indicators:
        unit = item.indicator.unit
        la_value = _shown(item.la_value, unit, item.la_status)
        mean = _shown(item.neighbour_mean, unit)
        rows.append({
            "indicator": item.indicator.label, "unit": unit, "year": item.year,
            "la_value": la_value, "neighbour_mean": mean,
            "neighbour_median": _shown(item.neighbour_median, unit),
            "region_value": _shown(item.region_value, unit, item.region_status),
            "england_value": _shown(item.england_value, unit, item.england_status),
            "rank": (f"{item.rank_among_neighbours} of {item.neighbours_ranked}"
                     if item.rank_among_neighbours is not None else None),
            "national_rank": (f"{item.national_rank} of {item.las_ranked}"
                              if item.national_rank is not None else None),
            "quartile_band": item.quartile_band,
            "gap": (SUPPRESSED if SUPPRESSED in (la_value, mean)
                    else item.gap_to_neighbour_mean),
            "source": item.indicator.source,
        })
        kinds.append(unit_kind(unit))
    columns = (
        Column("indicator", "Indicator", "text"), Column("unit", "Unit", "text"),
        Column("year", "Year", "year"), Column("la_value", bench.la.la_name, "by_row"),
        Column("neighbour_mean", "Neighbour mean", "by_row"),
        Column("neighbour_median", "Neighbour median", "by_row"),
        Column("region_value", bench.la.region_name or "Region", "by_row"),
        Column("england_value", "England", "by_row"),
        Column("rank", "Rank among neighbours", "text"),
        Column("national_rank", "National rank", "text"),
        Column("quartile_band", "Quartile band", "text"),
        Column("gap", "Gap to neighbour mean", "by_row"), Column("source", "Source", "text"),
    )
    frame = pd.DataFrame(rows, columns=[c.key for c in columns])
    blocks: list[Table | Chart] = [Table(
        "benchmark_indicators", "Indicators against statistical neighbours, region and England",
        frame, columns, note=CASH_NOTE,
        row_kinds=tuple(kinds))]
    if headline is not None:
        blocks.extend(_headline_charts(bench, headline))
    return Section("benchmark", "Benchmark against statistical neighbours", tuple(paragraphs),
                   tuple(blocks))


def _headline_charts(bench: BenchmarkResult, headline: IndicatorBenchmark) -> list[Chart]:
    unit = headline.indicator.unit
    kind = unit_kind(unit)
    la = bench.la.la_name
    source = f"Source: {headline.indicator.source}."
    if kind == "money":
        source += " " + CASH_NOTE
    neighbours = headline.neighbour_values
    areas = [la, *neighbours["la_name"].astype(str).tolist(), "Neighbour mean",
             bench.la.region_name or "Region", "England"]
    values = [headline.la_value, *neighbours["value"].tolist(), headline.neighbour_mean,
              headline.region_value, headline.england_value]
    statuses: list[ValueStatus] = [
        headline.la_status, *neighbours["status"].tolist(), "published",
        headline.region_status, headline.england_status]
    comparison = pd.DataFrame({"area": areas, "value": [
        _shown(v, unit, s) for v, s in zip(values, statuses, strict=True)]})
    label = f"{headline.indicator.label} ({headline.year})"
    bar = Chart(
        "benchmark_headline", label, "bar",
        Table("benchmark_headline_data", label, comparison,
              (Column("area", "Area", "text"), Column("value", unit, kind)),
              note=source),
        x="area", series=("value",), y_label=unit, horizontal=True, highlight=la,
        muted=tuple(areas[-3:]))
    trend = headline.trend.copy()
    for column in ("la", "neighbour_mean", "region", "england"):
        if column not in trend.columns:
            trend[column] = None
        status_column = TREND_STATUS.get(column, "")
        status = (trend[status_column].tolist() if status_column in trend.columns
                  else ["published"] * len(trend))
        trend[column] = pd.Series([_shown(v, unit, s) for v, s in
                                   zip(trend[column].tolist(), status, strict=True)],
                                  index=trend.index, dtype=object)
    trend_columns = (
        Column("year", "Year", "year"), Column("la", la, kind),
        Column("neighbour_mean", "Neighbour mean", kind),
        Column("region", bench.la.region_name or "Region", kind),
        Column("england", "England", kind),
    )
    title = f"{headline.indicator.label}: trend"
    line = Chart(
        "benchmark_trend", title, "line",
        Table("benchmark_trend_data", title, trend[[c.key for c in trend_columns]],
              trend_columns, note=source),
        x="year", series=("la", "neighbour_mean", "region", "england"), y_label=unit)
    return [bar, line]


def _placement_label(code: object) -> str:
    if code == ALL_PLACEMENTS:
        return "All placements"
    return PLACEMENT_LABELS.get(str(code), str(code))


def _projection_section(proj: ProjectionResult) -> Section:
    counts = proj.counts
    order = {p: i for i, p in enumerate((*PLACEMENTS, ALL_PLACEMENTS))}
    paths = counts[counts["series"].isin(["baseline", "scenario"])]
    wide = paths.pivot(index=["year", "placement"], columns="series", values=["p10", "p50", "p90"])
    pairs = cast("Iterable[tuple[str, str]]", wide.columns)
    wide.columns = [f"{series}_{stat}" for stat, series in pairs]
    wide = wide.reset_index()
    wide = wide.assign(_order=wide["placement"].map(order).fillna(len(order)))
    wide = wide.sort_values(["year", "_order"]).drop(columns="_order").reset_index(drop=True)
    count_columns = [f"{s}_{p}" for s in ("baseline", "scenario") for p in ("p10", "p50", "p90")]
    for column in count_columns:
        if column not in wide.columns:
            wide[column] = None
    shown = suppress_counts(wide, count_columns,
                            row_totals=[RowTotal("placement", ALL_PLACEMENTS, ("year",))])
    shown["placement"] = shown["placement"].map(_placement_label)
    columns = (
        Column("year", "Year (31 March)", "year"), Column("placement", "Placement", "text"),
        Column("baseline_p10", "Baseline P10", "count"),
        Column("baseline_p50", "Baseline P50", "count"),
        Column("baseline_p90", "Baseline P90", "count"),
        Column("scenario_p10", "Scenario P10", "count"),
        Column("scenario_p50", "Scenario P50", "count"),
        Column("scenario_p90", "Scenario P90", "count"),
    )
    by_placement = Table("projection_by_placement",
                         "Children looked after at 31 March, by year and placement type",
                         shown, columns)
    totals = shown[shown["placement"] == "All placements"].reset_index(drop=True)
    fan = Chart(
        "projection_fan", "Children looked after at 31 March: baseline and scenario", "fan",
        Table("projection_fan_data", "Children looked after at 31 March, all placements",
              totals, columns[:1] + columns[2:]),
        x="year", series=("baseline_p50", "scenario_p50"), y_label="Children looked after",
        bands=(("baseline_p10", "baseline_p90"), ("scenario_p10", "scenario_p90")))
    blocks: list[Table | Chart] = [fan, by_placement]

    effects = counts[counts["series"].isin(
        ["averted_starts", "kept_out_of_care", "baseline_starts", "scenario_starts"])
        & (counts["placement"] == ALL_PLACEMENTS)].reset_index(drop=True)
    if not effects.empty:
        effect_shown = suppress_counts(effects, ["p10", "p50", "p90"])
        effect_shown["series"] = effect_shown["series"].map(lambda s: SERIES_LABELS.get(s, s))
        blocks.append(Table(
            "projection_effects", "Starts in care and children kept out of care", effect_shown,
            (Column("year", "Year (31 March)", "year"), Column("series", "Measure", "text"),
             Column("p10", "P10", "count"), Column("p50", "P50", "count"),
             Column("p90", "P90", "count"))))
    observed = proj.observed
    if not observed.empty:
        history = observed[observed["measure"].isin(list(OBSERVED_LABELS))].copy()
        history = history.assign(_order=history["placement"].map(order).fillna(len(order)))
        history = history.sort_values(["measure", "year", "_order"]).drop(columns="_order")
        history = history.reset_index(drop=True)
        history_shown = suppress_counts(
            history, ["value"],
            row_totals=[RowTotal("placement", ALL_PLACEMENTS, ("measure", "year"))])
        history_shown["measure"] = history_shown["measure"].map(OBSERVED_LABELS)
        history_shown["placement"] = history_shown["placement"].map(_placement_label)
        blocks.append(Table(
            "projection_history", "The LA's history the projection was fitted to",
            history_shown,
            (Column("year", "Year (31 March)", "year"), Column("measure", "Measure", "text"),
             Column("placement", "Placement", "text"), Column("value", "Children", "count"))))
    paragraphs = (
        f"Demand forecast: {method_words(proj.method)}*; {proj.n_draws:,} Monte Carlo "
        f"draws (seed {proj.seed}); {proj.horizon} years from {proj.financial_years[0]}.",
        "Baseline: demand for care without the innovation. Scenario: the same demand with the "
        "innovation's effects applied as its assumptions state.",
        f"* Statistical method: {method_technical(proj.method)}.",
    )
    return Section("projections", "Projections: baseline and scenario", paragraphs,
                   tuple(blocks))


def _measure_label(measure: str) -> str:
    label = MONEY_LABELS.get(measure) or APPRAISAL_LABELS.get(measure)
    return label or measure.replace("_", " ").capitalize()


def _money_section(proj: ProjectionResult) -> Section:
    note = price_base_note(proj.price_base_year)
    money = proj.money.copy()
    money["measure"] = money["measure"].map(_measure_label)
    by_year = Table(
        "money_by_year", "Gross and net savings and costs by financial year", money,
        (Column("financial_year", "Financial year", "text"),
         Column("measure", "Measure", "text"), Column("p10", "P10", "money"),
         Column("p50", "P50", "money"), Column("p90", "P90", "money"),
         Column("mean", "Mean", "money")),
        note=f"{note}; undiscounted.")
    appraisal = pd.DataFrame([
        {"measure": "Net present value (NPV), P50", "value": proj.net_present_value.p50},
        {"measure": "Present value of benefits, P50", "value": proj.present_value_benefits.p50},
        {"measure": "Present value of costs, P50", "value": proj.present_value_costs.p50},
        {"measure": "Return on investment (ROI), P50", "value": proj.return_on_investment.p50},
        {"measure": "Payback year (central case)",
         "value": proj.payback_year or "not within the horizon"},
        {"measure": "Chance of paying back within the horizon",
         "value": proj.probability_of_payback},
        {"measure": "Discount rate (real, a year)", "value": proj.discount_rate},
        {"measure": "Price base", "value": proj.price_base_year},
    ])
    appraisal_table = Table(
        "money_appraisal", "Appraisal (Green Book)", appraisal,
        (Column("measure", "Measure", "text"), Column("value", "Value", "by_row")),
        note=f"{note}; discounted to {proj.financial_years[0]}.",
        row_kinds=("money", "money", "money", "fraction", "text", "fraction", "fraction", "text"))
    blocks: list[Table | Chart] = [appraisal_table, by_year]
    p50 = proj.money.pivot(index="financial_year", columns="measure", values="p50")
    p50 = p50.reindex([fy for fy in proj.financial_years if fy in p50.index]).reset_index()
    p50.columns.name = None
    present = proj.money["measure"].drop_duplicates().tolist()
    measures = [m for m in CHART_MONEY_MEASURES if m in present] or present
    chart_columns = (Column("financial_year", "Financial year", "text"),
                     *(Column(m, _measure_label(m), "money") for m in measures))
    blocks.insert(0, Chart(
        "money_chart", f"Savings and costs by financial year (P50, {note})", "line",
        Table("money_chart_data", f"Gross and net savings by financial year, P50 ({note})",
              p50[[c.key for c in chart_columns]], chart_columns,
              note=note),
        x="financial_year", series=tuple(measures), y_label=note))
    return Section("money", "Money: savings, costs, NPV, payback and ROI",
                   (f"All money is in real terms, {note}.",), tuple(blocks))


def _uncertainty_section(proj: ProjectionResult) -> Section:
    note = price_base_note(proj.price_base_year)
    summary = proj.summary()
    kinds = tuple(unit_kind(u) for u in summary["unit"].tolist())
    summary = summary.assign(measure=summary["measure"].map(_measure_label))
    table = Table(
        "uncertainty_summary", "Appraisal results: P10, P50 and P90", summary,
        (Column("measure", "Measure", "text"), Column("p10", "P10", "by_row"),
         Column("p50", "P50", "by_row"), Column("p90", "P90", "by_row"),
         Column("mean", "Mean", "by_row"), Column("unit", "Unit", "text")),
        note=note, row_kinds=kinds)
    return Section("uncertainty", "Uncertainty (P10 / P50 / P90)", (
        f"From {proj.n_draws:,} Monte Carlo draws over the uncertain assumptions (seed "
        f"{proj.seed}). P10 and P90 bound the middle 80% of draws.",), (table,))


def _price_base_label(price_base_year: object) -> str:
    """An assumption's price base as shown; only money assumptions carry one."""
    return price_base_year if isinstance(price_base_year, str) and price_base_year else (
        "not money")


def _sensitivity_section(proj: ProjectionResult) -> Section:
    note = price_base_note(proj.price_base_year)
    frame = proj.sensitivity.reset_index(drop=True)
    kinds = tuple(unit_kind(u) for u in frame.get("unit", pd.Series(dtype=str)).tolist())
    bases = dict(zip(proj.assumptions["id"], proj.assumptions["price_base_year"], strict=True))
    frame["price_base_year"] = [_price_base_label(bases.get(pid)) for pid in frame["parameter_id"]]
    columns = (
        Column("description", "Assumption", "text"), Column("unit", "Unit", "text"),
        Column("price_base_year", "Price base", "text"),
        Column("central", "Central", "by_row"), Column("low", "Low", "by_row"),
        Column("high", "High", "by_row"), Column("npv_p50_low", "NPV (P50) at low", "money"),
        Column("npv_p50_high", "NPV (P50) at high", "money"),
        Column("swing", "Swing in NPV", "money"), Column("confidence", "Grade", "text"),
    )
    table = Table("sensitivity", "Sensitivity of the NPV to each assumption", frame, columns,
                  note=f"NPV columns are {note}; an assumption's own values are at the price "
                       "base in its row. One assumption at its low or high value, the rest "
                       "central.",
                  row_kinds=kinds)
    blocks: list[Table | Chart] = [table]
    if not frame.empty:
        chart_frame = frame[["description", "swing"]].reset_index(drop=True)
        blocks.insert(0, Chart(
            "sensitivity_chart", f"Swing in NPV by assumption ({note})", "bar",
            Table("sensitivity_chart_data", f"Swing in NPV ({note})", chart_frame,
                  (Column("description", "Assumption", "text"),
                   Column("swing", "Swing in NPV", "money")), note=note),
            x="description", series=("swing",), y_label=note, horizontal=True))
    return Section("sensitivity", "Sensitivity", (
        "How far the central NPV moves when one assumption is set to its low or high value.",),
        tuple(blocks))


def _assumptions_section(proj: ProjectionResult) -> Section:
    frame = proj.assumptions.reset_index(drop=True).copy()
    wanted = ["id", "description", "value", "unit", "price_base_year", "distribution", "low",
              "high", "value_in_price_base", "source", "url", "confidence", "status", "basis"]
    for column in wanted:
        if column not in frame.columns:
            frame[column] = None
    kinds = tuple(unit_kind(u) for u in frame["unit"].tolist())
    frame["price_base_year"] = [_price_base_label(p) for p in frame["price_base_year"].tolist()]
    columns = (
        Column("id", "Parameter", "text"), Column("description", "Description", "text"),
        Column("value", "Value", "by_row"), Column("unit", "Unit", "text"),
        Column("price_base_year", "Price base", "text"),
        Column("distribution", "Distribution", "text"), Column("low", "Low", "by_row"),
        Column("high", "High", "by_row"),
        Column("value_in_price_base", f"Value at {proj.price_base_year} prices", "money"),
        Column("source", "Source", "text"),
        Column("url", "Link", "text"), Column("confidence", "Confidence grade", "text"),
        Column("status", "Status", "text"), Column("basis", "Basis", "text"),
    )
    table = Table("assumptions", "Assumptions used in this run", frame[wanted], columns,
                  note=f"Each money value is at the price base in its row; the last value column "
                       f"converts it to {price_base_note(proj.price_base_year)}. Grades: A "
                       "official statistic, HM Treasury rule or randomised trial, B evaluation "
                       "with a comparison group, C single-site before/after or a maximum across "
                       "LAs, D expert judgement or arithmetic from indirect evidence, X not "
                       "found. Status 'override' marks a value the user supplied.",
                  row_kinds=kinds)
    return Section("assumptions", "Assumptions with value, unit, source and confidence grade",
                   (), (table,))


def _tracking_section(realised: RealisedBenefit | None, effects: TrackingFrames | None) -> Section:
    blocks: list[Table | Chart] = []
    paragraphs: list[str] = []
    if realised is not None:
        note = price_base_note(realised.price_base_year)
        paragraphs += [
            f"Live from {realised.go_live_date.isoformat()}; baseline locked on data of "
            f"{readable_vintage(realised.baseline_data_vintage)}. Status to date: "
            f"{realised.status}.",
            f"Status rule: {realised.thresholds.source}.",
            f"Realised savings are {note}: children avoided (locked baseline P50 less actual "
            "children looked after) valued at the locked unit costs.",
        ]
        paragraphs += [f"Not compared: {item}." for item in realised.skipped]
        periods = realised.periods.reset_index(drop=True)
        if not periods.empty:
            blocks += _realised_blocks(periods, note)
    if effects is not None:
        for name, frame in effects.to_frames().items():
            blocks.append(_generic_table(f"tracking_{name}", frame))
    if not blocks:
        paragraphs.append("No actuals after go-live have been compared yet.")
    return Section("tracking", "Tracking: actuals against the locked baseline",
                   tuple(paragraphs), tuple(blocks))


def _realised_blocks(periods: pd.DataFrame, note: str) -> list[Table | Chart]:
    shown = suppress_realised(periods)
    columns = tuple(c for c in (
        Column("period", "Period", "text"),
        Column("actual_cla", "Children looked after (actual)", "count"),
        Column("baseline_cla_p50", "Locked baseline P50", "count"),
        Column("business_case_cla_p50", "Business case P50", "count"),
        Column("children_avoided", "Children avoided (P50)", "count"),
        Column("saving_gbp", "Saving in period (P50)", "money"),
        Column("saving_gbp_low", "Saving, low", "money"),
        Column("saving_gbp_high", "Saving, high", "money"),
        Column("cumulative_saving_gbp", "Cumulative saving (P50)", "money"),
        Column("cumulative_expected_saving_gbp", "Cumulative expected saving", "money"),
        Column("status", "Status", "text"),
    ) if c.key in shown.columns)
    table = Table("tracking_realised", "Realised benefit by period", shown, columns, note=note)
    band = ("cumulative_saving_gbp_low", "cumulative_saving_gbp_high")
    chart_keys = ["period", "cumulative_saving_gbp", "cumulative_expected_saving_gbp", *band]
    if not all(k in periods.columns for k in chart_keys):
        return [table]
    chart_columns = (
        Column("period", "Period", "text"),
        Column("cumulative_saving_gbp", "Cumulative saving (P50)", "money"),
        Column("cumulative_expected_saving_gbp", "Cumulative expected saving", "money"),
        Column(band[0], "Cumulative saving, low", "money"),
        Column(band[1], "Cumulative saving, high", "money"),
    )
    chart = Chart(
        "tracking_chart", f"Cumulative realised against expected saving ({note})", "fan",
        Table("tracking_chart_data", f"Cumulative saving to date ({note})",
              shown[chart_keys].reset_index(drop=True), chart_columns, note=note),
        x="period", series=("cumulative_saving_gbp", "cumulative_expected_saving_gbp"),
        y_label=note, bands=(band,))
    return [chart, table]


_COUNT_WORDS = ("children", "count", "cla", "starts", "ceases", "plans", "number")
_MONEY_WORDS = ("saving", "cost", "gbp", "pounds", "spend", "benefit", "npv", "money")


def _generic_kind(column: str, values: pd.Series) -> ColumnKind:
    name = column.lower()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "text"
    if name in {"year", "revision", "first_post_year"}:
        return "year"
    if any(word in name for word in _MONEY_WORDS):
        return "money"
    if "rate" in name or "per_10k" in name:
        return "rate"
    if "pct" in name or "percent" in name:
        return "percent"
    if "share" in name or "probability" in name or "weight" in name:
        return "fraction"
    if any(word in name for word in _COUNT_WORDS):
        return "count"
    return "number"


def _generic_table(key: str, frame: pd.DataFrame) -> Table:
    """A tracking table shown column by column; columns named as counts of children are
    suppressed as stand-alone counts."""
    frame = frame.reset_index(drop=True)
    kinds = {str(c): _generic_kind(str(c), frame[c]) for c in frame.columns}
    frame.columns = [str(c) for c in frame.columns]
    counts = [c for c, k in kinds.items() if k == "count"]
    shown = suppress_counts(frame, counts) if counts else frame
    title = key.removeprefix("tracking_").replace("_", " ").capitalize()
    return Table(key, title, shown,
                 tuple(Column(c, c.replace("_", " ").capitalize(), k) for c, k in kinds.items()))
