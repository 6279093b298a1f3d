"""National sweeps: every LA x every innovation model, appraised LA by LA (serially or on Dask),
with national and regional totals and the assumptions that drive the national NPV's variance.

`appraise_la` is a pure function of one LA's inputs (its care history or its SSDA903 returns,
handed over whole, so workers never open the store), the sweep settings and the panel of every
LA's history (for a demand method that learns across LAs; sent to each worker once). `run_sweep`
runs it for many LAs on a `dask.distributed` client (or in this process), keeps each finished LA
in a part file listed in a manifest so an interrupted sweep resumes where it stopped, retries a
task that fails and reports what still failed, then adds the LAs up draw by draw.

Seeds: every LA's parameters are drawn from the sweep seed (one national value of each
assumption per draw, as the assumption is one fact for all), and its demand forecast from
`demand_seed(seed, la_code)` (forecast noise independent between LAs), as `run_projection` does
for one LA: an LA's rows are its `sf-benefits project` figures, and the numbers do not depend on
where or in which order the LAs ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sf_benefits.assumptions import assumptions_for, financial_year_label
from sf_benefits.csv_export import write_csv
from sf_benefits.disclosure import whole_children
from sf_benefits.project.api import (
    DEFAULT_METHOD,
    DEFAULT_PRICE_BASE,
    DEFAULT_SEED,
    BaselineDemand,
    baseline_demand,
    demand_seed,
    prepare_assumptions,
    run_projection,
)
from sf_benefits.project.engine import DEFLATOR_ID, draw_parameter
from sf_benefits.project.result import ProjectionResult

if TYPE_CHECKING:
    from distributed import Client

    from sf_benefits.ssda903_data import Ssda903Data
    from sf_benefits.store.db import Store

MODELS = ("family_safeguarding", "family_valued", "no_wrong_door")
BASELINE, INNOVATION, DIFFERENCE = "baseline", "with_innovation", "innovation_vs_baseline"
RESULT_COLUMNS = ["level", "area_code", "area_name", "region_code", "model", "scenario",
                  "measure", "placement", "year", "unit", "p10", "p50", "p90", "mean",
                  "las_in_total"]
COUNT_SERIES = {
    "baseline": (BASELINE, "children_looked_after"),
    "scenario": (INNOVATION, "children_looked_after"),
    "baseline_starts": (BASELINE, "starts"),
    "scenario_starts": (INNOVATION, "starts"),
    "averted_starts": (DIFFERENCE, "averted_starts"),
    "kept_out_of_care": (DIFFERENCE, "kept_out_of_care"),
}
"""Count series of a ProjectionResult -> (scenario, measure) in the sweep table."""
TOTALLED = {
    "net_present_value": (DIFFERENCE, "net_present_value", "GBP"),
    "present_value_benefits": (DIFFERENCE, "present_value_benefits", "GBP"),
    "present_value_costs": (DIFFERENCE, "present_value_costs", "GBP"),
    "baseline_cost": (BASELINE, "cost", "GBP"),
    "scenario_cost": (INNOVATION, "cost", "GBP"),
    "net_savings": (DIFFERENCE, "net_savings", "GBP"),
    "baseline_cla": (BASELINE, "children_looked_after", "children"),
    "scenario_cla": (INNOVATION, "children_looked_after", "children"),
}
"""Draw measures added up into regional and national totals -> (scenario, measure, unit)."""
MANIFEST = "manifest.json"
ENGLAND = "E92000001"
FORECAST_AND_INTERACTIONS = "demand forecast and interactions"


@dataclass(frozen=True)
class SweepSettings:
    """What every LA's appraisal uses; `overrides` is a loaded override mapping (not a path), so
    the settings travel to workers whole and identify a sweep for resuming."""

    models: tuple[str, ...] = MODELS
    n_draws: int = 10_000
    seed: int = DEFAULT_SEED
    horizon: int = 5
    method: str = DEFAULT_METHOD
    price_base_year: str = DEFAULT_PRICE_BASE
    sensitivity: bool = False
    overrides: Mapping[str, Any] | None = None
    overrides_by: str | None = None

    def fingerprint(self) -> str:
        """A digest of every setting: a sweep resumes only into a folder made with the same one."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LAInput:
    """Everything one LA's appraisal reads: its care history (LA level) or its pseudonymised
    SSDA903 returns (child level), its and England's LAIT unit costs (when the store has them),
    and its name and region for the totals."""

    la_code: str
    la_name: str
    region_code: str
    region_name: str
    history: pd.DataFrame | None = None
    unit_costs: pd.DataFrame | None = None
    returns: Ssda903Data | None = field(default=None, repr=False)

    def digest(self, panel_digest: str = "") -> str:
        """A digest of the input data and of the panel they are swept with: a finished LA is
        redone on resume if either changed."""
        frames = [f for f in (self.history, self.unit_costs) if f is not None] + (
            [self.returns.children, self.returns.episodes] if self.returns is not None else [])
        return _frame_digest(*frames, salt=f"{self.la_code}|{panel_digest}")


def _frame_digest(*frames: pd.DataFrame, salt: str = "") -> str:
    """A short digest of the frames' contents (and `salt`)."""
    digest = hashlib.sha256(salt.encode())
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class LAOutcome:
    """One LA's appraisal under every model: tidy rows, draws of the totalled measures (keyed
    "model~measure~year"), the one-at-a-time sensitivity, and one run record per model."""

    la_code: str
    rows: pd.DataFrame
    draws: dict[str, np.ndarray]
    sensitivity: pd.DataFrame
    runs: pd.DataFrame


def appraise_la(inputs: LAInput, settings: SweepSettings, panel: pd.DataFrame | None = None
                ) -> LAOutcome:
    """Appraise one LA under every model of the sweep (pure: reads only its arguments); `panel`
    is every LA's demand history, which a method that learns across LAs needs.

    A model the LA's data or the assumptions cannot support (a ValueError, e.g. a missing
    assumption or no history) is recorded as refused with its reason; any other error is raised
    so the runner retries the task. The LA's demand is forecast once and shared by the models."""
    rows, sensitivity, runs = [], [], []
    draws: dict[str, np.ndarray] = {}
    la_seed = demand_seed(settings.seed, inputs.la_code)
    demand: BaselineDemand | None = None
    for model in settings.models:
        run = {"la_code": inputs.la_code, "model": model, "seed": settings.seed,
               "demand_seed": la_seed, "method": "", "status": "ok", "reason": "",
               "parameters": "", "first_financial_year": "", "excluded": ""}
        try:
            if demand is None and inputs.returns is None and inputs.history is not None:
                demand = baseline_demand(inputs.history, inputs.la_code, settings.horizon,
                                         settings.method, settings.n_draws, settings.seed, panel)
            result = _project(inputs, model, settings, panel, demand)
        except ValueError as error:
            runs.append({**run, "status": "refused", "reason": str(error)})
            continue
        runs.append({**run, "method": result.method,
                     "parameters": ";".join(result.assumptions["id"].astype(str)),
                     "first_financial_year": result.financial_years[0],
                     "excluded": "; ".join(result.excluded)})
        rows.append(_tidy(result))
        for name, values in result.draws.items():
            array = np.asarray(values, dtype=np.float32).reshape(settings.n_draws, -1)
            labels = result.financial_years if array.shape[1] > 1 else (_span(result),)
            for column, year in enumerate(labels):
                draws[f"{model}~{name}~{year}"] = np.ascontiguousarray(array[:, column])
        if not result.sensitivity.empty:
            sensitivity.append(result.sensitivity.assign(la_code=inputs.la_code, model=model))
    return LAOutcome(
        la_code=inputs.la_code,
        rows=pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=RESULT_COLUMNS),
        draws=draws,
        sensitivity=pd.concat(sensitivity, ignore_index=True) if sensitivity else pd.DataFrame(),
        runs=pd.DataFrame(runs),
    )


def overrides_for(model: str, overrides: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The overrides that concern `model` (a sweep's override set covers every model at once)."""
    if overrides is None:
        return None
    params = assumptions_for(model)
    return {pid: value for pid, value in overrides.items() if pid in params}


def check_overrides(settings: SweepSettings) -> None:
    """Refuse an override that no model of the sweep uses (most likely a misspelt id)."""
    unused = set(settings.overrides or {})
    for model in settings.models:
        unused -= set(overrides_for(model, settings.overrides) or {})
    if unused:
        raise ValueError(f"override(s) for parameters no model of the sweep has: {sorted(unused)}")


def check_panel(inputs: Sequence[LAInput], settings: SweepSettings,
                panel: pd.DataFrame | None) -> None:
    """Refuse to sweep care histories without the panel when the method learns across LAs."""
    from sf_benefits.project.demand import METHODS

    learns = getattr(METHODS.get(settings.method), "learns_across_las", False)
    if learns and panel is None and any(i.history is not None for i in inputs):
        raise ValueError(f"the {settings.method} demand method learns across LAs: give the "
                         "sweep every LA's history as its panel")


def _project(inputs: LAInput, model: str, settings: SweepSettings, panel: pd.DataFrame | None,
             demand: BaselineDemand | None = None) -> ProjectionResult:
    common: dict[str, Any] = dict(
        model=model, horizon=settings.horizon, n_draws=settings.n_draws, seed=settings.seed,
        price_base_year=settings.price_base_year,
        overrides=overrides_for(model, settings.overrides),
        overrides_by=settings.overrides_by, sensitivity=settings.sensitivity, keep_draws=True)
    if inputs.returns is not None:
        from sf_benefits.project.childlevel.api import run_childlevel_projection

        return run_childlevel_projection(inputs.returns, **common,
                                         demand_seed=demand_seed(settings.seed, inputs.la_code))
    if inputs.history is None:
        raise ValueError(f"no care history or SSDA903 returns given for LA {inputs.la_code}")
    return run_projection(inputs.history, inputs.la_code, method=settings.method,
                          unit_costs=inputs.unit_costs, la_name=inputs.la_name, panel=panel,
                          demand=demand, **common)


def _span(result: ProjectionResult) -> str:
    return f"{result.financial_years[0]} to {result.financial_years[-1]}"


def _tidy(result: ProjectionResult) -> pd.DataFrame:
    """The result as sweep rows (LA columns added later): counts at the 31 March that ends each
    financial year, money by financial year, headline measures over the whole appraisal."""
    counts = result.counts
    mapped = counts["series"].map(COUNT_SERIES)
    counts = counts.assign(scenario=mapped.str[0], measure=mapped.str[1], unit="children",
                           year=counts["year"].map(financial_year_label))
    money = result.money.rename(columns={"financial_year": "year"})
    scenario = {"baseline_cost": BASELINE, "scenario_cost": INNOVATION}
    money = money.assign(scenario=money["measure"].map(scenario).fillna(DIFFERENCE),
                         measure=money["measure"].replace({"baseline_cost": "cost",
                                                           "scenario_cost": "cost"}),
                         placement="all", unit=_pounds(result.price_base_year))
    headline = result.summary().assign(scenario=DIFFERENCE, placement="all", year=_span(result))
    frame = pd.concat([counts, money, headline], ignore_index=True)
    return frame.assign(model=result.model).reindex(columns=[
        "model", "scenario", "measure", "placement", "year", "unit", "p10", "p50", "p90", "mean"])


def inputs_from_store(store: Store, la_codes: Sequence[str] | None = None) -> list[LAInput]:
    """Each current LA's inputs read from the store (every LA when `la_codes` is None), so the
    sweep's workers need no store. LAs abolished in a reorganisation are left out, and so is a
    renamed LA's former code (its series is under the new one). The panel to
    sweep them with is `projection_data(store).panel`."""
    from sf_benefits.project.inputs import projection_data
    from sf_benefits.project.unit_costs import ENGLAND_CODE
    from sf_benefits.store import queries

    authorities = queries.local_authorities(store)
    changes = queries.boundary_changes(store)
    renamed = set(changes.loc[changes["kind"] == "rename", "predecessor_code"])
    current = authorities[(authorities["last_year"] == authorities["last_year"].max())
                          & ~authorities["la_code"].isin(renamed)]
    if la_codes is not None:
        unknown = sorted(set(la_codes) - set(authorities["la_code"]))
        if unknown:
            raise ValueError(f"LA code(s) not in the store: {unknown}")
        current = authorities[authorities["la_code"].isin(la_codes)]
    data = projection_data(store)
    history, lait = data.panel, data.unit_costs
    history = history[history["la_code"].isin(current["la_code"])]
    by_la = dict(tuple(history.groupby("la_code"))) if not history.empty else {}
    lait_by_area = dict(tuple(lait.groupby("area_code"))) if not lait.empty else {}
    england = lait_by_area.get(ENGLAND_CODE, lait.iloc[0:0])
    return [
        LAInput(la_code=row.la_code, la_name=row.la_name, region_code=row.region_code or "",
                region_name=row.region_name or "",
                history=by_la.get(row.la_code, history.iloc[0:0]).reset_index(drop=True),
                unit_costs=pd.concat([lait_by_area.get(row.la_code, lait.iloc[0:0]), england],
                                     ignore_index=True))
        for row in current.sort_values("la_code").itertuples()
    ]


def inputs_from_returns(returns: Mapping[str, Ssda903Data],
                        authorities: pd.DataFrame | None = None) -> list[LAInput]:
    """One child-level input per LA's pseudonymised returns (LA code -> returns), named and placed
    in its region from `authorities` (the store's LA list) when the LA is there."""
    known: dict[str, dict[str, str]] = {} if authorities is None else {
        str(r["la_code"]): {k: str(r[k] or "") for k in ("la_name", "region_code", "region_name")}
        for r in authorities.to_dict("records")}
    inputs = []
    for la_code, data in returns.items():
        row = known.get(la_code, {})
        inputs.append(LAInput(
            la_code=la_code, la_name=row.get("la_name", la_code),
            region_code=row.get("region_code", ""), region_name=row.get("region_name", ""),
            returns=data))
    return inputs


@dataclass
class SweepReport:
    """What a sweep produced: the tidy results (LA, region, England), the ranking of assumptions
    by their share of national NPV variance, the sensitivity (when asked for), one run record per
    LA and model, the LAs that still failed after retries, and how many LAs a resume skipped."""

    out_dir: Path
    results: pd.DataFrame
    variance: pd.DataFrame
    sensitivity: pd.DataFrame
    runs: pd.DataFrame
    failed: dict[str, str]
    resumed: int


Task = Callable[[LAInput, SweepSettings, pd.DataFrame | None], LAOutcome]


def run_sweep(
    inputs: Sequence[LAInput],
    settings: SweepSettings,
    out_dir: Path,
    client: Client | None = None,
    retries: int = 2,
    progress: bool = False,
    task: Task = appraise_la,
    panel: pd.DataFrame | None = None,
) -> SweepReport:
    """Appraise every LA (on `client`, or in this process when None) and write the sweep to
    `out_dir`; LAs already finished there with the same settings and data are not redone.
    `panel` is every LA's demand history, which a demand method that learns across LAs needs; it
    goes to each worker once.

    A task that raises is resubmitted up to `retries` times; what still fails is reported, not
    fatal. Raises ValueError when `out_dir` holds a sweep made with other settings, or when the
    method needs a panel and none is given."""
    check_overrides(settings)
    check_panel(inputs, settings, panel)
    out_dir = Path(out_dir)
    parts = out_dir / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out_dir, settings)
    by_code = {i.la_code: i for i in inputs}
    if len(by_code) != len(inputs):
        raise ValueError("the sweep inputs name an LA more than once")
    panel_digest = "" if panel is None else _frame_digest(panel)
    digests = {code: i.digest(panel_digest) for code, i in by_code.items()}
    done = {code for code, entry in manifest["done"].items()
            if code in by_code and entry["digest"] == digests[code]}
    todo = [i for i in inputs if i.la_code not in done]
    failed: dict[str, str] = {}

    def finished(outcome: LAOutcome, attempts: int) -> None:
        _write_part(parts, outcome)
        manifest["done"][outcome.la_code] = {"digest": digests[outcome.la_code],
                                             "attempts": attempts}
        manifest["failed"].pop(outcome.la_code, None)
        _write_json(out_dir / MANIFEST, manifest)

    def gave_up(code: str, error: str, attempts: int) -> None:
        failed[code] = error
        manifest["failed"][code] = {"error": error, "attempts": attempts}
        _write_json(out_dir / MANIFEST, manifest)

    if client is None:
        _run_here(todo, settings, panel, task, retries, progress, finished, gave_up)
    else:
        _run_on(client, todo, settings, panel, task, retries, progress, finished, gave_up)
    complete = [i for i in inputs if i.la_code in manifest["done"]]
    return _assemble(out_dir, complete, settings, manifest, failed, len(done))


def guarded(task: Task, inputs: LAInput, settings: SweepSettings, panel: pd.DataFrame | None
            ) -> LAOutcome | str:
    """Run one LA's task; an error comes back as its text, so a failed task is a result the
    runner can retry (and Dask's progress bar carries on) rather than an exception."""
    try:
        return task(inputs, settings, panel)
    except Exception as error:  # any failure is retried, then reported
        return f"{type(error).__name__}: {error}"


def _run_here(todo: Sequence[LAInput], settings: SweepSettings, panel: pd.DataFrame | None,
              task: Task, retries: int, progress: bool,
              finished: Callable[[LAOutcome, int], None],
              gave_up: Callable[[str, str, int], None]) -> None:
    from rich.progress import track

    items: Iterable[LAInput] = track(todo, description="Sweep") if progress else todo
    for inputs in items:
        for attempt in range(1, retries + 2):
            outcome = guarded(task, inputs, settings, panel)
            if isinstance(outcome, LAOutcome):
                finished(outcome, attempt)
                break
            if attempt > retries:
                gave_up(inputs.la_code, outcome, attempt)


def _run_on(client: Client, todo: Sequence[LAInput], settings: SweepSettings,
            panel: pd.DataFrame | None, task: Task, retries: int, progress: bool,
            finished: Callable[[LAOutcome, int], None],
            gave_up: Callable[[str, str, int], None]) -> None:
    """Submit one task per LA; take results as they finish, resubmitting failures. A worker that
    dies is Dask's to handle (its tasks move to other workers, up to its allowed failures). The
    settings and the panel are sent to every worker once, not with each task."""
    from distributed import as_completed
    from distributed.diagnostics.progressbar import progress as dask_progress

    if not todo:
        return
    settings_future = client.scatter(settings, broadcast=True)
    panel_future = None if panel is None else client.scatter(panel, broadcast=True)
    attempts: dict[str, int] = {}
    owner: dict[Any, LAInput] = {}

    def submit(inputs: LAInput) -> Any:
        attempts[inputs.la_code] = attempts.get(inputs.la_code, 0) + 1
        future = client.submit(guarded, task, inputs, settings_future, panel_future, pure=False,
                               key=f"sweep-{inputs.la_code}-{attempts[inputs.la_code]}-"
                                   f"{os.urandom(4).hex()}")
        owner[future.key] = inputs
        return future

    futures = [submit(i) for i in todo]
    if progress:
        threading.Thread(target=dask_progress, args=futures, daemon=True,
                         kwargs={"multi": False, "complete": True, "notebook": False}).start()
    queue = as_completed(futures)
    for future in queue:
        inputs = owner.pop(future.key)
        code = inputs.la_code
        ran = future.status == "finished"
        outcome = (future.result() if ran
                   else f"{type(future.exception()).__name__}: {future.exception()}")
        future.release()
        if isinstance(outcome, LAOutcome):
            finished(outcome, attempts[code])
        elif ran and attempts[code] <= retries:
            queue.add(submit(inputs))
        else:
            gave_up(code, outcome, attempts[code])


def _pounds(price_base_year: str) -> str:
    return f"GBP ({price_base_year} prices)"


def _read_manifest(out_dir: Path, settings: SweepSettings) -> dict[str, Any]:
    path = out_dir / MANIFEST
    fresh = {"settings": json.loads(json.dumps(asdict(settings), default=str)),
             "fingerprint": settings.fingerprint(), "done": {}, "failed": {}}
    if not path.exists():
        _write_json(path, fresh)
        return fresh
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("fingerprint") != settings.fingerprint():
        changed = sorted(k for k, v in fresh["settings"].items()
                         if manifest.get("settings", {}).get(k) != v)
        raise ValueError(f"{out_dir} holds a sweep made with other settings ({', '.join(changed)}"
                         "); use another output folder or the same settings to resume it")
    return manifest


def _write_json(path: Path, content: Mapping[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=1, sort_keys=True))
    os.replace(temporary, path)


def _write_part(parts: Path, outcome: LAOutcome) -> None:
    """One LA's part files, each written whole before it replaces any earlier one."""
    frames = {"rows": outcome.rows, "sensitivity": outcome.sensitivity, "runs": outcome.runs}
    for name, frame in frames.items():
        temporary = parts / f"{outcome.la_code}.{name}.tmp"
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, parts / f"{outcome.la_code}.{name}.parquet")
    temporary = parts / f"{outcome.la_code}.draws.tmp.npz"
    arrays: dict[str, Any] = dict(outcome.draws)
    np.savez(temporary, **arrays)
    os.replace(temporary, parts / f"{outcome.la_code}.draws.npz")


def _read_part(parts: Path, code: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(parts / f"{code}.{name}.parquet")


def _assemble(out_dir: Path, complete: Sequence[LAInput], settings: SweepSettings,
              manifest: Mapping[str, Any], failed: dict[str, str], resumed: int) -> SweepReport:
    """Read the finished LAs' parts back, add regional and national totals, rank assumptions.

    Totals add only the LAs projected over the sweep's common years (the most common first
    year: an LA whose published data end earlier starts earlier); `in_totals` says which."""
    parts = out_dir / "parts"
    la_rows = [_read_part(parts, i.la_code, "rows").assign(
        level="local_authority", area_code=i.la_code, area_name=i.la_name,
        region_code=i.region_code) for i in complete]
    sens = [_read_part(parts, i.la_code, "sensitivity") for i in complete]
    runs = [_read_part(parts, i.la_code, "runs").assign(
        attempts=manifest["done"][i.la_code]["attempts"]) for i in complete]
    run_table = pd.concat(runs, ignore_index=True) if runs else pd.DataFrame(
        columns=["la_code", "model", "status", "first_financial_year"])
    ok = run_table[run_table["status"] == "ok"]
    common = ok.groupby("model")["first_financial_year"].agg(lambda y: y.mode().iloc[0])
    run_table["in_totals"] = (run_table["status"] == "ok") & (
        run_table["first_financial_year"] == run_table["model"].map(common))
    added = set(zip(run_table.loc[run_table["in_totals"], "la_code"],
                    run_table.loc[run_table["in_totals"], "model"], strict=True))
    totals: dict[tuple[str, str], np.ndarray] = {}
    counted: dict[tuple[str, str], int] = {}
    areas = {ENGLAND: ("country", "England", ENGLAND)}
    for inputs in complete:
        region = inputs.region_code or "unknown"
        areas[region] = ("region", inputs.region_name or "Region not known", region)
        with np.load(parts / f"{inputs.la_code}.draws.npz") as stored:
            for key in stored.files:
                if (inputs.la_code, key.split("~")[0]) not in added:
                    continue
                values = stored[key].astype(np.float64)
                for area in (ENGLAND, region):
                    index = (area, key)
                    totals[index] = totals[index] + values if index in totals else values
                    counted[index] = counted.get(index, 0) + 1
    frames = [f for f in (*la_rows, _total_rows(totals, counted, areas, settings))
              if not f.empty]
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    results = _suppress_counts(results.reindex(columns=RESULT_COLUMNS))
    variance = variance_ranking(totals, run_table, settings)
    sensitivity = pd.concat([s for s in sens if not s.empty] or [pd.DataFrame()],
                            ignore_index=True)
    return SweepReport(out_dir, results, variance, sensitivity, run_table, failed, resumed)


def _total_rows(totals: Mapping[tuple[str, str], np.ndarray],
                counted: Mapping[tuple[str, str], int],
                areas: Mapping[str, tuple[str, str, str]], settings: SweepSettings
                ) -> pd.DataFrame:
    """P10/P50/P90 of each area's draw-by-draw total (quantiles of a sum, not sums of quantiles)."""
    records = []
    for (area, key), values in totals.items():
        model, name, year = key.split("~")
        scenario, measure, unit = TOTALLED[name]
        level, area_name, region = areas[area]
        p10, p50, p90 = np.quantile(values, (0.1, 0.5, 0.9))
        records.append({
            "level": level, "area_code": area, "area_name": area_name, "region_code": region,
            "model": model, "scenario": scenario, "measure": measure, "placement": "all",
            "year": year, "unit": _pounds(settings.price_base_year) if unit == "GBP" else unit,
            "p10": p10, "p50": p50, "p90": p90, "mean": float(values.mean()),
            "las_in_total": counted[(area, key)],
        })
    return pd.DataFrame(records, columns=RESULT_COLUMNS)


def _suppress_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts of children rounded to whole children, 1-5 left blank (suppressed) for export."""
    counts = frame["unit"] == "children"
    for column in ("p10", "p50", "p90", "mean"):
        values = frame.loc[counts, column].map(whole_children)
        frame.loc[counts, column] = [np.nan if v is None or 0 < v < 6 else float(v)
                                     for v in values]
    return frame


def variance_ranking(totals: Mapping[tuple[str, str], np.ndarray], runs: pd.DataFrame,
                     settings: SweepSettings) -> pd.DataFrame:
    """Each uncertain assumption's first-order share of the variance of England's NPV, by model.

    The share is Var(E[NPV | assumption]) / Var(NPV), estimated from the sweep's own draws by
    grouping the draws into equal-size bins of the assumption's value (the given-data estimator
    of first-order Sobol' indices, Plischke, Borgonovo & Smith 2013), less its expected value
    when the assumption has no effect. What the assumptions do not explain alone is the demand
    forecast's uncertainty and interactions."""
    records = []
    for model in settings.models:
        ran = runs[(runs["model"] == model) & (runs["status"] == "ok")] if not runs.empty else runs
        if ran.empty:
            continue
        first_year = str(ran["first_financial_year"].mode().iloc[0])
        npv = next((v for (area, key), v in totals.items() if area == ENGLAND
                    and key.startswith(f"{model}~net_present_value~")), None)
        if npv is None or float(np.var(npv)) == 0.0:
            continue
        _, params = prepare_assumptions(model, overrides_for(model, settings.overrides),
                                        settings.overrides_by)
        start = date(int(first_year[:4]), 4, 1)
        ids = dict.fromkeys(pid for listed in ran["parameters"] for pid in listed.split(";"))
        shares = {}
        for pid in ids:
            param = params[pid]
            if pid == DEFLATOR_ID or param.distribution.kind == "fixed":
                continue
            values = draw_parameter(param, settings.n_draws, start, settings.seed)
            if float(np.ptp(values)) == 0.0:
                continue
            shares[pid] = first_order_share(values, npv)
        explained = sum(shares.values())
        ranked = sorted(shares.items(), key=lambda item: -item[1])
        for rank, (pid, share) in enumerate(ranked, start=1):
            records.append({"model": model, "rank": rank, "assumption": pid,
                            "description": params[pid].description, "share_of_variance": share})
        records.append({"model": model, "rank": len(ranked) + 1,
                        "assumption": FORECAST_AND_INTERACTIONS,
                        "description": "what no single assumption explains: the LAs' demand "
                                       "forecasts and assumptions acting together",
                        "share_of_variance": max(0.0, 1.0 - explained)})
    return pd.DataFrame(records, columns=["model", "rank", "assumption", "description",
                                          "share_of_variance"])


def first_order_share(inputs: np.ndarray, outputs: np.ndarray) -> float:
    """Var(E[outputs | inputs]) / Var(outputs) from paired draws, by equal-count bins of `inputs`
    (about sqrt(n)/2 bins), corrected for the share bins of pure noise would show."""
    n = len(outputs)
    bins = int(min(100, max(5, np.sqrt(n) / 2)))
    order = np.argsort(inputs, kind="stable")
    total = float(np.var(outputs))
    if total == 0.0:
        return 0.0
    mean = float(np.mean(outputs))
    between = sum(len(group) * (float(np.mean(outputs[group])) - mean) ** 2
                  for group in np.array_split(order, bins)) / n
    noise = (bins - 1) / (n - 1)
    return float(max(0.0, (between / total - noise) / (1.0 - noise)))


def write_outputs(report: SweepReport, csv: bool = False) -> list[Path]:
    """The sweep's tables in its folder as Parquet (and CSV when asked for); returns the paths."""
    tables = {"results": report.results, "variance_ranking": report.variance,
              "runs": report.runs}
    if not report.sensitivity.empty:
        tables["sensitivity"] = report.sensitivity
    written = []
    for name, frame in tables.items():
        path = report.out_dir / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
        if csv:
            write_csv(frame, path.with_suffix(".csv"))
            written.append(path.with_suffix(".csv"))
    return written
