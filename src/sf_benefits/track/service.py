"""Track against the store: lock from a projection, realised benefit, effects, programme view.

The engines (realised, counterfactual) are pure; these functions fetch their inputs from the store
and hand typed results back to the CLI, web app and reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection

from sf_benefits import __version__
from sf_benefits.disclosure import SUPPRESSED, suppress_realised
from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.store import Store
from sf_benefits.store.schema import data_load
from sf_benefits.track.actuals import current_actuals
from sf_benefits.track.adopters import MODELS, SFPC_ADOPTERS, known_adopter_codes
from sf_benefits.track.counterfactual import (
    CounterfactualError,
    DidResult,
    SyntheticControlResult,
    cla_rate_panel,
    difference_in_differences,
    first_post_year,
    nearest_comparators,
    synthetic_control,
)
from sf_benefits.track.implementations import (
    Implementation,
    LockedBaseline,
    TrackError,
    baseline_revisions,
    get_implementation,
    list_implementations,
    load_baseline,
    lock_baseline,
    record_implementation,
)
from sf_benefits.track.realised import RealisedBenefit, StatusThresholds, realised_benefit

if TYPE_CHECKING:
    from sf_benefits.project.inputs import ProjectionData

MIN_PUBLISHED_COMPARATORS = 5
COMPUTED_COMPARATORS = 20
Comparison = Literal["neighbours", "computed"]


@dataclass(frozen=True)
class BaselineInputs:
    """What a lock needs, taken from a projection: the tidy table, unit costs and provenance."""

    table: pd.DataFrame
    unit_costs: dict[str, float]
    price_base_year: str
    method: str
    seed: int | None
    assumptions_version: str


def baseline_from_projection(result: Any) -> BaselineInputs:
    """Turn a `ProjectionResult` into the lock's inputs.

    CLA by placement (series baseline/scenario), starts, and the money lines (series
    business_case, year = year ending 31 March) with P10/P50/P90; the last observed 31 March is
    added as the anchor of both series where the projection does not cover that year; annual
    unit costs = weekly cost in the price base × 365/7.
    """
    from sf_benefits.project.money import WEEKS_PER_YEAR

    counts = result.counts
    parts = [counts[counts["series"].isin(("baseline", "scenario"))].assign(
        measure="cla_31_march")]
    for name, series in (("baseline_starts", "baseline"), ("scenario_starts", "scenario")):
        parts.append(counts[counts["series"] == name].assign(series=series, measure="starts"))
    money = result.money.copy()
    money["year"] = [int(label[:4]) + 1 for label in money["financial_year"]]
    parts.append(money.assign(series="business_case", placement=ALL_PLACEMENTS))
    observed = result.observed
    cla_seen = observed[(observed["measure"] == "cla_31_march") & observed["value"].notna()]
    if not cla_seen.empty:
        last = int(cla_seen["year"].max())
        anchor = cla_seen[cla_seen["year"] == last]
        for series in ("baseline", "scenario"):
            parts.append(pd.DataFrame({
                "series": series, "year": last, "measure": "cla_31_march",
                "placement": anchor["placement"].to_numpy(), "p10": anchor["value"].to_numpy(),
                "p50": anchor["value"].to_numpy(), "p90": anchor["value"].to_numpy()}))
    table = pd.concat([p[["series", "year", "measure", "placement", "p10", "p50", "p90"]]
                       for p in parts], ignore_index=True)
    table = table.drop_duplicates(["series", "year", "measure", "placement"], keep="first")
    assumptions = result.assumptions
    unit_costs: dict[str, float] = {}
    for row in assumptions.to_dict("records"):
        pid = str(row.get("id", ""))
        if pid.startswith("unit_cost_") and pid.endswith("_weekly"):
            weekly = row.get("value_in_price_base")
            if weekly is not None and np.isfinite(weekly) and weekly > 0:
                unit_costs[pid[len("unit_cost_"):-len("_weekly")]] = float(weekly) * WEEKS_PER_YEAR
    digest = hashlib.sha256(assumptions.to_csv(index=False).encode()).hexdigest()[:12]
    return BaselineInputs(table, unit_costs, str(result.price_base_year), str(result.method),
                          int(result.seed), f"sf-benefits {__version__}; assumptions {digest}")


def store_data_vintage(store: Store) -> str:
    """A label for the data the store holds: how many datasets and when the newest was loaded."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(sa.func.count(), sa.func.max(data_load.c.loaded_at))).first()
    if row is None or not row[0]:
        return "no published data loaded"
    loaded = row[1].strftime("%Y-%m-%d %H:%M") if hasattr(row[1], "strftime") else str(row[1])
    return f"{row[0]} DfE dataset(s), newest loaded {loaded}"


@dataclass(frozen=True)
class GoLiveProjection:
    """A lock's inputs from a projection fitted on data up to go-live, and the data it used."""

    inputs: BaselineInputs
    data_vintage: str


def last_count_before(go_live: date) -> int:
    """The last year (ending 31 March) whose 31 March count was taken on or before go-live."""
    return go_live.year if (go_live.month, go_live.day) >= (3, 31) else go_live.year - 1


def project_to_go_live(data: ProjectionData, la_code: str, model: str, go_live: date,
                       data_vintage: str, **projection_options: Any) -> GoLiveProjection:
    """Project an LA and model as `sf-benefits project` does, from the published data (every LA's
    histories and unit costs) of the years whose 31 March falls on or before go-live, so a
    baseline locked after the event is still the one the LA would have had at go-live."""
    last_year = last_count_before(go_live)
    result = data.up_to(last_year).project(la_code, model=model, **projection_options)
    return GoLiveProjection(baseline_from_projection(result),
                            f"{data_vintage}; years to 31 March {last_year} (before go-live)")


def lock_projected(store: Store, implementation_id: str, projected: GoLiveProjection, *,
                   conn: Connection | None = None) -> LockedBaseline:
    """Lock a go-live projection as the implementation's baseline (in `conn`'s transaction when
    given, so the caller commits it with its own writes)."""
    inputs = projected.inputs
    return lock_baseline(
        store, implementation_id, inputs.table, inputs.unit_costs,
        price_base_year=inputs.price_base_year, data_vintage=projected.data_vintage,
        assumptions_version=inputs.assumptions_version, method=inputs.method, seed=inputs.seed,
        unit_cost_source="projection assumptions (weekly unit cost x 365/7)", conn=conn)


def lock_from_projection(store: Store, implementation_id: str, data: ProjectionData,
                         data_vintage: str, **projection_options: Any) -> LockedBaseline:
    """Project the implementation's LA and model from data up to go-live and lock the result."""
    implementation = get_implementation(store, implementation_id)
    projected = project_to_go_live(data, implementation.la_code, implementation.model,
                                   implementation.go_live_date, data_vintage,
                                   **projection_options)
    return lock_projected(store, implementation.implementation_id, projected)


def realised_for(store: Store, implementation_id: str,
                 thresholds: StatusThresholds | None = None) -> RealisedBenefit:
    """Realised benefit of an implementation from its locked baseline and current actuals."""
    implementation = get_implementation(store, implementation_id)
    baseline = load_baseline(store, implementation.implementation_id)
    return realised_benefit(baseline, current_actuals(store, implementation.la_code),
                            implementation.go_live_date, thresholds)


@dataclass(frozen=True)
class EffectEstimates:
    """Both counterfactual estimates for one LA, with what they were compared against."""

    la_code: str
    first_post_year: int
    comparison_basis: str
    did: DidResult | None
    synthetic_control: SyntheticControlResult | None
    problems: tuple[str, ...] = field(default_factory=tuple)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """All estimate tables of both methods, plus any reason a method could not run."""
        frames: dict[str, pd.DataFrame] = {}
        if self.did is not None:
            frames.update(self.did.to_frames())
        if self.synthetic_control is not None:
            frames.update(self.synthetic_control.to_frames())
        frames["effect_problems"] = pd.DataFrame({"problem": list(self.problems)})
        return frames


def estimate_effects(
    history: pd.DataFrame, la_code: str, go_live: date, *,
    published_neighbours: list[str] | None = None, exclude: frozenset[str] = frozenset(),
    comparison: Comparison = "neighbours", level: float = 0.95,
) -> EffectEstimates:
    """DiD against non-adopting neighbours and a synthetic control over all non-adopting LAs.

    Neighbours are the published statistical neighbours that did not adopt; when fewer than five
    remain (or comparison="computed") the 20 non-adopters nearest in pre-period level and trend.
    """
    panel = cla_rate_panel(history)
    start = first_post_year(go_live)
    excluded = (exclude | known_adopter_codes()) - {la_code}
    pool = sorted(set(panel["la_code"]) - excluded - {la_code})
    problems: list[str] = []
    published = [c for c in (published_neighbours or []) if c in pool]
    if comparison == "neighbours" and len(published) >= MIN_PUBLISHED_COMPARATORS:
        comparators, basis = published, f"{len(published)} published statistical neighbours " \
                                        "that did not adopt"
    else:
        try:
            comparators = nearest_comparators(panel, la_code, pool, start, COMPUTED_COMPARATORS)
            basis = (f"{len(comparators)} computed neighbours (non-adopters nearest in pre-period "
                     "CLA-rate level and trend)")
        except CounterfactualError as exc:
            comparators, basis = [], "none"
            problems.append(f"comparators: {exc}")
    did = sc = None
    try:
        did = difference_in_differences(panel, la_code, start, comparators, level,
                                        placebo_pool=pool)
    except CounterfactualError as exc:
        problems.append(f"difference-in-differences: {exc}")
    try:
        sc = synthetic_control(panel, la_code, start, pool, level)
    except CounterfactualError as exc:
        problems.append(f"synthetic control: {exc}")
    return EffectEstimates(la_code, start, basis, did, sc, tuple(problems))


def _store_history(store: Store) -> pd.DataFrame:
    from sf_benefits.store.queries import care_history

    return care_history(store)


def _published_neighbours(store: Store, la_code: str) -> list[str]:
    from sf_benefits.store.queries import statistical_neighbours

    return statistical_neighbours(store, la_code)[1]


def effects_for(store: Store, implementation_id: str, history: pd.DataFrame | None = None,
                comparison: Comparison = "neighbours") -> EffectEstimates:
    """Counterfactual estimates for a recorded implementation from the store's history."""
    implementation = get_implementation(store, implementation_id)
    history = _store_history(store) if history is None else history
    others = frozenset(i.la_code for i in list_implementations(store))
    return estimate_effects(history, implementation.la_code, implementation.go_live_date,
                            published_neighbours=_published_neighbours(store,
                                                                       implementation.la_code),
                            exclude=others, comparison=comparison)


@dataclass(frozen=True)
class ProgrammeView:
    """Every recorded implementation side by side, by model: benefit to date, status, effects."""

    table: pd.DataFrame
    price_base_years: tuple[str, ...]
    notes: tuple[str, ...]

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The side-by-side table and a per-model summary."""
        by_model = (self.table.groupby("model", as_index=False)
                    .agg(implementations=("la_code", "size"),
                         with_locked_baseline=("baseline_locked", "sum"),
                         cumulative_saving_gbp=("cumulative_saving_gbp", "sum"),
                         median_did_effect_pct=("did_effect_pct", "median"),
                         median_sc_effect_pct=("sc_effect_pct", "median"))
                    if not self.table.empty else pd.DataFrame())
        return {"programme": self.table.copy(), "programme_by_model": by_model,
                "programme_notes": pd.DataFrame({"note": list(self.notes)})}


def programme_view(store: Store, history: pd.DataFrame | None = None, with_effects: bool = True,
                   thresholds: StatusThresholds | None = None,
                   progress: Callable[[str, int, int], None] | None = None) -> ProgrammeView:
    """The DfE programme team's view of all recorded implementations.

    `progress(label, done, total)` is called after each implementation (the CLI draws a bar).
    """
    implementations = list_implementations(store)
    if with_effects and history is None and implementations:
        history = _store_history(store)
    notes: list[str] = []
    if with_effects and history is not None and history.empty:
        notes.append("no published CLA history in the store: effect estimates not available")
    rows: list[dict[str, object]] = []
    others = frozenset(i.la_code for i in implementations)
    for done, imp in enumerate(implementations, start=1):
        if progress is not None:
            progress(imp.la_name, done - 1, len(implementations))
        row: dict[str, object] = {
            "model": imp.model, "model_label": MODELS[imp.model], "la_code": imp.la_code,
            "la_name": imp.la_name, "go_live_date": imp.go_live_date,
            "go_live_approximate": imp.approximate, "implementation_id": imp.implementation_id,
            "baseline_locked": False, "status": "no locked baseline", "saving_suppressed": False,
            "to_period": None, "cumulative_saving_gbp": np.nan,
            "cumulative_saving_gbp_low": np.nan, "cumulative_saving_gbp_high": np.nan,
            "cumulative_expected_saving_gbp": np.nan, "price_base_year": None,
            "did_effect_pct": np.nan, "did_low_pct": np.nan, "did_high_pct": np.nan,
            "did_pre_trend_ok": None, "sc_effect_pct": np.nan, "sc_low_pct": np.nan,
            "sc_high_pct": np.nan, "sc_pre_period_rmspe": np.nan,
        }
        locked = bool(baseline_revisions(store, imp.implementation_id))
        try:
            realised = realised_for(store, imp.implementation_id, thresholds)
            row.update(baseline_locked=True, status=realised.status,
                       price_base_year=realised.price_base_year)
            if realised.has_periods:
                last = suppress_realised(realised.periods).iloc[-1]
                row.update(to_period=last["period"], cumulative_expected_saving_gbp=last[
                    "cumulative_expected_saving_gbp"])
                if last["cumulative_saving_gbp"] == SUPPRESSED:
                    row.update(saving_suppressed=True)
                else:
                    row.update({k: last[k] for k in (
                        "cumulative_saving_gbp", "cumulative_saving_gbp_low",
                        "cumulative_saving_gbp_high")})
        except TrackError as exc:
            if locked:
                row.update(baseline_locked=True, status="not computed")
                notes.append(f"{imp.la_name}: realised benefit not computed: {exc}")
        if with_effects and history is not None and not history.empty:
            estimates = estimate_effects(
                history, imp.la_code, imp.go_live_date,
                published_neighbours=_published_neighbours(store, imp.la_code), exclude=others)
            if estimates.did is not None:
                row.update(did_effect_pct=estimates.did.effect_pct,
                           did_low_pct=estimates.did.interval_pct[0],
                           did_high_pct=estimates.did.interval_pct[1],
                           did_pre_trend_ok=estimates.did.pre_trend_ok)
            if estimates.synthetic_control is not None:
                sc = estimates.synthetic_control
                row.update(sc_effect_pct=sc.effect_pct, sc_low_pct=sc.interval_pct[0],
                           sc_high_pct=sc.interval_pct[1],
                           sc_pre_period_rmspe=sc.pre_period_rmspe)
            notes.extend(f"{imp.la_name}: {p}" for p in estimates.problems)
        rows.append(row)
    if progress is not None:
        progress("done", len(implementations), len(implementations))
    table = pd.DataFrame.from_records(rows)
    bases = tuple(sorted({str(p) for p in table.get("price_base_year", pd.Series(dtype=str))
                          .dropna()}))
    if len(bases) > 1:
        notes.append("implementations use different price bases: convert before adding £ across "
                     "LAs")
    if not table.empty and table["saving_suppressed"].any():
        notes.append("realised savings marked c are withheld because a count of children from 1 "
                     "to 5 could be worked out from them; totals by model leave them out")
    if any(i.approximate for i in implementations):
        notes.append("go-live dates marked approximate are not exact: see each implementation's "
                     "basis")
    return ProgrammeView(table, bases, tuple(notes))


def seed_demo(store: Store, scenario_name: str = "SFPC business case (demo)") -> list[
        Implementation]:
    """Record the 18 real SFPC adopters with model and go-live date (approximate ones flagged).

    LAs already recorded for the same model are left as they are.
    """
    existing = {(i.la_code, i.model) for i in list_implementations(store)}
    recorded: list[Implementation] = []
    for adopter in SFPC_ADOPTERS:
        if (adopter.la_code, adopter.model) in existing:
            continue
        recorded.append(record_implementation(
            store, adopter.la_code, adopter.la_name, adopter.model, adopter.go_live_date,
            scenario_name, date_precision=adopter.date_precision,
            go_live_basis=f"{adopter.programme}. {adopter.go_live_basis}",
            go_live_earliest=adopter.go_live_earliest, go_live_latest=adopter.go_live_latest))
    return recorded
