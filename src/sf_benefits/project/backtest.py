"""Backtest of the demand models: from every forecast origin the data allow, project 1–3 years ahead
and score against what happened (MAPE, MASE, coverage of the prediction interval)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.project.defaults import BACKTEST_METHODS
from sf_benefits.project.demand import AUTO_CANDIDATES, METHODS, make_model
from sf_benefits.project.forecasting import DemandModel, TotalForecast
from sf_benefits.project.history import CLA, CareHistory, naive_mae, split_histories
from sf_benefits.project.pooled import Panel, PanelEngine

CHUNK_TASKS = 200
"""Forecasts per batch: statsforecast fits a batch in one call; progress is reported per batch."""

Progress = Callable[[str, int, int], None]

FORECAST_COLUMNS: tuple[str, ...] = (
    "method", "la_code", "origin", "horizon", "year", "placement", "actual", "forecast", "lo",
    "hi", "abs_error", "ape", "scaled_error", "covered")


@dataclass(frozen=True)
class BacktestTask:
    """One forecast origin for one LA: the history as it stood then, and the MASE scale."""

    la_code: str
    origin: int
    training: CareHistory
    full: CareHistory


MIN_COVERAGE_80 = 0.7
"""A method whose 80% intervals miss more than 30% of outcomes understates the risk a budget
carries, so `auto` passes it over while a better-calibrated method is available."""


@dataclass(frozen=True)
class BacktestResult:
    """Per-forecast errors and their summary by method and horizon.

    `forecasts` has one row per method × LA × origin × horizon × placement with a recorded
    outcome; `summary` has method, horizon, MAPE (%), MASE, coverage_<level>, n_forecasts on
    total CLA at 31 March, over the outcomes every method forecast; `placement_summary` the same
    by placement when asked for; `skipped` lists method × LA × origin combinations a model could
    not fit, with the reason."""

    forecasts: pd.DataFrame
    summary: pd.DataFrame
    placement_summary: pd.DataFrame | None
    skipped: pd.DataFrame
    methods: tuple[str, ...]
    horizons: tuple[int, ...]
    level: int
    min_train_years: int
    n_las: int

    @property
    def origins(self) -> tuple[int, int] | None:
        """First and last forecast origin used (None when nothing could be backtested)."""
        if self.forecasts.empty:
            return None
        return int(self.forecasts["origin"].min()), int(self.forecasts["origin"].max())

    def mean_mase(self) -> pd.Series:
        """MASE averaged over the horizons, by method (lower is better)."""
        return self.summary.groupby("method")["MASE"].mean().sort_values()

    def best_method(self, min_coverage: float = MIN_COVERAGE_80) -> str | None:
        """The method with the lowest mean MASE among those whose 80% intervals held the actual
        at least `min_coverage` of the time (all methods if none did); None if nothing scored."""
        scores = self.mean_mase().dropna()
        if scores.empty:
            return None
        coverage = self.summary.groupby("method")["coverage_80"].mean()
        honest = [m for m in scores.index if coverage.get(m, 0.0) >= min_coverage]
        return str(honest[0] if honest else scores.index[0])


def forecast_origins(history: CareHistory, horizons: Sequence[int], min_train_years: int
                     ) -> list[int]:
    """Every origin with a recorded total CLA, at least `min_train_years` recorded years up to it,
    and a recorded total CLA at one or more of the horizons after it."""
    observed = set(int(y) for y in history.observed_cla_years)
    ordered = sorted(observed)
    return [year for rank, year in enumerate(ordered, start=1)
            if rank >= min_train_years and any(year + h in observed for h in horizons)]


def build_tasks(histories: Mapping[str, CareHistory], horizons: Sequence[int],
                min_train_years: int) -> list[BacktestTask]:
    """All (LA, origin) pairs of the backtest."""
    return [BacktestTask(code, origin, history.up_to(origin), history)
            for code, history in histories.items()
            for origin in forecast_origins(history, horizons, min_train_years)]


def run_backtest(history: pd.DataFrame, methods: Sequence[str] | Mapping[str, DemandModel]
                 = BACKTEST_METHODS, horizons: Sequence[int] = (1, 2, 3),
                 min_train_years: int = 5, la_codes: Sequence[str] | None = None,
                 by_placement: bool = False, level: int = 80,
                 progress: Progress | None = None) -> BacktestResult:
    """Backtest each method on every origin of the LAs in `la_codes` (default: every LA) of the
    tidy care history; a method that learns across LAs learns from every LA of the history.

    `methods` are names from METHODS (default settings) or a mapping name → configured model.
    MASE divides each absolute error by the mean absolute one-year change of that LA's training
    series; missing or suppressed outcomes are skipped, never read as zero."""
    if not horizons or min(horizons) < 1:
        raise ValueError("horizons must be positive whole years")
    if min_train_years < 2:
        raise ValueError("min_train_years must be at least 2")
    panel = split_histories(history)
    histories = (panel if la_codes is None
                 else {code: panel[code] for code in map(str, la_codes) if code in panel})
    models = _models(methods, panel)
    tasks = build_tasks(histories, horizons, min_train_years)
    columns: dict[str, list[np.ndarray]] = {c: [] for c in FORECAST_COLUMNS}
    skipped: list[dict[str, object]] = []
    for name, model in models.items():
        size = max(len(tasks), 1) if model.learns_across_las else CHUNK_TASKS
        for start in range(0, len(tasks), size):
            chunk = tasks[start:start + size]
            outputs = _forecast_chunk(model, chunk, max(horizons), level, by_placement)
            for task, output in zip(chunk, outputs, strict=True):
                if isinstance(output, str):
                    skipped.append({"method": name, "la_code": task.la_code,
                                    "origin": task.origin, "reason": output})
                    continue
                for placement, forecast in output.items():
                    _collect(columns, name, task, placement, forecast, horizons)
            if progress is not None:
                progress(name, min(start + size, len(tasks)), len(tasks))
    forecasts = pd.DataFrame({c: np.concatenate(v) if v else np.array([])
                              for c, v in columns.items()})
    totals = scored_by_all(forecasts[forecasts["placement"] == ALL_PLACEMENTS])
    summary = summarise(totals, list(models), horizons, level)
    placement_summary = None
    if by_placement:
        placed = scored_by_all(forecasts[forecasts["placement"] != ALL_PLACEMENTS])
        placement_summary = summarise(placed, list(models), horizons, level, by=["placement"])
    return BacktestResult(
        forecasts=forecasts, summary=summary, placement_summary=placement_summary,
        skipped=pd.DataFrame(skipped, columns=["method", "la_code", "origin", "reason"]),
        methods=tuple(models), horizons=tuple(horizons), level=level,
        min_train_years=min_train_years, n_las=len(histories))


def _forecast_chunk(model: DemandModel, chunk: Sequence[BacktestTask], horizon: int, level: int,
                    by_placement: bool) -> list[dict[str, TotalForecast] | str]:
    """Forecasts keyed by placement ("all" = total) for each task, or the reason it failed."""
    trainings = [t.training for t in chunk]
    if not by_placement:
        return [out if isinstance(out, str) else {ALL_PLACEMENTS: out}
                for out in model.forecast_totals(trainings, horizon, level)]
    results: list[dict[str, TotalForecast] | str] = []
    for task, frame in zip(chunk, model.predict_many(trainings, horizon, [level]), strict=True):
        if isinstance(frame, str):
            results.append(frame)
            continue
        cla = frame[frame["measure"] == CLA]
        results.append({str(placement): TotalForecast(
            task.origin, group["mean"].to_numpy(float), group[f"lo-{level}"].to_numpy(float),
            group[f"hi-{level}"].to_numpy(float)) for placement, group in cla.groupby("placement")})
    return results


def _series(history: CareHistory, placement: str) -> np.ndarray:
    if placement == ALL_PLACEMENTS:
        return history.cla_total
    return history.cla_by_placement[:, PLACEMENTS.index(placement)]


def _collect(columns: dict[str, list[np.ndarray]], method: str, task: BacktestTask,
             placement: str, forecast: TotalForecast, horizons: Sequence[int]) -> None:
    """Score one forecast path against the recorded outcomes; unrecorded years are left out."""
    steps = np.asarray(horizons, dtype=int)
    steps = steps[steps <= forecast.mean.size]
    years = task.origin + steps
    recorded = _series(task.full, placement)
    index = years - int(task.full.years[0])
    inside = index < recorded.size
    actual = np.full(steps.size, np.nan)
    actual[inside] = recorded[index[inside]]
    keep = np.isfinite(actual) & np.isfinite(forecast.mean[steps - 1])
    if not keep.any():
        return
    steps, years, actual = steps[keep], years[keep], actual[keep]
    mean, lo, hi = (forecast.mean[steps - 1], forecast.lo[steps - 1], forecast.hi[steps - 1])
    scale = naive_mae(_series(task.training, placement), task.training.years)
    error = np.abs(actual - mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        ape = np.where(actual > 0, error / actual * 100.0, np.nan)
        scaled = error / scale if scale > 0 else np.full(error.size, np.nan)
    n = steps.size
    values: dict[str, np.ndarray] = {
        "method": np.full(n, method, dtype=object),
        "la_code": np.full(n, task.la_code, dtype=object),
        "origin": np.full(n, task.origin), "horizon": steps, "year": years,
        "placement": np.full(n, placement, dtype=object), "actual": actual, "forecast": mean,
        "lo": lo, "hi": hi, "abs_error": error, "ape": ape, "scaled_error": scaled,
        "covered": (actual >= lo) & (actual <= hi)}
    for column, array in values.items():
        columns[column].append(array)


def scored_by_all(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The forecasts whose LA, origin, horizon and placement every method scored, so methods are
    compared on the same outcomes (a model that cannot forecast an early origin drops it for all)."""
    if forecasts.empty:
        return forecasts
    keys = ["la_code", "origin", "horizon", "placement"]
    methods = forecasts.groupby(keys)["method"].transform("nunique")
    return forecasts[methods == forecasts["method"].nunique()]


def _models(methods: Sequence[str] | Mapping[str, DemandModel], panel: Panel
            ) -> dict[str, DemandModel]:
    if isinstance(methods, Mapping):
        return dict(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(METHODS)}")
    return {m: make_model(m, panel=panel) for m in methods}


def summarise(forecasts: pd.DataFrame, methods: Sequence[str], horizons: Sequence[int],
              level: int = 80, by: Sequence[str] = ()) -> pd.DataFrame:
    """MAPE (%), MASE, interval coverage and the number of scored forecasts by method × horizon
    (and any `by` columns), pooled across LAs and origins."""
    coverage = f"coverage_{level}"
    keys = ["method", *by, "horizon"]
    columns = [*keys, "MAPE", "MASE", coverage, "n_forecasts"]
    if forecasts.empty:
        rows = [{"method": m, "horizon": h, "MAPE": np.nan, "MASE": np.nan, coverage: np.nan,
                 "n_forecasts": 0} for m in methods for h in horizons] if not by else []
        return pd.DataFrame(rows, columns=columns)
    frame = forecasts.assign(covered=forecasts["covered"].astype(float))
    summary = frame.groupby(keys, sort=False).agg(
        MAPE=("ape", "mean"), MASE=("scaled_error", "mean"), coverage=("covered", "mean"),
        n_forecasts=("actual", "size")).reset_index().rename(columns={"coverage": coverage})
    order = {m: i for i, m in enumerate(methods)}
    summary = summary.sort_values(keys, key=lambda s: s.map(order) if s.name == "method" else s)
    return summary.loc[:, columns].reset_index(drop=True)


def select_method(history: pd.DataFrame, candidates: Sequence[str] = AUTO_CANDIDATES,
                  min_train_years: int = 5, la_codes: Sequence[str] | None = None) -> str:
    """The candidate with the lowest backtest MASE (mean over horizons 1–3) among those whose 80%
    intervals are honest enough (`BacktestResult.best_method`), on the LAs in `la_codes` (default:
    every LA of the history); the first candidate when the history is too short to backtest."""
    result = run_backtest(history, methods=candidates, horizons=(1, 2, 3),
                          min_train_years=min_train_years, la_codes=la_codes)
    return result.best_method() or candidates[0]


HINDSIGHT_FORECASTS: tuple[str, ...] = (
    "naive", "national change known", "own average growth known", "both known")


def hindsight_ceiling(history: pd.DataFrame, result: BacktestResult) -> pd.DataFrame:
    """MAPE by horizon, on the backtest's scored totals, of forecasts no method can make because
    they use the outcome years: the last value moved by the median change across LAs over the
    same years, by the LA's own average yearly change over its whole series (less the panel's),
    or by both. They bound what any model of national and LA trends could gain over naive."""
    engine = PanelEngine.of(split_histories(history).values())
    scored = scored_by_all(result.forecasts[result.forecasts["placement"] == ALL_PLACEMENTS])
    rows = scored.drop_duplicates(["la_code", "origin", "horizon"])
    row = rows["la_code"].map({code: i for i, code in enumerate(engine.codes)}).to_numpy()
    start = rows["origin"].to_numpy() - int(engine.years[0])
    end = start + rows["horizon"].to_numpy()
    log_cla = engine.log_cla
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        national = np.nanmedian(log_cla[:, end] - log_cla[:, start], axis=0)
        growth = np.nanmean(np.diff(log_cla, axis=1), axis=1)
    own = (growth[row] - np.nanmean(growth)) * rows["horizon"].to_numpy()
    actual = rows["actual"].to_numpy(float)
    last = np.exp(log_cla[row, start])
    frame = pd.DataFrame({"horizon": rows["horizon"].to_numpy()})
    for name, change in zip(HINDSIGHT_FORECASTS, (0.0, national, own, national + own),
                            strict=True):
        frame[name] = np.abs(last * np.exp(change) - actual) / actual * 100.0
    return frame.groupby("horizon").mean().reset_index()
