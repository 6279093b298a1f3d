"""The typed result of a projection, consumed by the CLI, reports, web app and benefit tracking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sf_benefits.disclosure import suppress_count


@dataclass(frozen=True)
class Interval:
    """P10, P50 (median) and P90 of a quantity across Monte Carlo draws, with its mean."""

    p10: float
    p50: float
    p90: float
    mean: float


@dataclass(frozen=True)
class ProjectionResult:
    """Baseline vs scenario demand and money for one LA and one innovation model, with uncertainty.

    Frames (all tidy, long):
      counts: year (ending 31 March), series (baseline / scenario / averted_starts /
        kept_out_of_care / baseline_starts / scenario_starts), placement (a PLACEMENTS value or
        "all"), p10, p50, p90.
      money: financial_year ("2025-26"), measure, p10, p50, p90, mean - pounds at `price_base_year`.
      sensitivity: parameter_id, description, unit, central, low, high, npv_p50_low, npv_p50_high,
        swing, confidence, status, driver - net present value (P50) with one parameter at its low
        or high, others central, ranked by swing; `driver` marks the parameters that move it most.
      assumptions: every parameter the run used, with value, unit, price base, source, grade,
        status (sourced / derived / override) and basis (how its value was chosen).
      observed: the LA's history the forecast was fitted to (year, measure, placement, value).
    `draws` (only when asked for) holds every Monte Carlo draw of the measures that add up across
    LAs: net_present_value, present_value_benefits, present_value_costs (one value per draw);
    baseline_cost, scenario_cost, net_savings (draws x financial years); baseline_cla,
    scenario_cla (children looked after at each 31 March, draws x years) - so runs for many LAs
    can be added up draw by draw into regional and national totals.

    Counts here are unrounded model output and `observed` holds recorded counts: before any count
    leaves the tool use `suppressed_counts()` (and sf_benefits.disclosure for the history).
    """

    la_code: str
    model: str
    model_title: str
    method: str
    seed: int
    n_draws: int
    horizon: int
    price_base_year: str
    discount_rate: float
    financial_years: tuple[str, ...]
    counts: pd.DataFrame
    money: pd.DataFrame
    net_present_value: Interval
    present_value_benefits: Interval
    present_value_costs: Interval
    return_on_investment: Interval
    probability_net_present_value_positive: float
    payback_year: str | None
    probability_of_payback: float
    sensitivity: pd.DataFrame
    assumptions: pd.DataFrame
    excluded: tuple[str, ...]
    observed: pd.DataFrame
    notes: tuple[str, ...]
    draws: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def drivers(self) -> pd.DataFrame:
        """The sensitivity rows of the parameters that move the NPV most, with their grades."""
        if self.sensitivity.empty:
            return self.sensitivity
        return self.sensitivity[self.sensitivity["driver"].astype(bool)]

    @property
    def grade_d_drivers(self) -> tuple[str, ...]:
        """Ids of the grade-D parameters among the drivers: the figures rest on them."""
        drivers = self.drivers
        return tuple(drivers.loc[drivers["confidence"] == "D", "parameter_id"].astype(str))

    @property
    def overrides(self) -> tuple[str, ...]:
        """Ids of the parameters the user's overrides replaced."""
        table = self.assumptions
        return tuple(table.loc[table["status"] == "override", "id"].astype(str))

    def summary(self) -> pd.DataFrame:
        """Headline appraisal figures as rows of (measure, p10, p50, p90, mean, unit)."""
        unit = f"GBP ({self.price_base_year} prices)"
        rows = [
            ("net_present_value", self.net_present_value, unit),
            ("present_value_benefits", self.present_value_benefits, unit),
            ("present_value_costs", self.present_value_costs, unit),
            ("return_on_investment", self.return_on_investment, "ratio"),
        ]
        nan = float("nan")
        rests_on = "; ".join(self.grade_d_drivers)
        records = [(name, i.p10, i.p50, i.p90, i.mean, u, rests_on) for name, i, u in rows]
        records += [
            ("probability_net_present_value_positive", nan,
             self.probability_net_present_value_positive, nan, nan, "probability", rests_on),
            ("probability_of_payback", nan, self.probability_of_payback, nan, nan, "probability",
             rests_on),
        ]
        return pd.DataFrame(records, columns=["measure", "p10", "p50", "p90", "mean", "unit",
                                              "rests_on_grade_d"])

    def run_details(self) -> pd.DataFrame:
        """How the run was made: LA, model, method, seed, draws, price base, discount rate."""
        items = {
            "la_code": self.la_code,
            "model": self.model,
            "model_title": self.model_title,
            "method": self.method,
            "seed": self.seed,
            "n_draws": self.n_draws,
            "horizon_years": self.horizon,
            "first_financial_year": self.financial_years[0],
            "price_base_year": self.price_base_year,
            "discount_rate": self.discount_rate,
            "payback_year": self.payback_year or "not within the horizon",
            "rests_on_grade_d": "; ".join(self.grade_d_drivers) or (
                "none" if not self.sensitivity.empty else "not assessed (no sensitivity run)"),
            "overrides": "; ".join(self.overrides) or "none",
            "excluded": "; ".join(self.excluded) or "none",
            "notes": " ".join(self.notes),
        }
        return pd.DataFrame({"item": list(items), "value": [str(v) for v in items.values()]})

    def suppressed_counts(self) -> pd.DataFrame:
        """Projected counts rounded to whole children with counts 1-5 shown as "c", for export.

        Each cell is a quantile across draws and quantiles do not add up (the P50 of the
        placements is not the P50 of the total), so no total can back out a suppressed cell:
        primary suppression is complete here.
        """
        out = self.counts.copy()
        for column in ("p10", "p50", "p90"):
            out[column] = pd.Series([suppress_count(v) for v in out[column]], index=out.index,
                                    dtype=object)
        return out

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every part of the result as tidy DataFrames, keyed by name, ready to export."""
        return {
            "run": self.run_details(),
            "summary": self.summary(),
            "counts": self.counts.copy(),
            "money": self.money.copy(),
            "sensitivity": self.sensitivity.copy(),
            "assumptions": self.assumptions.copy(),
            "observed": self.observed.copy(),
        }
