"""Apply an innovation's effects to demand draws: averted starts, their time out of care,
placement shifts.

Everything is vectorised over Monte Carlo draws; only the short loop over projected years remains,
because the children kept out of care in one year carry over to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class DemandPaths(Protocol):
    """What the scenario engine needs from a demand forecast (the demand engine's DemandDraws)."""

    @property
    def years(self) -> np.ndarray: ...  # (H,) years ending 31 March
    @property
    def placements(self) -> tuple[str, ...]: ...
    @property
    def cla(self) -> np.ndarray: ...  # (D, H, P) children looked after at 31 March
    @property
    def starts(self) -> np.ndarray: ...  # (D, H)
    @property
    def ceases(self) -> np.ndarray: ...  # (D, H)


@dataclass(frozen=True)
class Shift:
    """Move `proportion` (per draw) of the children in one placement to another, at full effect."""

    from_index: int
    to_index: int
    proportion: np.ndarray  # (D,) or scalar


@dataclass(frozen=True)
class ScenarioPaths:
    """Children in care with the innovation, and what changed against the baseline."""

    cla: np.ndarray  # (D, H, P) at 31 March
    starts: np.ndarray  # (D, H)
    ceases: np.ndarray  # (D, H)
    averted_starts: np.ndarray  # (D, H) starts prevented in the year
    kept_out_of_care: np.ndarray  # (D, H) children at 31 March who would otherwise be in care


def ramp_fraction(years_to_full_effect: np.ndarray | float, horizon: int) -> np.ndarray:
    """Share of full effect in projected year t (1-based): min(1, t / years); 0 = full at once."""
    years = np.atleast_1d(np.asarray(years_to_full_effect, dtype=float))
    if np.any(years < 0):
        raise ValueError("ramp-up years cannot be negative")
    t = np.arange(1, horizon + 1, dtype=float)
    with np.errstate(divide="ignore"):
        safe = np.where(years > 0, years, 1.0)[:, None]
        fraction = np.where(years[:, None] > 0, t[None, :] / safe, 1.0)
    return np.minimum(fraction, 1.0)


def cease_hazard(cla_total: np.ndarray, ceases: np.ndarray) -> np.ndarray:
    """Share of children in care in a year who leave in it: ceases / (31 March stock + ceases).

    Uses the identity opening stock + starts = closing stock + ceases; its inverse is the expected
    time in care, so averted starts stay out of care for as long as the baseline children stay in.
    """
    exposure = cla_total + ceases
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(exposure > 0, ceases / np.where(exposure > 0, exposure, 1.0), 1.0)
    return np.clip(hazard, 0.0, 1.0)


@dataclass(frozen=True)
class AvertedFlows:
    """Starts prevented each year and the children they keep out of care at each 31 March."""

    averted_starts: np.ndarray  # (D, H)
    kept_out_of_care: np.ndarray  # (D, H)
    fewer_ceases: np.ndarray  # (D, H)


def averted_flows(
    demand: DemandPaths,
    ramp: np.ndarray,
    starts_reduction: np.ndarray | None = None,
    averted_per_year: np.ndarray | None = None,
    *,
    total: np.ndarray | None = None,
    hazard: np.ndarray | None = None,
) -> AvertedFlows:
    """Averted starts = baseline starts x reduction x ramp, plus a count a year (per draw, or per
    draw and year) x ramp (capped at the baseline starts); those children would have stayed in
    care with the baseline cease hazard.
    `total` (children in care) and `hazard` may be passed in when already worked out.
    """
    starts = np.asarray(demand.starts, dtype=float)
    ceases = np.asarray(demand.ceases, dtype=float)
    n_draws, horizon = starts.shape
    averted = np.zeros((n_draws, horizon))
    if starts_reduction is not None:
        averted = averted + starts * np.asarray(starts_reduction, dtype=float).reshape(-1, 1) * ramp
    if averted_per_year is not None:
        per_year = np.asarray(averted_per_year, dtype=float)
        averted = averted + (per_year if per_year.ndim == 2 else per_year.reshape(-1, 1)) * ramp
    averted = np.minimum(averted, starts)
    if total is None:
        total = np.asarray(demand.cla, dtype=float).sum(axis=2)
    if hazard is None:
        hazard = cease_hazard(total, ceases)
    by_year = np.ascontiguousarray(averted.T)
    stay = np.ascontiguousarray((1.0 - hazard).T)
    cap = np.ascontiguousarray(total.T)
    kept_out = np.empty((horizon, n_draws))
    fewer_ceases = np.empty((horizon, n_draws))
    previous = np.zeros(n_draws)
    for t in range(horizon):
        exposed = previous + by_year[t]
        current = np.minimum(exposed * stay[t], cap[t])
        fewer_ceases[t] = exposed - current
        kept_out[t] = current
        previous = current
    return AvertedFlows(averted, kept_out.T, fewer_ceases.T)


def placement_mix(cla: np.ndarray, total: np.ndarray | None = None) -> np.ndarray:
    """Share of each draw-year's children in each placement (0 where nobody is in care)."""
    if total is None:
        total = cla.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total[..., None] > 0, cla / np.where(total > 0, total, 1.0)[..., None], 0.0)


def apply_scenario(
    demand: DemandPaths,
    ramp: np.ndarray,
    starts_reduction: np.ndarray | None = None,
    averted_per_year: np.ndarray | None = None,
    shifts: tuple[Shift, ...] = (),
    *,
    total: np.ndarray | None = None,
    hazard: np.ndarray | None = None,
) -> ScenarioPaths:
    """The scenario paths for every draw.

    Averted children (see `averted_flows`) are removed from each placement in proportion to the
    baseline mix; shifts then move a share (x ramp) of one placement's children to another.
    """
    cla = np.asarray(demand.cla, dtype=float)
    if total is None:
        total = cla.sum(axis=2)
    flows = averted_flows(demand, ramp, starts_reduction, averted_per_year, total=total,
                          hazard=hazard)
    scenario = cla - flows.kept_out_of_care[..., None] * placement_mix(cla, total)
    for shift in shifts:
        proportion = np.asarray(shift.proportion, dtype=float).reshape(-1, 1)
        moved = proportion * ramp * scenario[:, :, shift.from_index]
        scenario[:, :, shift.from_index] -= moved
        scenario[:, :, shift.to_index] += moved
    return ScenarioPaths(
        cla=scenario,
        starts=np.asarray(demand.starts, dtype=float) - flows.averted_starts,
        ceases=np.asarray(demand.ceases, dtype=float) - flows.fewer_ceases,
        averted_starts=flows.averted_starts,
        kept_out_of_care=flows.kept_out_of_care,
    )
