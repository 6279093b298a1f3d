"""Monte Carlo appraisal of an innovation over demand draws: effects, costs, NPV, payback, ROI,
sensitivity.

`simulate` is a pure function: demand draws + an innovation model + a parameter set (defaults
with overrides) -> ProjectionResult. Parameters are drawn once per draw from their distributions,
each from its own random stream keyed by the seed and the parameter id, so results are reproducible.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from sf_benefits.assumptions import (
    InnovationModel,
    MissingAssumptionError,
    Parameter,
    ParameterSet,
    apply_overrides,
    financial_year_label,
    parameter_table,
)
from sf_benefits.assumptions.schema import Term, check_financial_year, is_money_unit
from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.project.money import (
    DEFLATOR_ID,
    WEEKS_PER_YEAR,
    discount_factors,
    payback_index,
    price_base_factor,
    return_on_investment,
)
from sf_benefits.project.result import Interval, ProjectionResult
from sf_benefits.project.scenario import (
    DemandPaths,
    ScenarioPaths,
    Shift,
    apply_scenario,
    averted_flows,
    cease_hazard,
    placement_mix,
    ramp_fraction,
)
from sf_benefits.project.unit_costs import unit_cost_id

QUANTILES = (0.1, 0.5, 0.9)
SENSITIVITY_DRAWS = 2_000
"""Demand draws used for each sensitivity run (parameters fixed, so only the forecast varies)."""
DRIVER_SHARE = 0.1
"""A parameter drives the result when its sensitivity swing is at least this share of the largest."""
MONEY_MEASURES = (
    "baseline_cost", "scenario_cost", "gross_savings", "benefits_after_adjustments",
    "implementation_cost", "running_cost", "total_cost", "net_savings", "cumulative_net_savings",
    "discounted_net_savings", "cumulative_discounted_net_savings",
)


@dataclass(frozen=True)
class RunPlan:
    """Which parameters a run uses, which optional components it leaves out, and the cost terms."""

    used: tuple[str, ...]
    ramp_up: str
    excluded: tuple[str, ...]
    starts_reduction: str | None
    averted_terms: tuple[Term, ...]
    shifts: tuple[tuple[int, int, str], ...]
    implementation_terms: tuple[Term, ...]
    running_terms: tuple[Term, ...]
    other_savings_terms: tuple[Term, ...]
    costed_placements: tuple[str, ...]


def plan_run(
    model: InnovationModel,
    params: ParameterSet,
    placements: tuple[str, ...],
    placements_with_children: set[str],
    horizon: int,
    price_base_year: str,
) -> RunPlan:
    """Work out what the run depends on; refuse, naming every parameter without a value.

    Optional components (parameters marked required: false, only where leaving them out cannot raise
    the net benefit) are dropped and recorded instead.
    """
    unknown = [p for p in placements if p not in PLACEMENTS]
    if unknown:
        raise ValueError(f"unknown placement type(s) in the demand draws: {unknown}")
    mech = model.mechanisms
    missing: list[str] = []
    excluded: list[str] = []

    def usable(ids: list[str], label: str) -> bool:
        absent = [i for i in ids if not params[i].has_value]
        if not absent:
            return True
        if all(not params[i].required for i in absent):
            excluded.append(f"{label} (no value for {', '.join(absent)})")
            return False
        missing.extend(i for i in absent if params[i].required)
        return False

    used: list[str] = ["discount_rate", "optimism_bias_costs", "optimism_bias_benefits",
                       "deadweight", mech.ramp_up_years]
    if horizon > 30:
        used.append("discount_rate_long_term")
    usable(used.copy(), "appraisal")

    starts_reduction = None
    if mech.starts_reduction and usable([mech.starts_reduction], "reduction in starts"):
        starts_reduction = mech.starts_reduction
        used.append(starts_reduction)

    def terms(items: list[Term], kind: str) -> tuple[Term, ...]:
        kept = []
        for term in items:
            needed = [*term.product_of, *filter(None, [term.not_additional_from])]
            if usable(needed, f"{kind}: {term.label}"):
                kept.append(term)
                used.extend(needed)
        return tuple(kept)

    averted_terms = terms(mech.averted_starts_per_year, "averted starts")
    implementation_terms = terms(mech.implementation_costs, "implementation cost")
    running_terms = terms(mech.running_costs, "running cost")
    other_terms = terms(mech.other_savings, "other savings")
    shifts = []
    costed = set(placements_with_children)
    for shift in mech.placement_shifts:
        if shift.from_placement not in placements or shift.to_placement not in placements:
            raise ValueError(f"placement shift {shift.from_placement} -> {shift.to_placement} "
                             "refers to a placement the demand draws do not have")
        label = f"placement shift {shift.from_placement} -> {shift.to_placement}"
        if usable([shift.proportion], label):
            shifts.append((placements.index(shift.from_placement),
                           placements.index(shift.to_placement), shift.proportion))
            used.append(shift.proportion)
            if shift.from_placement in costed:
                costed.add(shift.to_placement)
    costed_placements = tuple(p for p in placements if p in costed)
    cost_ids = [unit_cost_id(p) for p in costed_placements]
    usable(cost_ids, "unit costs")
    used.extend(cost_ids)

    check_financial_year(price_base_year)
    deflator = params[DEFLATOR_ID]
    bases = {params[i].price_base_year for i in dict.fromkeys(used)
             if is_money_unit(params[i].unit) and params[i].has_value}
    if any(b != price_base_year for b in bases):
        if not deflator.has_value:
            missing.append(DEFLATOR_ID)
        else:
            used.append(DEFLATOR_ID)
    if missing:
        raise MissingAssumptionError([params[i] for i in dict.fromkeys(missing)])
    return RunPlan(
        used=tuple(dict.fromkeys(used)), ramp_up=mech.ramp_up_years, excluded=tuple(excluded),
        starts_reduction=starts_reduction,
        averted_terms=averted_terms, shifts=tuple(shifts),
        implementation_terms=implementation_terms, running_terms=running_terms,
        other_savings_terms=other_terms, costed_placements=costed_placements,
    )


def draw_parameter(param: Parameter, n_draws: int, when: date, seed: int) -> np.ndarray:
    """`n_draws` values from the parameter's distribution (its own stream: seed and id)."""
    central = param.value_at(when)
    if central is None:
        raise MissingAssumptionError([param])
    dist = param.distribution
    rng = np.random.default_rng([seed, zlib.crc32(param.id.encode())])
    if dist.kind == "fixed":
        return np.full(n_draws, central)
    if dist.kind == "uniform":
        assert dist.low is not None and dist.high is not None
        return rng.uniform(dist.low, dist.high, n_draws)
    if dist.kind == "triangular":
        assert dist.low is not None and dist.high is not None
        if dist.low == dist.high:
            return np.full(n_draws, central)
        return rng.triangular(dist.low, central, dist.high, n_draws)
    assert dist.sd is not None
    low = -np.inf if dist.low is None else (dist.low - central) / dist.sd
    high = np.inf if dist.high is None else (dist.high - central) / dist.sd
    return np.asarray(stats.truncnorm.rvs(low, high, loc=central, scale=dist.sd, size=n_draws,
                                          random_state=rng), dtype=float)


@dataclass(frozen=True)
class _Evaluation:
    paths: ScenarioPaths | None
    money: dict[str, np.ndarray]
    npv: np.ndarray
    pv_benefits: np.ndarray
    pv_costs: np.ndarray
    payback: np.ndarray


def _product(term: Term, values: Mapping[str, np.ndarray]) -> np.ndarray:
    result = np.ones(1)
    for pid in term.product_of:
        result = result * values[pid]
    return result


def _yearly(term: Term, values: Mapping[str, np.ndarray], years: np.ndarray) -> np.ndarray:
    """The term in each projected year (draws x years), zero from the financial year a statutory
    duty puts it in the counterfactual (`years` end 31 March, so a year starts in `years - 1`)."""
    amount = _product(term, values).reshape(-1, 1)
    if term.not_additional_from is None:
        return amount * np.ones((1, years.size))
    duty_from = values[term.not_additional_from].reshape(-1, 1)
    return amount * ((years.reshape(1, -1) - 1) < duty_from)


def _average_in_year(closing: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """Mean of the opening and closing 31 March values of each financial year (draws x years)."""
    first = np.broadcast_to(opening.reshape(-1, 1), closing[:, :1].shape)
    previous = np.concatenate([first, closing[:, :-1]], axis=1)
    return (previous + closing) / 2.0


def _weekly_costs(plan: RunPlan, values: Mapping[str, np.ndarray],
                  placements: tuple[str, ...]) -> np.ndarray:
    """Weekly unit cost by placement, one row per draw (or a single row when all are central)."""
    rows = max([values[unit_cost_id(p)].shape[0] for p in plan.costed_placements] or [1])
    weekly = np.zeros((rows, len(placements)))
    for placement in plan.costed_placements:
        weekly[:, placements.index(placement)] = values[unit_cost_id(placement)]
    return weekly


@dataclass(frozen=True)
class _FirstDraws:
    """The first draws of a demand forecast (same shape contract as DemandDraws)."""

    years: np.ndarray
    placements: tuple[str, ...]
    cla: np.ndarray
    starts: np.ndarray
    ceases: np.ndarray


class _Baseline:
    """The demand draws with the arrays every evaluation reuses worked out once."""

    def __init__(self, demand: DemandPaths) -> None:
        self.demand = demand
        self.cla = np.asarray(demand.cla, dtype=float)
        self.total = self.cla.sum(axis=2)
        self.hazard = cease_hazard(self.total, np.asarray(demand.ceases, dtype=float))
        self._costs: dict[bytes, np.ndarray] = {}

    def first(self, n_draws: int) -> _Baseline:
        """The same baseline restricted to its first `n_draws` draws."""
        if n_draws >= self.cla.shape[0]:
            return self
        d = self.demand
        return _Baseline(_FirstDraws(np.asarray(d.years), tuple(d.placements), self.cla[:n_draws],
                                     np.asarray(d.starts)[:n_draws],
                                     np.asarray(d.ceases)[:n_draws]))

    def cost_of_stock(self, weekly: np.ndarray) -> np.ndarray:
        """Weekly cost of the children at each 31 March (draws x years); central costs cached."""
        if weekly.shape[0] != 1:
            return np.einsum("dtp,dp->dt", self.cla, weekly)
        key = weekly.tobytes()
        if key not in self._costs:
            self._costs[key] = np.asarray(self.cla @ weekly[0])
        return self._costs[key]


def _evaluate(
    baseline: _Baseline,
    opening: np.ndarray,
    plan: RunPlan,
    values: Mapping[str, np.ndarray],
    discount_rate: float,
    long_term_rate: float | None,
    with_paths: bool = False,
) -> _Evaluation:
    """Money for every draw (only the NPV unless `with_paths`, which adds the scenario paths).

    Costs are linear in the children in each placement, so the saving is worked out on draws x
    years arrays: children kept out of care x the average weekly cost of the baseline mix, plus
    children shifted x the cost difference between the two placements."""
    demand = baseline.demand
    cla = baseline.cla
    n_draws, horizon, _ = cla.shape
    placements = tuple(demand.placements)
    ramp = ramp_fraction(values[plan.ramp_up], horizon)
    years = np.asarray(demand.years, dtype=int)
    averted = None
    if plan.averted_terms:
        averted = sum((_yearly(t, values, years) for t in plan.averted_terms), np.zeros((1, 1)))
    starts_reduction = None if plan.starts_reduction is None else values[plan.starts_reduction]
    flows = averted_flows(demand, ramp, starts_reduction, averted, total=baseline.total,
                          hazard=baseline.hazard)
    weekly = _weekly_costs(plan, values, placements)
    closing_cost = baseline.cost_of_stock(weekly)
    total = baseline.total
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_cost = np.where(total > 0, closing_cost / np.where(total > 0, total, 1.0), 0.0)
    reduction = flows.kept_out_of_care * mean_cost
    if plan.shifts:
        share = placement_mix(cla, total)
        current: dict[int, np.ndarray] = {}
        for from_index, to_index, pid in plan.shifts:
            for index in (from_index, to_index):
                if index not in current:
                    current[index] = cla[:, :, index] - flows.kept_out_of_care * share[:, :, index]
            moved = values[pid].reshape(-1, 1) * ramp * current[from_index]
            current[from_index] = current[from_index] - moved
            current[to_index] = current[to_index] + moved
            difference = (weekly[:, from_index] - weekly[:, to_index]).reshape(-1, 1)
            reduction = reduction + moved * difference
    opening_cost = weekly @ opening
    baseline_cost = _average_in_year(closing_cost, opening_cost) * WEEKS_PER_YEAR
    placement_savings = _average_in_year(reduction, np.zeros(1)) * WEEKS_PER_YEAR

    other = np.zeros((n_draws, horizon))
    for term in plan.other_savings_terms:
        other = other + _yearly(term, values, years) * ramp
    gross = placement_savings + other
    keep = (1.0 - values["deadweight"]) * (1.0 - values["optimism_bias_benefits"])
    benefits = gross * keep.reshape(-1, 1)
    uplift = (1.0 + values["optimism_bias_costs"]).reshape(-1, 1)
    implementation = np.zeros((n_draws, horizon))
    for term in plan.implementation_terms:
        implementation[:, 0] += np.broadcast_to(_product(term, values), (n_draws,))
    implementation = implementation * uplift
    running = np.zeros((n_draws, horizon))
    for term in plan.running_terms:
        running = running + _yearly(term, values, years)
    running = running * uplift
    total_cost = implementation + running
    net = benefits - total_cost
    factors = discount_factors(horizon, discount_rate, long_term_rate)
    discounted = net * factors
    if not with_paths:
        return _Evaluation(paths=None, money={}, npv=discounted.sum(axis=1),
                           pv_benefits=np.zeros(0), pv_costs=np.zeros(0), payback=np.zeros(0))
    money = {
        "baseline_cost": baseline_cost,
        "scenario_cost": baseline_cost - placement_savings,
        "gross_savings": gross,
        "benefits_after_adjustments": benefits,
        "implementation_cost": implementation,
        "running_cost": running,
        "total_cost": total_cost,
        "net_savings": net,
        "cumulative_net_savings": np.cumsum(net, axis=1),
        "discounted_net_savings": discounted,
        "cumulative_discounted_net_savings": np.cumsum(discounted, axis=1),
    }
    paths = apply_scenario(
        demand, ramp, starts_reduction=starts_reduction, averted_per_year=averted,
        shifts=tuple(Shift(f, t, values[p]) for f, t, p in plan.shifts),
        total=baseline.total, hazard=baseline.hazard,
    )
    return _Evaluation(
        paths=paths, money=money,
        npv=discounted.sum(axis=1), pv_benefits=(benefits * factors).sum(axis=1),
        pv_costs=(total_cost * factors).sum(axis=1), payback=payback_index(net),
    )


def _interval(draws: np.ndarray) -> Interval:
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), float("nan"))
    p10, p50, p90 = np.quantile(finite, QUANTILES)
    return Interval(float(p10), float(p50), float(p90), float(finite.mean()))


def _quantile_rows(array: np.ndarray) -> np.ndarray:
    """P10/P50/P90 over draws (axis 0) as numpy's default linear quantiles, from a partial sort
    (np.partition) along contiguous memory: several times faster than np.quantile over axis 0."""
    n_draws = array.shape[0]
    positions = [q * (n_draws - 1) for q in QUANTILES]
    lows = [int(np.floor(p)) for p in positions]
    highs = [min(low + 1, n_draws - 1) for low in lows]
    ordered = np.partition(np.ascontiguousarray(array.reshape(n_draws, -1).T),
                           sorted(set(lows + highs)), axis=1)
    out = np.empty((len(QUANTILES), ordered.shape[0]))
    for row, (position, low, high) in enumerate(zip(positions, lows, highs, strict=True)):
        weight = position - low
        out[row] = ordered[:, low] + (ordered[:, high] - ordered[:, low]) * weight
    return out.reshape((len(QUANTILES), *array.shape[1:]))


def simulate(
    demand: DemandPaths,
    model: InnovationModel,
    params: ParameterSet,
    *,
    opening_cla: np.ndarray,
    price_base_year: str,
    seed: int,
    la_code: str,
    method: str,
    discount_rate: float | None = None,
    observed: pd.DataFrame | None = None,
    sensitivity: bool = True,
    basis: Mapping[str, str] | None = None,
    keep_draws: bool = False,
) -> ProjectionResult:
    """Appraise `model` against the baseline `demand` draws for one LA, with uncertainty.

    `opening_cla` is the number of children in each placement at the 31 March before the first
    projected year (in `demand.placements` order). `discount_rate` replaces the default rate and is
    recorded as a run setting. `basis` says how a parameter's value was chosen (e.g. the LA's own
    LAIT unit cost); it is shown beside the value unless a user override replaced it.
    `keep_draws` keeps the draws of the additive headline measures.
    """
    cla = np.asarray(demand.cla, dtype=float)
    n_draws, horizon, n_places = cla.shape
    opening = np.asarray(opening_cla, dtype=float)
    years = np.asarray(demand.years, dtype=int)
    _check_shapes(demand, opening)
    if discount_rate is not None:
        params = apply_overrides(
            params,
            {"discount_rate": {"value": discount_rate, "source": "discount rate set for this run",
                               "confidence": params["discount_rate"].confidence}},
            by="run setting",
        )
    with_children = {p for i, p in enumerate(demand.placements)
                     if opening[i] > 0 or bool(np.any(cla[:, :, i] > 0))}
    plan = plan_run(model, params, tuple(demand.placements), with_children, horizon,
                    price_base_year)
    start = date(int(years[0]) - 1, 4, 1)
    factors = {
        pid: price_base_factor(params[DEFLATOR_ID], params[pid].price_base_year or price_base_year,
                               price_base_year)
        for pid in plan.used if is_money_unit(params[pid].unit)
    }
    draw_ids = [pid for pid in plan.used if pid != DEFLATOR_ID]
    values = {pid: draw_parameter(params[pid], n_draws, start, seed) * factors.get(pid, 1.0)
              for pid in draw_ids}
    rate = float(params["discount_rate"].value_at(start) or 0.0)
    long_rate = (params["discount_rate_long_term"].value_at(start)
                 if "discount_rate_long_term" in plan.used else None)
    baseline = _Baseline(demand)
    result = _evaluate(baseline, opening, plan, values, rate, long_rate, with_paths=True)
    assert result.paths is not None

    labels = tuple(financial_year_label(int(y)) for y in years)
    payback = np.where(result.payback < 0, horizon, result.payback)
    median_payback = int(np.quantile(payback, 0.5, method="inverted_cdf"))
    table = parameter_table(params.subset(plan.used))
    table["price_base_factor"] = [factors.get(pid, np.nan) for pid in table["id"]]
    table["value_in_price_base"] = [
        (params[pid].value_at(start) or np.nan) * factors[pid] if pid in factors else np.nan
        for pid in table["id"]
    ]
    table["basis"] = [_basis(params[pid], (basis or {}).get(pid)) for pid in table["id"]]
    return ProjectionResult(
        la_code=la_code, model=model.name, model_title=model.title, method=method, seed=seed,
        n_draws=n_draws, horizon=horizon, price_base_year=price_base_year, discount_rate=rate,
        financial_years=labels,
        counts=_counts_frame(demand, result.paths),
        money=_money_frame(result.money, labels),
        net_present_value=_interval(result.npv),
        present_value_benefits=_interval(result.pv_benefits),
        present_value_costs=_interval(result.pv_costs),
        return_on_investment=_interval(return_on_investment(result.pv_benefits, result.pv_costs)),
        probability_net_present_value_positive=float(np.mean(result.npv > 0)),
        payback_year=labels[median_payback] if median_payback < horizon else None,
        probability_of_payback=float(np.mean(result.payback >= 0)),
        sensitivity=(_sensitivity(baseline, opening, plan, params, start, factors, rate, long_rate)
                     if sensitivity else _empty_sensitivity()),
        assumptions=table,
        excluded=plan.excluded,
        observed=observed if observed is not None else pd.DataFrame(
            columns=["year", "measure", "placement", "value"]),
        notes=_method_notes(rate, price_base_year, n_draws, seed) + _duty_notes(plan, params),
        draws=_kept_draws(result, cla) if keep_draws else {},
    )


def _kept_draws(result: _Evaluation, baseline_cla: np.ndarray) -> dict[str, np.ndarray]:
    assert result.paths is not None
    return {
        "net_present_value": result.npv, "present_value_benefits": result.pv_benefits,
        "present_value_costs": result.pv_costs,
        **{m: result.money[m] for m in ("baseline_cost", "scenario_cost", "net_savings")},
        "baseline_cla": baseline_cla.sum(axis=2), "scenario_cla": result.paths.cla.sum(axis=2),
    }


def _check_shapes(demand: DemandPaths, opening: np.ndarray) -> None:
    cla = np.asarray(demand.cla)
    if cla.ndim != 3:
        raise ValueError("demand.cla must be draws x years x placements")
    n_draws, horizon, n_places = cla.shape
    if len(demand.placements) != n_places or opening.shape != (n_places,):
        raise ValueError("placements, cla and opening_cla disagree on the number of placements")
    if np.asarray(demand.years).shape != (horizon,):
        raise ValueError("demand.years must have one entry per projected year")
    for name in ("starts", "ceases"):
        if np.asarray(getattr(demand, name)).shape != (n_draws, horizon):
            raise ValueError(f"demand.{name} must be draws x years")
    for name, array in (("cla", cla), ("starts", demand.starts), ("ceases", demand.ceases),
                        ("opening_cla", opening)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds missing or infinite values")


def _counts_frame(demand: DemandPaths, paths: ScenarioPaths) -> pd.DataFrame:
    years = np.asarray(demand.years, dtype=int)
    frames = []
    series: list[tuple[str, np.ndarray, tuple[str, ...]]] = []
    for name, stock in (("baseline", np.asarray(demand.cla, dtype=float)),
                        ("scenario", paths.cla)):
        full = np.concatenate([stock, stock.sum(axis=2, keepdims=True)], axis=2)
        series.append((name, full, (*demand.placements, ALL_PLACEMENTS)))
    for name, flow in (("baseline_starts", np.asarray(demand.starts, dtype=float)),
                       ("scenario_starts", paths.starts),
                       ("averted_starts", paths.averted_starts),
                       ("kept_out_of_care", paths.kept_out_of_care)):
        series.append((name, flow[:, :, None], (ALL_PLACEMENTS,)))
    for name, array, placements in series:
        q = _quantile_rows(array)
        n_years, n_places = array.shape[1], array.shape[2]
        frames.append(pd.DataFrame({
            "year": np.repeat(years, n_places),
            "series": name,
            "placement": np.tile(placements, n_years),
            "p10": q[0].ravel(), "p50": q[1].ravel(), "p90": q[2].ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def _money_frame(money: Mapping[str, np.ndarray], labels: tuple[str, ...]) -> pd.DataFrame:
    frames = []
    for measure in MONEY_MEASURES:
        array = money[measure]
        q = _quantile_rows(array)
        frames.append(pd.DataFrame({
            "financial_year": labels, "measure": measure,
            "p10": q[0], "p50": q[1], "p90": q[2], "mean": array.mean(axis=0),
        }))
    return pd.concat(frames, ignore_index=True)


def _sensitivity(
    baseline: _Baseline, opening: np.ndarray, plan: RunPlan, params: ParameterSet, start: date,
    factors: Mapping[str, float], rate: float, long_rate: float | None,
) -> pd.DataFrame:
    baseline = baseline.first(SENSITIVITY_DRAWS)
    central = {pid: np.array([(params[pid].value_at(start) or 0.0) * factors.get(pid, 1.0)])
               for pid in plan.used if pid != DEFLATOR_ID}
    base = float(np.median(_evaluate(baseline, opening, plan, central, rate, long_rate).npv))
    rows = []
    for pid in plan.used:
        param = params[pid]
        bounds = param.low_high
        if pid in ("discount_rate", "discount_rate_long_term", DEFLATOR_ID) or bounds is None:
            continue
        if bounds[0] == bounds[1]:
            continue
        npvs = []
        for bound in bounds:
            trial = dict(central)
            trial[pid] = np.array([bound * factors.get(pid, 1.0)])
            outcome = _evaluate(baseline, opening, plan, trial, rate, long_rate)
            npvs.append(float(np.median(outcome.npv)))
        rows.append({
            "parameter_id": pid, "description": param.description, "unit": param.unit,
            "central": param.value_at(start), "low": bounds[0], "high": bounds[1],
            "npv_p50_central": base, "npv_p50_low": npvs[0], "npv_p50_high": npvs[1],
            "swing": abs(npvs[1] - npvs[0]), "confidence": param.confidence,
            "status": param.status,
        })
    if not rows:
        return _empty_sensitivity()
    table = pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)
    largest = float(table["swing"].max())
    table["driver"] = (table["swing"] > 0) & (table["swing"] >= DRIVER_SHARE * largest)
    return table


def _empty_sensitivity() -> pd.DataFrame:
    return pd.DataFrame(columns=["parameter_id", "description", "unit", "central", "low", "high",
                                 "npv_p50_central", "npv_p50_low", "npv_p50_high", "swing",
                                 "confidence", "status", "driver"])


def _basis(param: Parameter, chosen: str | None) -> str:
    """How the run's value of a parameter was chosen: override, local data or research default."""
    if param.status == "override":
        return f"user override ({param.references[0].publisher})"
    if chosen:
        return chosen
    return f"research default ({param.status}, grade {param.confidence})"


def _duty_notes(plan: RunPlan, params: ParameterSet) -> tuple[str, ...]:
    """Which terms a statutory duty takes out of the appraisal, and from when."""
    return tuple(
        f"{term.label[:1].upper()}{term.label[1:]}: in the counterfactual from "
        f"{financial_year_label(int(duty.value or 0) + 1)}, when a statutory duty starts "
        f"({duty.id}, grade {duty.confidence}), so neither a benefit nor a cost from then."
        for term in (*plan.averted_terms, *plan.running_terms, *plan.other_savings_terms)
        if term.not_additional_from and (duty := params[term.not_additional_from]))


def _method_notes(rate: float, price_base_year: str, n_draws: int, seed: int) -> tuple[str, ...]:
    return (
        f"Monte Carlo: {n_draws} draws (seed {seed}) over the baseline forecast paths and every "
        "parameter's distribution; P10/P50/P90 are quantiles across draws. Sensitivity: NPV P50 "
        f"over the first {min(n_draws, SENSITIVITY_DRAWS)} forecast draws with one parameter at "
        "its low or high and the others at their central values.",
        "Averted starts stay out of care with the baseline cease hazard, "
        "ceases / (31 March stock + ceases), and are removed from placements in proportion to "
        "the baseline mix.",
        f"Cost = weekly unit cost x {WEEKS_PER_YEAR:.2f} weeks x average of the opening and "
        f"closing 31 March stock in each financial year; pounds in {price_base_year} prices "
        "(real terms).",
        "Benefits are net of deadweight and the optimism-bias reduction; costs carry the "
        "optimism-bias uplift; implementation costs fall in the first financial year.",
        f"A figure rests on grade D where a grade-D parameter drives it (a swing in NPV P50 of "
        f"at least {DRIVER_SHARE:.0%} of the largest).",
        f"Discounted at {rate:.2%} a year from the first projected financial year (undiscounted); "
        "payback is the first year from which cumulative net savings stay at or above zero.",
    )
