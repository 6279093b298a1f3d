"""What would have happened without the model: difference-in-differences and synthetic control.

Both work on the children-looked-after rate per 10,000 children (CLA at 31 March / population
aged 0–17), one treated LA against LAs that did not adopt any of the three models.

Inference. With one treated LA, cluster-robust standard errors are unreliable (Conley & Taber
2011, Rev. Econ. Stat. 93(1); MacKinnon & Webb 2017, J. Appl. Econometrics 32(2)): they are
reported but the headline interval comes from placebo-in-space runs — every comparison LA in
turn treated as if it had adopted — which give the distribution of the estimator's error when
there is no effect (Conley–Taber for DiD; Abadie, Diamond & Hainmueller 2010, JASA 105(490) for
the synthetic control). Placebo-in-time moves go-live earlier, using pre-period years only, and
should find nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.optimize import nnls
from scipy.stats import norm

MIN_PRE_YEARS = 4
PLACEBO_FIT_FACTOR = 5.0
MIN_PLACEBOS_FOR_FILTER = 10
PRE_TREND_ALPHA = 0.05


class CounterfactualError(Exception):
    """The panel cannot support the estimate (too few years, comparators or data)."""


def first_post_year(go_live: date, min_exposure_months: int = 6) -> int:
    """First year (ending 31 March) whose 31 March count had the model for `min_exposure_months`.

    CLA is counted at 31 March, so a go-live in February hardly touches that year's count; by
    default the first treated count is the first 31 March at least six months after go-live.
    """
    year = go_live.year + (1 if go_live.month > 3 else 0)
    months = (year - go_live.year) * 12 + (3 - go_live.month) + (1 if go_live.day == 1 else 0)
    return year if months >= min_exposure_months else year + 1


def cla_rate_panel(history: pd.DataFrame) -> pd.DataFrame:
    """Long panel la_code, year, cla, population_0_17, cla_rate_per_10k from a tidy history."""
    wanted = history[(history["placement"] == "all")
                     & history["measure"].isin(("cla_31_march", "population_0_17"))]
    wide = wanted.pivot_table(index=["la_code", "year"], columns="measure", values="value",
                              aggfunc="first").reset_index()
    for column in ("cla_31_march", "population_0_17"):
        if column not in wide:
            wide[column] = np.nan
    wide = wide.rename(columns={"cla_31_march": "cla"})
    population = wide["population_0_17"].where(wide["population_0_17"] > 0)
    wide["cla_rate_per_10k"] = wide["cla"] / population * 10_000
    wide["year"] = wide["year"].astype(int)
    return wide[["la_code", "year", "cla", "population_0_17", "cla_rate_per_10k"]]


def _matrix(panel: pd.DataFrame, treated: str, others: list[str],
            column: str = "cla_rate_per_10k") -> pd.DataFrame:
    """Rows = LAs (treated first), columns = the treated LA's years; LAs with gaps are dropped."""
    wide = panel.pivot_table(index="la_code", columns="year", values=column, aggfunc="first")
    if treated not in wide.index:
        raise CounterfactualError(f"{treated} has no children-looked-after rate in the panel")
    years = wide.columns[wide.loc[treated].notna().to_numpy()]
    wide = wide.loc[[treated, *[o for o in others if o in wide.index and o != treated]], years]
    wide = wide[(wide > 0).all(axis=1) & wide.notna().all(axis=1)]
    if treated not in wide.index:
        raise CounterfactualError(f"{treated} has gaps in its rate series")
    return wide


def _log(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(np.log(frame.to_numpy(dtype=float)), index=frame.index,
                        columns=frame.columns)


def nearest_comparators(panel: pd.DataFrame, treated: str, candidates: list[str],
                        first_post: int, k: int = 20) -> list[str]:
    """The k candidates closest to the treated LA in pre-period log-rate level and trend.

    Used when no published statistical neighbours are available ("computed neighbours").
    """
    wide = _log(_matrix(panel, treated, candidates))
    pre = wide[[y for y in wide.columns if int(y) < first_post]]
    if pre.shape[1] < MIN_PRE_YEARS:
        raise CounterfactualError("too few pre-period years to find comparators")
    x = np.asarray(pre.columns, dtype=float)
    slope = np.polyfit(x - x.mean(), pre.to_numpy().T, 1)[0]
    features = np.column_stack([pre.mean(axis=1).to_numpy(), slope])
    spread = features.std(axis=0)
    spread[spread == 0] = 1.0
    scaled = (features - features[0]) / spread
    distance = pd.Series(np.sqrt((scaled**2).sum(axis=1)), index=pre.index).drop(treated)
    return list(distance.sort_values().index[:k])


@dataclass(frozen=True)
class PlaceboInTime:
    """The same estimator with go-live moved earlier, on pre-period data only: should find ~0."""

    fake_first_post_year: int
    effect_pct: float
    interval_pct: tuple[float, float]

    @property
    def covers_zero(self) -> bool:
        """True when the fake go-live finds no effect distinguishable from zero."""
        return self.interval_pct[0] <= 0.0 <= self.interval_pct[1]


@dataclass(frozen=True)
class DidResult:
    """Two-way fixed-effects DiD on log CLA rate: one treated LA against comparison LAs.

    effect_pct is exp(β) − 1, the proportional change in CLA attributed to the model; the
    headline interval is from placebo-in-space (Conley–Taber); the cluster-robust one is beside it.
    Pre-trend check: the root-mean-square of the event-study lead coefficients is ranked among
    the same statistic for each comparator treated in turn; pre_trend_ok when its permutation
    p-value is at least 0.05 (a convention; the lead coefficients are in `event_study`).
    children_effect_per_year is the change in children looked after in an average post year
    (negative = fewer children in care than without the model).
    """

    treated: str
    comparators: tuple[str, ...]
    first_post_year: int
    years: tuple[int, ...]
    effect_log: float
    effect_pct: float
    interval_pct: tuple[float, float]
    interval_level: float
    interval_method: str
    cluster_se_log: float
    cluster_interval_pct: tuple[float, float]
    p_value_placebo: float
    n_placebos: int
    children_effect_per_year: float
    children_interval: tuple[float, float]
    event_study: pd.DataFrame
    pre_trend_ok: bool
    pre_trend_p_value: float
    pre_period_rmspe_log: float
    placebo_in_time: PlaceboInTime | None

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The estimate (one row) and the event-study coefficients."""
        row = {
            "method": "difference-in-differences (TWFE, log CLA rate)",
            "treated": self.treated, "n_comparators": len(self.comparators),
            "first_post_year": self.first_post_year, "effect_pct": self.effect_pct,
            "interval_low_pct": self.interval_pct[0], "interval_high_pct": self.interval_pct[1],
            "interval_level": self.interval_level, "interval_method": self.interval_method,
            "cluster_interval_low_pct": self.cluster_interval_pct[0],
            "cluster_interval_high_pct": self.cluster_interval_pct[1],
            "p_value_placebo": self.p_value_placebo,
            "children_effect_per_year": self.children_effect_per_year,
            "children_interval_low": self.children_interval[0],
            "children_interval_high": self.children_interval[1],
            "pre_trend_ok": self.pre_trend_ok, "pre_trend_p_value": self.pre_trend_p_value,
            "pre_period_rmspe_log": self.pre_period_rmspe_log,
            "placebo_in_time_year": None if self.placebo_in_time is None
            else self.placebo_in_time.fake_first_post_year,
            "placebo_in_time_effect_pct": None if self.placebo_in_time is None
            else self.placebo_in_time.effect_pct,
            "placebo_in_time_covers_zero": None if self.placebo_in_time is None
            else self.placebo_in_time.covers_zero,
        }
        return {"did_estimate": pd.DataFrame([row]), "did_event_study": self.event_study.copy()}


def _pct(log_value: float) -> float:
    return float(np.expm1(log_value))


def _placebo_interval(estimate: float, placebo_errors: np.ndarray,
                      level: float) -> tuple[float, float]:
    alpha = 1.0 - level
    low_q, high_q = np.quantile(placebo_errors, [alpha / 2, 1 - alpha / 2])
    return float(estimate - high_q), float(estimate - low_q)


def _did_closed_form(y: np.ndarray, post: np.ndarray) -> np.ndarray:
    """β for each row treated in turn against all other rows (balanced panel, one treated)."""
    change = y[:, post].mean(axis=1) - y[:, ~post].mean(axis=1)
    n = len(change)
    others_mean = (change.sum() - change) / (n - 1)
    return np.asarray(change - others_mean)


def _two_way_demean(values: np.ndarray) -> np.ndarray:
    return np.asarray(values - values.mean(axis=1, keepdims=True)
                      - values.mean(axis=0, keepdims=True) + values.mean())


def _twfe_cluster(log_y: np.ndarray, post: np.ndarray) -> tuple[float, float]:
    """Two-way fixed-effects β and its LA-clustered standard error (statsmodels).

    The LA and year effects are absorbed by two-way demeaning, which gives exactly the dummy-
    variable estimate in a balanced panel; the small-sample factor is rescaled to count the
    absorbed effects, so the standard error equals the full dummy-variable regression's.
    """
    n_units, n_years = log_y.shape
    treated_post = np.zeros_like(log_y)
    treated_post[0, post] = 1.0
    unit = np.repeat(np.arange(n_units), n_years)
    fit = sm.OLS(_two_way_demean(log_y).ravel(), _two_way_demean(treated_post).ravel()).fit(
        cov_type="cluster", cov_kwds={"groups": unit})
    n_obs = n_units * n_years
    k_full = 1 + (n_units - 1) + (n_years - 1) + 1
    rescale = np.sqrt((n_obs - 1) / (n_obs - k_full))
    return float(fit.params[0]), float(fit.bse[0] * rescale)


def _level_trend_features(log_y: np.ndarray, pre: np.ndarray, years: np.ndarray) -> np.ndarray:
    x = years[pre].astype(float)
    slope = np.polyfit(x - x.mean(), log_y[:, pre].T, 1)[0]
    features = np.column_stack([log_y[:, pre].mean(axis=1), slope])
    spread = features.std(axis=0)
    spread[spread == 0] = 1.0
    return np.asarray(features / spread)


def _matched_placebos(log_pool: np.ndarray, years: np.ndarray, post: np.ndarray,
                      k: int) -> np.ndarray:
    """DiD error of each pool LA treated in turn against its own k nearest pool LAs."""
    features = _level_trend_features(log_pool, ~post, years)
    change = log_pool[:, post].mean(axis=1) - log_pool[:, ~post].mean(axis=1)
    betas = []
    for j in range(len(change)):
        distance = np.sqrt(((features - features[j]) ** 2).sum(axis=1))
        distance[j] = np.inf
        nearest = np.argsort(distance)[:k]
        betas.append(change[j] - change[nearest].mean())
    return np.asarray(betas)


def difference_in_differences(
    panel: pd.DataFrame, treated: str, first_post: int, comparators: list[str],
    level: float = 0.95, placebo_shift: int = 3, placebo_pool: list[str] | None = None,
) -> DidResult:
    """DiD of the treated LA's log CLA rate against comparators, with event study and placebos.

    With `placebo_pool` (the non-adopting LAs the comparators were chosen from), each pool LA is
    in turn treated against its own nearest comparators — the whole procedure is re-run — which
    gives more placebo draws than the comparators alone; without it, each comparator in turn is
    treated against the others.
    """
    rates = _matrix(panel, treated, comparators)
    if rates.shape[0] < 3:
        raise CounterfactualError("difference-in-differences needs at least 2 comparison LAs")
    years = np.asarray(rates.columns, dtype=int)
    post = years >= first_post
    if (~post).sum() < MIN_PRE_YEARS or post.sum() < 1:
        raise CounterfactualError(f"needs {MIN_PRE_YEARS}+ years before and 1+ after "
                                  f"{first_post}; have {(~post).sum()} and {post.sum()}")
    log_y = _log(rates)
    n_units, n_years = log_y.shape
    beta, cluster_se = _twfe_cluster(log_y.to_numpy(), post)
    z_crit = float(norm.ppf(0.5 + level / 2))
    if placebo_pool is not None and len(placebo_pool) > n_units:
        pool = _log(_matrix(panel, treated, placebo_pool)).loc[:, log_y.columns]
        placebo_betas = _matched_placebos(pool.to_numpy()[1:], years, post, n_units - 1)
        interval_method = "placebo-in-space, every pool LA with its own matched comparators"
    else:
        placebo_betas = _did_closed_form(log_y.to_numpy(), post)[1:]
        interval_method = "placebo-in-space over the comparators (Conley-Taber)"
    low, high = _placebo_interval(beta, placebo_betas, level)
    p_value = float((1 + np.sum(np.abs(placebo_betas) >= abs(beta))) / (1 + len(placebo_betas)))

    ref = first_post - 1 if (first_post - 1) in set(years) else int(years[~post].max())
    ref_col = int(np.where(years == ref)[0][0])
    y = log_y.to_numpy()
    rel = y - y[:, [ref_col]]
    contrasts = np.array([rel[j] - np.delete(rel, j, axis=0).mean(axis=0)
                          for j in range(n_units)])
    alpha = 1.0 - level
    q_low, q_high = np.quantile(contrasts[1:], [alpha / 2, 1 - alpha / 2], axis=0)
    event = pd.DataFrame({
        "year": years, "years_from_go_live": years - first_post,
        "coefficient_log": contrasts[0], "interval_low_log": contrasts[0] - q_high,
        "interval_high_log": contrasts[0] - q_low,
    })
    lead_columns = (years < first_post) & (years != ref)
    lead_rms = np.sqrt(np.mean(contrasts[:, lead_columns] ** 2, axis=1))
    pre_trend_p = float((1 + np.sum(lead_rms[1:] >= lead_rms[0])) / len(lead_rms))
    pre_trend_ok = pre_trend_p >= PRE_TREND_ALPHA
    pre_mask = ~post
    treated_pre = y[0, pre_mask] - y[0, pre_mask].mean()
    controls_pre = y[1:, pre_mask].mean(axis=0) - y[1:, pre_mask].mean()
    pre_rmspe = float(np.sqrt(np.mean((treated_pre - controls_pre) ** 2)))

    counts = _matrix(panel, treated, [], column="cla").loc[treated]
    post_count = float(counts[counts.index >= first_post].mean())
    children = post_count * (1 - np.exp(-beta))
    children_bounds = sorted(post_count * (1 - np.exp(-b)) for b in (low, high))

    placebo_time = None
    fake = first_post - placebo_shift
    pre_panel = panel[panel["year"] < first_post]
    if placebo_shift > 0 and (years < fake).sum() >= MIN_PRE_YEARS:
        pre_rates = _log(_matrix(pre_panel, treated, list(rates.index[1:])))
        pre_years = pre_rates.columns.to_numpy(dtype=int)
        fake_betas = _did_closed_form(pre_rates.to_numpy(), pre_years >= fake)
        fake_low, fake_high = _placebo_interval(fake_betas[0], fake_betas[1:], level)
        placebo_time = PlaceboInTime(fake, _pct(fake_betas[0]), (_pct(fake_low), _pct(fake_high)))

    return DidResult(
        treated=treated, comparators=tuple(rates.index[1:]), first_post_year=first_post,
        years=tuple(int(v) for v in years), effect_log=beta, effect_pct=_pct(beta),
        interval_pct=(_pct(low), _pct(high)), interval_level=level,
        interval_method=interval_method, cluster_se_log=cluster_se,
        cluster_interval_pct=(_pct(beta - z_crit * cluster_se), _pct(beta + z_crit * cluster_se)),
        p_value_placebo=p_value, n_placebos=len(placebo_betas),
        children_effect_per_year=float(children),
        children_interval=(float(children_bounds[0]), float(children_bounds[1])),
        event_study=event, pre_trend_ok=pre_trend_ok, pre_trend_p_value=pre_trend_p,
        pre_period_rmspe_log=pre_rmspe,
        placebo_in_time=placebo_time,
    )


def synthetic_weights(target_pre: np.ndarray, donors_pre: np.ndarray) -> np.ndarray:
    """Non-negative donor weights summing to one that best reproduce the target's pre-period.

    Solved as non-negative least squares (scipy.optimize.nnls) on the pre-period rows plus one
    heavily weighted row that enforces the sum-to-one constraint.
    """
    scale = max(float(np.abs(target_pre).mean()), 1.0)
    penalty = 1e3 * scale
    a = np.vstack([donors_pre, np.full((1, donors_pre.shape[1]), penalty)])
    b = np.concatenate([target_pre, [penalty]])
    weights, _ = nnls(a, b, maxiter=50 * donors_pre.shape[1])
    total = weights.sum()
    if total <= 0:
        raise CounterfactualError("synthetic control weights could not be fitted")
    return np.asarray(weights / total)


@dataclass(frozen=True)
class _ScFit:
    effect_pct: float
    effect_rate: float
    pre_rmspe: float
    post_rmspe: float
    synthetic: np.ndarray
    weights: np.ndarray


def _sc_fit(matrix: np.ndarray, target: int, donors: np.ndarray, pre: np.ndarray) -> _ScFit:
    y = matrix[target]
    x = matrix[donors]
    weights = synthetic_weights(y[pre], x[:, pre].T)
    synthetic = weights @ x
    gap = y - synthetic
    return _ScFit(
        effect_pct=float(np.mean(gap[~pre] / synthetic[~pre])),
        effect_rate=float(np.mean(gap[~pre])),
        pre_rmspe=float(np.sqrt(np.mean(gap[pre] ** 2))),
        post_rmspe=float(np.sqrt(np.mean(gap[~pre] ** 2))),
        synthetic=synthetic, weights=weights,
    )


def _sc_with_placebos(matrix: np.ndarray, pre: np.ndarray,
                      level: float) -> tuple[_ScFit, list[_ScFit], tuple[float, float], float]:
    n = matrix.shape[0]
    main = _sc_fit(matrix, 0, np.arange(1, n), pre)
    placebos = [_sc_fit(matrix, j, np.array([k for k in range(1, n) if k != j]), pre)
                for j in range(1, n)]
    well_fitted = [p for p in placebos if p.pre_rmspe <= PLACEBO_FIT_FACTOR * main.pre_rmspe]
    pool = well_fitted if len(well_fitted) >= MIN_PLACEBOS_FOR_FILTER else placebos
    interval = _placebo_interval(main.effect_pct, np.array([p.effect_pct for p in pool]), level)
    ratio = main.post_rmspe / max(main.pre_rmspe, 1e-12)
    ratios = np.array([p.post_rmspe / max(p.pre_rmspe, 1e-12) for p in placebos])
    p_value = float((1 + np.sum(ratios >= ratio)) / (1 + len(ratios)))
    return main, pool, interval, p_value


@dataclass(frozen=True)
class SyntheticControlResult:
    """Synthetic control of the CLA rate: weights over non-adopting LAs fitted on the pre-period.

    effect_pct is the mean over post years of (actual − synthetic) / synthetic;
    children_effect_per_year is the average post-year gap in children (negative = fewer).
    """

    treated: str
    first_post_year: int
    weights: pd.Series
    path: pd.DataFrame
    effect_pct: float
    effect_rate_per_10k: float
    interval_pct: tuple[float, float]
    interval_level: float
    p_value_placebo: float
    n_placebos_in_interval: int
    pre_period_rmspe: float
    post_period_rmspe: float
    children_effect_per_year: float
    children_interval: tuple[float, float]
    placebo_in_time: PlaceboInTime | None

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The estimate (one row), the weights and the actual-vs-synthetic path."""
        row = {
            "method": "synthetic control (CLA rate per 10k)", "treated": self.treated,
            "first_post_year": self.first_post_year, "effect_pct": self.effect_pct,
            "effect_rate_per_10k": self.effect_rate_per_10k,
            "interval_low_pct": self.interval_pct[0], "interval_high_pct": self.interval_pct[1],
            "interval_level": self.interval_level,
            "interval_method": "placebo-in-space (Abadie et al. 2010)",
            "p_value_placebo": self.p_value_placebo,
            "n_placebos_in_interval": self.n_placebos_in_interval,
            "pre_period_rmspe": self.pre_period_rmspe,
            "post_period_rmspe": self.post_period_rmspe,
            "children_effect_per_year": self.children_effect_per_year,
            "children_interval_low": self.children_interval[0],
            "children_interval_high": self.children_interval[1],
            "placebo_in_time_year": None if self.placebo_in_time is None
            else self.placebo_in_time.fake_first_post_year,
            "placebo_in_time_effect_pct": None if self.placebo_in_time is None
            else self.placebo_in_time.effect_pct,
            "placebo_in_time_covers_zero": None if self.placebo_in_time is None
            else self.placebo_in_time.covers_zero,
        }
        weights = self.weights.rename("weight").rename_axis("la_code").reset_index()
        return {"sc_estimate": pd.DataFrame([row]), "sc_weights": weights,
                "sc_path": self.path.copy()}


def synthetic_control(
    panel: pd.DataFrame, treated: str, first_post: int, donors: list[str],
    level: float = 0.95, placebo_shift: int = 3,
) -> SyntheticControlResult:
    """Synthetic control of the treated LA's CLA rate from donors, with placebo checks."""
    rates = _matrix(panel, treated, donors)
    if rates.shape[0] < 6:
        raise CounterfactualError("a synthetic control needs at least 5 donor LAs")
    years = np.asarray(rates.columns, dtype=int)
    pre = years < first_post
    if pre.sum() < MIN_PRE_YEARS or (~pre).sum() < 1:
        raise CounterfactualError(f"needs {MIN_PRE_YEARS}+ years before and 1+ after "
                                  f"{first_post}")
    matrix = rates.to_numpy()
    main, pool, interval, p_value = _sc_with_placebos(matrix, pre, level)
    weights = pd.Series(main.weights, index=rates.index[1:]).sort_values(ascending=False)
    path = pd.DataFrame({"year": years, "actual_rate_per_10k": matrix[0],
                         "synthetic_rate_per_10k": main.synthetic,
                         "gap_rate_per_10k": matrix[0] - main.synthetic, "post": ~pre})
    population = _matrix(panel, treated, [], column="population_0_17").loc[treated]
    post_population = float(population[population.index >= first_post].mean())
    children = main.effect_rate * post_population / 10_000
    synthetic_post = float(np.mean(main.synthetic[~pre])) * post_population / 10_000
    children_bounds = (interval[0] * synthetic_post, interval[1] * synthetic_post)

    placebo_time = None
    fake = first_post - placebo_shift
    if placebo_shift > 0 and (years < fake).sum() >= MIN_PRE_YEARS:
        keep = years < first_post
        fake_pre = years[keep] < fake
        fake_main, _, fake_interval, _ = _sc_with_placebos(matrix[:, keep], fake_pre, level)
        placebo_time = PlaceboInTime(fake, fake_main.effect_pct, fake_interval)

    return SyntheticControlResult(
        treated=treated, first_post_year=first_post, weights=weights[weights > 1e-6],
        path=path, effect_pct=main.effect_pct, effect_rate_per_10k=main.effect_rate,
        interval_pct=interval, interval_level=level, p_value_placebo=p_value,
        n_placebos_in_interval=len(pool), pre_period_rmspe=main.pre_rmspe,
        post_period_rmspe=main.post_rmspe, children_effect_per_year=float(children),
        children_interval=(float(children_bounds[0]), float(children_bounds[1])),
        placebo_in_time=placebo_time,
    )
