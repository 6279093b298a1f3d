"""The national baseline forecast: children looked after at 31 March for every LA, P10/P50/P90,
for each year after the last year of data, under the codes LAs will have in those years."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sf_benefits.project.demand import DEFAULT_METHOD, make_model
from sf_benefits.project.forecasting import DemandModel
from sf_benefits.project.history import CareHistory, DemandModelError, split_histories

FORECAST_COLUMNS: tuple[str, ...] = ("la_code", "la_name", "year", "p10", "p50", "p90")
FALLBACK_METHOD = "naive"
"""For an LA the chosen method cannot forecast (no children looked after in its last year, so no
log growth for the pooled model): the last value carried forward."""


@dataclass(frozen=True)
class SuccessorShare:
    """The share of a split LA's children a successor without a series of its own takes."""

    successor: str
    name: str
    predecessor: str
    share: float
    grade: str
    source: str


def load_successor_shares(path: Path | None = None) -> list[SuccessorShare]:
    """The shipped shares (or those in `path`); each needs a source, and a predecessor's shares
    must add up to one."""
    text = (path.read_text(encoding="utf-8") if path is not None else
            resources.files("sf_benefits.project").joinpath("successor_shares.yaml")
            .read_text(encoding="utf-8"))
    where = path or "successor_shares.yaml"
    rows = yaml.safe_load(text).get("shares", [])
    shares = []
    for index, row in enumerate(rows, start=1):
        missing = [k for k in ("successor", "name", "predecessor", "share", "grade", "source")
                   if not row.get(k)]
        if missing:
            raise ValueError(f"{where}: share {index} lacks {', '.join(missing)}")
        shares.append(SuccessorShare(str(row["successor"]), str(row["name"]),
                                     str(row["predecessor"]), float(row["share"]),
                                     str(row["grade"]), " ".join(str(row["source"]).split())))
    totals: dict[str, float] = {}
    for share in shares:
        totals[share.predecessor] = totals.get(share.predecessor, 0.0) + share.share
    for predecessor, total in totals.items():
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"{where}: the shares of {predecessor} add up to {total}, not 1")
    return shares


@dataclass(frozen=True)
class NationalForecast:
    """Every LA's forecast (`table`: FORECAST_COLUMNS), how boundary changes were handled
    (`notes`) and the LAs that could not be forecast with the reason (`not_forecast`)."""

    table: pd.DataFrame
    method: str
    last_year: int
    years: tuple[int, ...]
    level: int
    notes: tuple[str, ...]
    not_forecast: pd.DataFrame


def forecast_all_las(history: pd.DataFrame, horizon: int, names: Mapping[str, str],
                     changes: pd.DataFrame, method: str = DEFAULT_METHOD,
                     shares: Sequence[SuccessorShare] | None = None, level: int = 80
                     ) -> NationalForecast:
    """Forecast total CLA at 31 March for the `horizon` years after the last year in `history`.

    An LA whose code a boundary change retires by the first forecast year is left out (a rename's
    series already runs on under the successor's code); a successor with no series of its own
    takes its share of the predecessor's forecast (`successor_shares.yaml`); an LA the method
    cannot forecast falls back to FALLBACK_METHOD, with a note. P10/P90 are the
    bounds of the central `level`% interval (80 gives the 10th and 90th percentiles)."""
    if horizon < 1:
        raise ValueError("horizon must be at least one year")
    histories = split_histories(history)
    observed = [int(h.observed_cla_years[-1]) for h in histories.values()
                if h.observed_cla_years.size]
    if not observed:
        raise DemandModelError("the history holds no year with a total CLA at 31 March")
    last_year = max(observed)
    years = tuple(range(last_year + 1, last_year + horizon + 1))
    shares = list(load_successor_shares() if shares is None else shares)
    retired = set(changes.loc[changes["first_year"] <= years[0], "predecessor_code"])
    borrowed = [s for s in shares if not _has_series(histories.get(s.successor))]
    needed = {s.predecessor for s in borrowed}
    model = make_model(method, panel=history)
    forecasts: dict[str, pd.DataFrame] = {}
    failures: list[dict[str, str]] = []
    notes = [f"{code} ({names.get(code, code)}) is not forecast: its code is retired by "
             f"{years[0]} ({_note(changes, code)})" for code in sorted(retired & set(histories))]
    for code, one in histories.items():
        if (code in retired and code not in needed) or not _has_series(one):
            continue
        try:
            forecasts[code] = _forecast_one(model.fit(one), one, years, level)
        except DemandModelError as error:
            try:
                forecasts[code] = _forecast_one(make_model(FALLBACK_METHOD).fit(one), one,
                                                years, level)
                notes.append(f"{code} ({names.get(code, code)}) forecast by {FALLBACK_METHOD}: "
                             f"{error}")
            except DemandModelError as fallback_error:
                failures.append({"la_code": code, "reason": f"{error}; {fallback_error}"})
    parts = [frame.assign(la_code=code, la_name=names.get(code, code))
             for code, frame in forecasts.items() if code not in retired]
    for share in borrowed:
        source = forecasts.get(share.predecessor)
        if source is None:
            failures.append({"la_code": share.successor,
                             "reason": f"its predecessor {share.predecessor} has no forecast"})
            continue
        scaled = source.assign(**{c: (source[c] * share.share).round(1)
                                  for c in ("p10", "p50", "p90")})
        parts.append(scaled.assign(la_code=share.successor, la_name=share.name))
        notes.append(f"{share.successor} ({share.name}) has no series of its own: "
                     f"{share.share:.0%} of {share.predecessor}'s forecast (grade {share.grade}: "
                     f"{share.source})")
    table = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=list(FORECAST_COLUMNS)))
    table = table.loc[:, list(FORECAST_COLUMNS)].sort_values(["la_code", "year"])
    return NationalForecast(table.reset_index(drop=True), method, last_year, years, level,
                            tuple(notes), pd.DataFrame(failures, columns=["la_code", "reason"]))


def _has_series(history: CareHistory | None) -> bool:
    return history is not None and history.observed_cla_years.size > 0


def _forecast_one(model: DemandModel, history: CareHistory, years: tuple[int, ...], level: int
                  ) -> pd.DataFrame:
    """The fitted model's forecast for `years` (an LA whose data stops early is forecast on)."""
    origin = history.origin
    forecast = model.total_forecast(years[-1] - origin, level)
    index = np.array(years) - origin - 1
    return pd.DataFrame({"year": years, "p10": forecast.lo[index].round(1),
                         "p50": forecast.mean[index].round(1),
                         "p90": forecast.hi[index].round(1)})


def _note(changes: pd.DataFrame, code: str) -> str:
    rows = changes[changes["predecessor_code"] == code]
    return "; ".join(dict.fromkeys(str(n) for n in rows["note"])) if not rows.empty else ""
