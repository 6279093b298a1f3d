"""A projection result (as kept by its job) drawn as a fan chart, money chart and tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.web.scenarios import DEMAND_METHODS, METHOD_TECHNICAL
from sf_benefits.web.views import (
    PALETTE,
    Chart,
    Column,
    DataTable,
    chart_values,
    suppressed_marks,
)

MONEY_LABELS = {
    "baseline_cost": "Cost of care without the innovation (baseline)",
    "scenario_cost": "Cost of care with the innovation",
    "gross_savings": "Gross savings",
    "benefits_after_adjustments": "Savings after deadweight and optimism bias",
    "implementation_cost": "Implementation cost",
    "running_cost": "Running cost",
    "total_cost": "Total cost of the innovation",
    "net_savings": "Net savings",
    "cumulative_net_savings": "Cumulative net savings",
    "discounted_net_savings": "Discounted net savings",
    "cumulative_discounted_net_savings": "Cumulative discounted net savings",
}


@dataclass
class ScenarioResultView:
    """Headline figures, charts and tables of one projection run."""

    payload: dict[str, Any]
    headline: DataTable
    charts: list[Chart]
    money_table: DataTable
    assumptions: DataTable
    evidence: str

    @property
    def price_base(self) -> str:
        """The financial year whose prices every £ of the run is in."""
        return str(self.payload["price_base_year"])


def _rows(payload: dict[str, Any], key: str, **match: Any) -> list[dict[str, Any]]:
    return [r for r in payload[key] if all(r.get(k) == v for k, v in match.items())]


def _band(x: list[Any], low: list[Any], high: list[Any], fill: str, name: str
          ) -> list[dict[str, Any]]:
    return [
        {"type": "scatter", "x": x, "y": chart_values(high), "mode": "lines",
         "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip", "name": name},
        {"type": "scatter", "x": x, "y": chart_values(low), "mode": "lines", "fill": "tonexty",
         "fillcolor": fill, "line": {"width": 0}, "name": name, "hoverinfo": "skip"},
    ]


def _fan_chart(payload: dict[str, Any]) -> Chart:
    observed = sorted(_rows(payload, "observed", measure="cla_31_march", placement="all"),
                      key=lambda r: r["year"])
    baseline = sorted(_rows(payload, "counts", series="baseline", placement="all"),
                      key=lambda r: r["year"])
    scenario = sorted(_rows(payload, "counts", series="scenario", placement="all"),
                      key=lambda r: r["year"])
    years = [r["year"] for r in baseline]
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": "Actual (published)",
         "x": [r["year"] for r in observed], "y": chart_values([r["value"] for r in observed]),
         "line": {"color": "#0b0c0c", "width": 2}},
        *suppressed_marks([r["year"] for r in observed], [r["value"] for r in observed],
                          "Actual"),
        *_band(years, [r["p10"] for r in baseline], [r["p90"] for r in baseline],
               PALETTE["baseline_band"], "Baseline P10 to P90"),
        {"type": "scatter", "mode": "lines", "name": "Baseline P50 (without the innovation)",
         "x": years, "y": chart_values([r["p50"] for r in baseline]),
         "line": {"color": PALETTE["baseline"], "dash": "dash", "width": 2}},
        *_band(years, [r["p10"] for r in scenario], [r["p90"] for r in scenario],
               PALETTE["band"], "Scenario P10 to P90"),
        {"type": "scatter", "mode": "lines", "name": "Scenario P50 (with the innovation)",
         "x": years, "y": chart_values([r["p50"] for r in scenario]),
         "line": {"color": PALETTE["scenario"], "width": 3}},
    ]
    figure = {"data": data, "layout": {
        "xaxis": {"title": {"text": "Year (to 31 March)"}, "dtick": 1},
        "yaxis": {"title": {"text": "Children looked after at 31 March"}, "rangemode": "tozero"},
        "height": 420}}
    by_year: dict[int, dict[str, Any]] = {}
    for r in observed:
        by_year.setdefault(r["year"], {"year": r["year"]})["actual"] = r["value"]
    for prefix, rows in (("b", baseline), ("s", scenario)):
        for r in rows:
            row = by_year.setdefault(r["year"], {"year": r["year"]})
            for q in ("p10", "p50", "p90"):
                row[f"{prefix}_{q}"] = r[q]
    table = DataTable(
        caption="Children looked after at 31 March: actual, and projected without (baseline) "
                "and with the innovation (scenario)",
        columns=[Column("year", "Year to 31 March"), Column("actual", "Actual", "count"),
                 Column("b_p10", "Baseline P10", "count"),
                 Column("b_p50", "Baseline P50", "count"),
                 Column("b_p90", "Baseline P90", "count"),
                 Column("s_p10", "Scenario P10", "count"),
                 Column("s_p50", "Scenario P50", "count"),
                 Column("s_p90", "Scenario P90", "count")],
        rows=[by_year[y] for y in sorted(by_year)])
    return Chart("fan-cla", "Children looked after: projection with uncertainty (fan chart)",
                 figure, table,
                 note=f"Shaded bands run from P10 to P90 across {payload['n_draws']:,} Monte Carlo "
                      f"draws. Counts from 1 to 5 are shown as “{SUPPRESSED}”.")


def _net_savings_chart(payload: dict[str, Any]) -> Chart:
    price_base = payload["price_base_year"]
    net = _rows(payload, "money", measure="net_savings")
    cumulative = _rows(payload, "money", measure="cumulative_net_savings")
    years = [r["financial_year"] for r in net]
    data = [
        *_band(years, [r["p10"] for r in net], [r["p90"] for r in net], PALETTE["band"],
               "Net savings P10 to P90"),
        {"type": "scatter", "mode": "lines+markers", "name": "Net savings P50", "x": years,
         "y": chart_values([r["p50"] for r in net]),
         "line": {"color": PALETTE["scenario"], "width": 3}},
        {"type": "scatter", "mode": "lines+markers", "name": "Cumulative net savings P50",
         "x": years, "y": chart_values([r["p50"] for r in cumulative]),
         "line": {"color": PALETTE["la"], "dash": "dot", "width": 2}},
    ]
    figure = {"data": data, "layout": {
        "xaxis": {"title": {"text": "Financial year"}, "type": "category"},
        "yaxis": {"title": {"text": f"£ ({price_base} prices)"}, "tickprefix": "£",
                  "tickformat": ",.0f"},
        "height": 380}}
    cumulative_by_year = {r["financial_year"]: r["p50"] for r in cumulative}
    table = DataTable(
        caption=f"Net savings by financial year, £ in {price_base} prices (real terms)",
        columns=[Column("financial_year", "Financial year"), Column("p10", "P10", "money"),
                 Column("p50", "P50", "money"), Column("p90", "P90", "money"),
                 Column("cumulative", "Cumulative P50", "money")],
        rows=[{"financial_year": r["financial_year"], "p10": r["p10"], "p50": r["p50"],
               "p90": r["p90"], "cumulative": cumulative_by_year.get(r["financial_year"])}
              for r in net])
    return Chart("net-savings", f"Net savings by financial year (£, {price_base} prices)",
                 figure, table,
                 note="Net savings = savings after deadweight and optimism bias, less the "
                      "innovation's costs. Shaded band: P10 to P90.")


def _sensitivity_chart(payload: dict[str, Any]) -> Chart | None:
    rows = sorted(payload["sensitivity"], key=lambda r: r.get("swing") or 0)
    if not rows:
        return None
    price_base = payload["price_base_year"]
    labels = [r["description"][:70] for r in rows]
    central = rows[0]["npv_p50_central"]
    figure = {"data": [
        {"type": "bar", "orientation": "h", "name": "Parameter at its low value",
         "y": labels, "x": chart_values([(r["npv_p50_low"] or 0) - central for r in rows]),
         "base": central, "marker": {"color": "#f47738"}},
        {"type": "bar", "orientation": "h", "name": "Parameter at its high value",
         "y": labels, "x": chart_values([(r["npv_p50_high"] or 0) - central for r in rows]),
         "base": central, "marker": {"color": PALETTE["la"]}},
    ], "layout": {"barmode": "overlay", "yaxis": {"automargin": True},
                  "xaxis": {"title": {"text": f"Net present value P50, £ ({price_base} prices)"},
                            "tickprefix": "£", "tickformat": ",.0f"},
                  "height": max(300, 120 + 40 * len(rows)), "hovermode": "closest",
                  "legend": {"orientation": "h", "y": -0.45}, "margin": {"b": 120}}}
    table = DataTable(
        caption=f"Sensitivity of the net present value (P50, £ {price_base} prices) to each "
                "assumption, others held at their central value",
        columns=[Column("description", "Assumption"), Column("unit", "Unit"),
                 Column("central", "Central", "number"), Column("low", "Low", "number"),
                 Column("high", "High", "number"), Column("npv_p50_low", "NPV at low", "money"),
                 Column("npv_p50_high", "NPV at high", "money"),
                 Column("swing", "Swing", "money")],
        rows=list(reversed(rows)))
    return Chart("sensitivity", "What moves the net present value most (sensitivity)", figure,
                 table)


def _headline(payload: dict[str, Any]) -> DataTable:
    h = payload["headline"]
    price_base = payload["price_base_year"]
    rows = [
        {"measure": "Net present value", "_kind": "money", **h["net_present_value"]},
        {"measure": "Present value of savings", "_kind": "money",
         **h["present_value_benefits"]},
        {"measure": "Present value of costs", "_kind": "money", **h["present_value_costs"]},
        {"measure": "Return on investment (net benefit per £1 of cost)", "_kind": "rate",
         **h["return_on_investment"]},
    ]
    for row in rows:
        row.pop("mean", None)
    return DataTable(
        caption=f"Appraisal over {payload['horizon']} years, £ in {price_base} prices, discounted "
                f"at {payload['discount_rate'] * 100:.1f}% a year",
        columns=[Column("measure", "Measure"), Column("p10", "P10 (pessimistic)", "value"),
                 Column("p50", "P50 (central)", "value"),
                 Column("p90", "P90 (optimistic)", "value")],
        rows=rows)


def evidence_summary(payload: dict[str, Any]) -> str:
    """How strong the evidence behind the run is, in a sentence or two: assumptions by
    confidence grade, and the grade-D ones the figures rest on most (short names)."""
    grades = Counter(str(a.get("confidence") or "X") for a in payload["assumptions"])
    counted = ", ".join(f"{grades[g]} {g}" for g in sorted(grades))
    names = {a.get("id"): a.get("description") or a.get("id") for a in payload["assumptions"]}
    resting = [_short(str(names.get(pid, pid)))
               for pid in payload["headline"].get("rests_on_grade_d", [])]
    return (f"Assumptions by confidence grade (A strongest, D weakest, X not found): {counted}. "
            + (f"The figures rest most on grade-D ones: {'; '.join(resting)}." if resting
               else "None of those that move the figures most is graded D."))


def _short(description: str) -> str:
    """An assumption's description without its bracketed detail."""
    return description.split(" (")[0].rstrip(".")


def _money_table(payload: dict[str, Any]) -> DataTable:
    years = payload["financial_years"]
    rows = []
    for measure, label in MONEY_LABELS.items():
        values = {r["financial_year"]: r["p50"] for r in _rows(payload, "money", measure=measure)}
        if values:
            rows.append({"measure": label, **{y: values.get(y) for y in years},
                         "_highlight": measure == "net_savings"})
    return DataTable(
        caption=f"Money by financial year (P50), £ in {payload['price_base_year']} prices",
        columns=[Column("measure", "Measure")] + [Column(y, y, "money") for y in years],
        rows=rows)


def _assumptions_table(payload: dict[str, Any]) -> DataTable:
    return DataTable(
        caption="Assumptions this run used, with source and confidence grade "
                "(A = strongest evidence, D = weakest)",
        columns=[Column("description", "Assumption"), Column("value", "Value", "number"),
                 Column("unit", "Unit"), Column("price_base_year", "Price base"),
                 Column("source", "Source"), Column("confidence", "Grade"),
                 Column("status", "Status"), Column("basis", "Basis")],
        rows=payload["assumptions"])


def scenario_result_view(payload: dict[str, Any]) -> ScenarioResultView:
    """The page's charts and tables from a projection job's stored result."""
    charts = [_fan_chart(payload), _net_savings_chart(payload)]
    sensitivity = _sensitivity_chart(payload)
    if sensitivity is not None:
        charts.append(sensitivity)
    return ScenarioResultView(payload, _headline(payload), charts, _money_table(payload),
                              _assumptions_table(payload), evidence_summary(payload))


def backtest_chart(payload: dict[str, Any]) -> Chart:
    """Forecast error by years ahead for each demand method, from a backtest job, in words: the
    error is against carrying last year's figure forward (1 = no better); MASE in the note."""
    summary = [{**r, "method_label": DEMAND_METHODS.get(r["method"], r["method"])}
               for r in payload["summary"]]
    methods = list(dict.fromkeys(r["method"] for r in summary))
    coverage = f"coverage_{payload['level']}"
    data = [{"type": "scatter", "mode": "lines+markers",
             "name": DEMAND_METHODS.get(method, method),
             "x": [r["horizon"] for r in summary if r["method"] == method],
             "y": chart_values([r["MASE"] for r in summary if r["method"] == method])}
            for method in methods]
    figure = {"data": data, "layout": {
        "xaxis": {"title": {"text": "Years ahead"}, "dtick": 1},
        "yaxis": {"title": {"text": "Error (1 = last year carried forward)"},
                  "rangemode": "tozero"}, "height": 340}}
    origins = payload.get("origins")
    table = DataTable(
        caption="Forecast accuracy on past years by method and years ahead"
                + (f" (forecasts made from {origins[0]} to {origins[1]})" if origins else ""),
        columns=[Column("method_label", "Method"), Column("horizon", "Years ahead"),
                 Column("MAPE", "Average miss, % of the actual figure", "rate"),
                 Column("MASE", "Error against last year carried forward (1 = no better)*",
                        "number"),
                 Column(coverage, f"Share of years inside the {payload['level']}% range",
                        "percent"),
                 Column("n_forecasts", "Forecasts scored", "count")],
        rows=summary)
    best = payload.get("best_method")
    technical = "; ".join(f"{DEMAND_METHODS[m]}: {METHOD_TECHNICAL[m]}" for m in methods
                          if m in METHOD_TECHNICAL)
    return Chart("backtest", "How well each demand forecast did on past years (backtest)",
                 figure, table,
                 note=("Under 1: more accurate than carrying last year's figure forward. "
                       + (f"Most accurate here: {DEMAND_METHODS.get(best, best)}. " if best
                          else "No forecast could be scored. ")
                       + "* Statisticians call this error MASE (mean absolute scaled error) and "
                         f"the average miss MAPE. Methods: {technical}."))
