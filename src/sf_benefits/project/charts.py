"""PNG charts of a ProjectionResult: a fan chart of children in care and cumulative net benefit.

Presenters only: they draw what the result holds and compute nothing new.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from sf_benefits.project.categories import ALL_PLACEMENTS  # noqa: E402
from sf_benefits.project.result import ProjectionResult  # noqa: E402

BASELINE_COLOUR = "#1f4e79"
SCENARIO_COLOUR = "#c55a11"


def _pounds(value: float, millions: bool = False) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value) / 1e6:,.1f}m" if millions else f"{sign}£{abs(value):,.0f}"


@matplotlib.rc_context({"text.parse_math": False})
def fan_chart_png(result: ProjectionResult, path: Path, la_name: str | None = None) -> Path:
    """Children looked after at 31 March: history, then baseline and scenario P50, P10-P90 bands.
    Text is drawn as typed: a "$" in a name never starts mathtext."""
    counts = result.counts[result.counts["placement"] == ALL_PLACEMENTS]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120)
    observed = result.observed
    if not observed.empty:
        history = observed[(observed["measure"] == "cla_31_march")
                           & (observed["placement"] == ALL_PLACEMENTS)].dropna(subset=["value"])
        history = history.sort_values("year")
        ax.plot(history["year"], history["value"], color="black", marker="o", label="Recorded")
    for series, colour, label in (("baseline", BASELINE_COLOUR, "Baseline (without innovation)"),
                                  ("scenario", SCENARIO_COLOUR, f"With {result.model_title}")):
        rows = counts[counts["series"] == series].sort_values("year")
        ax.fill_between(rows["year"], rows["p10"], rows["p90"], color=colour, alpha=0.18,
                        label=f"{label}: P10-P90")
        ax.plot(rows["year"], rows["p50"], color=colour, linewidth=2, label=f"{label}: P50")
    ax.set_title(f"Children looked after at 31 March - {la_name or result.la_code}, "
                 f"{result.model_title}")
    ax.set_xlabel("Year ending 31 March")
    ax.set_ylabel("Children looked after")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{int(v)}"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.text(0.01, 0.01, f"{result.n_draws:,} Monte Carlo draws, seed {result.seed}; "
             f"demand method {result.method}.", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


@matplotlib.rc_context({"text.parse_math": False})
def cumulative_benefit_png(result: ProjectionResult, path: Path,
                           la_name: str | None = None) -> Path:
    """Cumulative net savings by financial year (P50 with P10-P90 band), in the result's prices;
    text drawn as typed."""
    rows = result.money[result.money["measure"] == "cumulative_net_savings"]
    years = list(rows["financial_year"])
    positions = list(range(len(years)))
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120)
    ax.fill_between(positions, rows["p10"], rows["p90"], color=SCENARIO_COLOUR, alpha=0.2,
                    label="P10-P90")
    ax.plot(positions, rows["p50"], color=SCENARIO_COLOUR, linewidth=2, marker="o", label="P50")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(positions, years)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _pounds(v, millions=True)))
    ax.set_title(f"Cumulative net benefit - {la_name or result.la_code}, {result.model_title}")
    ax.set_xlabel("Financial year")
    ax.set_ylabel(f"£ ({result.price_base_year} prices, undiscounted)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    payback = result.payback_year or "not within the horizon"
    fig.text(0.01, 0.01, f"NPV P50 {_pounds(result.net_present_value.p50)} at "
             f"{result.discount_rate:.1%}; payback (P50): {payback}.", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path
