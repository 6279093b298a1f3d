"""Realised benefit: actual children looked after against the locked baseline, in children and £.

For each reporting period after go-live the locked baseline (P10/P50/P90 of children looked after,
interpolated linearly between its 31 March points) is compared with the actual count. Children
avoided = baseline − actual; its interval comes from the baseline's P10 and P90. Money = children
avoided × the business case's annual unit cost × the share of a year the period covers, in the
business case's price base. Where actuals give every placement type the saving is valued
placement by placement; otherwise at the baseline's placement mix (a blended unit cost).
A placement type the business case left uncosted is valued at £0, as it was in the business case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.track.actuals import parse_period
from sf_benefits.track.implementations import LockedBaseline, TrackError

CLA_MEASURE = "cla_31_march"


@dataclass(frozen=True)
class StatusThresholds:
    """Bands for realised against expected cumulative saving to date (ratio of P50 £ figures).

    A convention of this tool, not a published standard: within 10% of the business case counts
    as on track. Change the numbers to your own governance rule.
    """

    on_track_from: float = 0.90
    ahead_from: float = 1.10
    source: str = ("SF Benefits convention (no published standard found): ratio of realised to "
                   "expected cumulative saving to date; < 0.90 behind, 0.90 to < 1.10 on track, "
                   ">= 1.10 ahead")

    def status(self, realised_gbp: float, expected_gbp: float) -> str:
        """Status label for realised against expected cumulative £."""
        if not np.isfinite(expected_gbp) or expected_gbp <= 0:
            return "no saving expected yet"
        ratio = realised_gbp / expected_gbp
        if ratio >= self.ahead_from:
            return "ahead"
        if ratio >= self.on_track_from:
            return "on track"
        return "behind"


@dataclass(frozen=True)
class RealisedBenefit:
    """Realised benefit of one implementation, period by period and cumulative to date."""

    implementation_id: str
    go_live_date: date
    price_base_year: str
    baseline_data_vintage: str
    thresholds: StatusThresholds
    periods: pd.DataFrame
    skipped: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_periods(self) -> bool:
        """True when at least one post-go-live period could be compared."""
        return not self.periods.empty

    @property
    def latest(self) -> pd.Series:
        """The last period's row (cumulative figures to date)."""
        if self.periods.empty:
            raise TrackError("no period after go-live has actuals within the baseline's years")
        return self.periods.iloc[-1]

    @property
    def status(self) -> str:
        """Status to date against the business-case trajectory."""
        return "no actuals yet" if self.periods.empty else str(self.latest["status"])

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Per-period table and a one-row summary to date, for presenters."""
        summary: dict[str, object] = {
            "implementation_id": self.implementation_id, "go_live_date": self.go_live_date,
            "price_base_year": self.price_base_year,
            "baseline_data_vintage": self.baseline_data_vintage, "status": self.status,
            "status_rule": self.thresholds.source,
        }
        if not self.periods.empty:
            last = self.latest
            summary.update({
                "to_period": last["period"],
                "cumulative_child_years_avoided": last["cumulative_child_years_avoided"],
                "cumulative_saving_gbp": last["cumulative_saving_gbp"],
                "cumulative_saving_gbp_low": last["cumulative_saving_gbp_low"],
                "cumulative_saving_gbp_high": last["cumulative_saving_gbp_high"],
                "cumulative_expected_saving_gbp": last["cumulative_expected_saving_gbp"],
            })
        return {"realised_by_period": self.periods.copy(),
                "realised_summary": pd.DataFrame([summary])}


def _march_ordinal(year: int) -> int:
    return date(year, 3, 31).toordinal()


def _curve(values: pd.DataFrame, series: str, placement: str) -> pd.DataFrame:
    rows = values[(values["series"] == series) & (values["measure"] == CLA_MEASURE)
                  & (values["placement"] == placement)].dropna(subset=["p50"])
    return rows.sort_values("year")


def _interp(curve: pd.DataFrame, when: date, column: str) -> float:
    x = np.array([_march_ordinal(int(y)) for y in curve["year"]], dtype=float)
    y = curve[column].fillna(curve["p50"]).to_numpy(dtype=float)
    return float(np.interp(when.toordinal(), x, y))


def _select_periods(cla: pd.DataFrame) -> list[pd.DataFrame]:
    """Per financial year: complete months, else complete quarters, else the year, else partial."""
    chosen: list[pd.DataFrame] = []
    cla = cla.assign(fy=[parse_period(p).year_ending_march for p in cla["period"]])
    for _, year_rows in cla.groupby("fy", sort=True):
        by_granularity = {g: rows for g, rows in year_rows.groupby("granularity")}
        months = by_granularity.get("month")
        quarters = by_granularity.get("quarter")
        n_months = 0 if months is None else months["period"].nunique()
        n_quarters = 0 if quarters is None else quarters["period"].nunique()
        if months is not None and n_months == 12:
            pick = months
        elif quarters is not None and n_quarters == 4:
            pick = quarters
        elif "year" in by_granularity:
            pick = by_granularity["year"]
        elif n_months / 12 >= n_quarters / 4 and months is not None:
            pick = months
        else:
            pick = quarters if quarters is not None else year_rows
        chosen.extend(rows for _, rows in pick.groupby("period", sort=False))
    return sorted(chosen, key=lambda rows: rows["period_end"].iloc[0])


def realised_benefit(
    baseline: LockedBaseline, actuals: pd.DataFrame, go_live_date: date,
    thresholds: StatusThresholds | None = None,
) -> RealisedBenefit:
    """Compare actuals after go-live with the locked baseline and the business-case trajectory."""
    thresholds = thresholds or StatusThresholds()
    values = baseline.values
    costs = dict(zip(baseline.unit_costs["placement"], baseline.unit_costs["annual_cost_gbp"],
                     strict=True))
    base_all = _curve(values, "baseline", ALL_PLACEMENTS)
    scen_all = _curve(values, "scenario", ALL_PLACEMENTS)
    base_by_place = {p: _curve(values, "baseline", p) for p in PLACEMENTS}
    placements_in_baseline = all(not c.empty for c in base_by_place.values())
    if not costs:
        raise TrackError("the locked baseline has no unit costs to value children avoided")
    if base_all.empty:
        raise TrackError("the locked baseline has no children-looked-after P50 for 'all'")
    first, last = _march_ordinal(int(base_all["year"].min())), _march_ordinal(
        int(base_all["year"].max()))

    cla = actuals[(actuals["measure"] == "cla") & actuals["count"].notna()].copy()
    cla = cla[pd.to_datetime(cla["period_end"]).dt.date > go_live_date]
    skipped: list[str] = []
    records: list[dict[str, object]] = []
    for rows in _select_periods(cla) if not cla.empty else []:
        period = parse_period(str(rows["period"].iloc[0]))
        when = period.end
        if not first <= when.toordinal() <= last:
            skipped.append(f"{period.label}: outside the baseline's years")
            continue
        counts = dict(zip(rows["placement"], rows["count"], strict=True))
        by_placement = all(p in counts for p in PLACEMENTS) and placements_in_baseline
        if ALL_PLACEMENTS in counts:
            actual_total = float(counts[ALL_PLACEMENTS])
        elif all(p in counts for p in PLACEMENTS):
            actual_total = float(sum(counts[p] for p in PLACEMENTS))
        else:
            skipped.append(f"{period.label}: no total and not every placement type")
            continue
        b10, b50, b90 = (_interp(base_all, when, c) for c in ("p10", "p50", "p90"))
        s50 = _interp(scen_all, when, "p50") if not scen_all.empty else float("nan")
        if ALL_PLACEMENTS in costs:
            blended = float(costs[ALL_PLACEMENTS])
        elif placements_in_baseline:
            mix = {p: max(_interp(base_by_place[p], when, "p50"), 0.0) for p in PLACEMENTS}
            total = sum(mix.values())
            blended = (sum(mix[p] * costs.get(p, 0.0) for p in PLACEMENTS) / total
                       if total else float("nan"))
        else:
            raise TrackError("unit costs need an 'all' figure, or a baseline by placement type")
        fraction = period.fraction_of_year
        if by_placement and ALL_PLACEMENTS not in costs:
            saving = {c: sum((_interp(base_by_place[p], when, c) - float(counts[p]))
                             * costs.get(p, 0.0) for p in PLACEMENTS) * fraction
                      for c in ("p10", "p50", "p90")}
            valuation = "by placement"
        else:
            saving = {c: (b - actual_total) * blended * fraction
                      for c, b in (("p10", b10), ("p50", b50), ("p90", b90))}
            valuation = "blended unit cost"
        records.append({
            "period": period.label, "granularity": period.granularity,
            "period_end": period.end, "actual_cla": actual_total,
            "baseline_cla_p10": b10, "baseline_cla_p50": b50, "baseline_cla_p90": b90,
            "business_case_cla_p50": s50,
            "children_avoided": b50 - actual_total, "children_avoided_low": b10 - actual_total,
            "children_avoided_high": b90 - actual_total,
            "expected_children_avoided": b50 - s50,
            "child_years_avoided": (b50 - actual_total) * fraction,
            "saving_gbp": saving["p50"], "saving_gbp_low": min(saving["p10"], saving["p90"]),
            "saving_gbp_high": max(saving["p10"], saving["p90"]),
            "expected_saving_gbp": (b50 - s50) * blended * fraction,
            "blended_annual_unit_cost_gbp": blended, "valuation": valuation,
        })
    periods = pd.DataFrame.from_records(records)
    if not periods.empty:
        periods["cumulative_child_years_avoided"] = periods["child_years_avoided"].cumsum()
        for column in ("saving_gbp", "saving_gbp_low", "saving_gbp_high", "expected_saving_gbp"):
            periods[f"cumulative_{column}"] = periods[column].cumsum()
        periods["status"] = [
            thresholds.status(r, e) for r, e in zip(
                periods["cumulative_saving_gbp"], periods["cumulative_expected_saving_gbp"],
                strict=True)]
        periods["price_base_year"] = baseline.price_base_year
    return RealisedBenefit(baseline.implementation_id, go_live_date, baseline.price_base_year,
                           baseline.data_vintage, thresholds, periods, tuple(skipped))
