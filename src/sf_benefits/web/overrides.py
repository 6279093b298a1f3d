"""Assumption values as a web user enters them: one number, a year-by-year series typed or pasted
into a box, or a CSV file of several; and back into the form, whichever way they were saved
(form, upload or API), so every saved scenario can be edited and saved again in the browser."""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sf_benefits.assumptions import AssumptionError, load_overrides
from sf_benefits.textfiles import UnreadableText, decode_text
from sf_benefits.web.scenarios import MAX_ABS_VALUE, ScenarioError

SCALAR_PREFIX = "ov__"
SERIES_PREFIX = "ovs__"
_FINANCIAL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
_SERIES_LINE = re.compile(r"^\s*([0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?)\s*[,;:\t ]\s*(\S+)\s*$")


def number_from_text(raw: str, label: str) -> float:
    """A finite number typed by a person: thousands commas and "£" are ignored; "%" is refused
    (is 10% meant as 10 or as 0.1?), so the value is entered in the unit shown."""
    text = raw.strip().replace(",", "").replace("£", "").replace("\u2212", "-")
    if "%" in text:
        raise ScenarioError(f"“{raw.strip()}”: enter the value in the unit shown, without % "
                            f"(for a proportion, 0.1 means 10%) ({label})")
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(f"“{raw.strip()}” is not a number ({label})") from None
    if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
        raise ScenarioError(f"“{raw.strip()}” is not a usable number ({label})")
    return value


def _effective_date(text: str, label: str) -> str:
    """"2024-04-01" as it is; a financial year "2024-25" or a year "2024" starts on 1 April."""
    year = _FINANCIAL_YEAR.match(text)
    if year and (int(year.group(1)) + 1) % 100 == int(year.group(2)):
        return f"{year.group(1)}-04-01"
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-04-01"
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ScenarioError(f"“{text}” is not a date, a year or a financial year such as 2024-25 "
                            f"({label})") from None


def series_from_text(text: str, label: str) -> dict[str, float]:
    """A series typed or pasted from a spreadsheet: one "date or year, value" pair a line."""
    values: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _SERIES_LINE.match(line)
        if match is None:
            raise ScenarioError(f"line {number} of {label}: write a year (or date) and a value, "
                                "such as “2024-25, 102.4”")
        values[_effective_date(match.group(1), label)] = number_from_text(
            match.group(2), f"{label}, line {number}")
    return dict(sorted(values.items()))


def series_text(override: Any) -> str:
    """A saved series as the box shows it, one "date, value" a line."""
    if isinstance(override, Mapping) and isinstance(override.get("values"), Mapping):
        return "\n".join(f"{key}, {value:.15g}" if isinstance(value, int | float)
                         else f"{key}, {value}" for key, value in override["values"].items())
    return ""


def scalar_value(override: Any) -> float | None:
    """The single number of a saved override, however it was saved (a number, or fields)."""
    if isinstance(override, bool):
        return None
    if isinstance(override, int | float):
        return float(override)
    if isinstance(override, Mapping):
        if isinstance(override.get("value"), int | float):
            return float(override["value"])
        values = override.get("values")
        if isinstance(values, Mapping) and len(values) == 1:
            only = next(iter(values.values()))
            return float(only) if isinstance(only, int | float) else None
    return None


def is_series(override: Any) -> bool:
    """True when a saved override holds values for more than one date."""
    return (isinstance(override, Mapping) and isinstance(override.get("values"), Mapping)
            and len(override["values"]) > 1)


def _with_value(saved: Any, value: float) -> Any:
    """The new number, keeping the saved override's other fields (source, price base, …)."""
    if scalar_value(saved) == value:
        return saved
    if isinstance(saved, Mapping) and "values" not in saved:
        return {**saved, "value": value}
    return value


def _with_series(saved: Any, values: dict[str, float]) -> dict[str, Any]:
    if isinstance(saved, Mapping):
        kept = {k: v for k, v in saved.items() if k not in ("value", "values", "effective_from")}
        return {**kept, "values": values}
    return {"values": values}


def overrides_from_form(form: Mapping[str, Any], saved: Mapping[str, Any],
                        labels: Mapping[str, str]) -> dict[str, Any]:
    """The scenario's overrides after a save of the builder form: a cleared box drops the
    override, an unchanged one keeps exactly what was saved."""
    overrides: dict[str, Any] = {}
    for key, raw in form.items():
        if not isinstance(raw, str) or not raw.strip():
            continue
        if key.startswith(SCALAR_PREFIX):
            pid = key.removeprefix(SCALAR_PREFIX)
            label = labels.get(pid, pid)
            overrides[pid] = _with_value(saved.get(pid), number_from_text(raw, label))
        elif key.startswith(SERIES_PREFIX):
            pid = key.removeprefix(SERIES_PREFIX)
            series = series_from_text(raw, labels.get(pid, pid))
            if series:
                overrides[pid] = _with_series(saved.get(pid), series)
    return overrides


def overrides_from_csv(content: bytes, filename: str) -> dict[str, Any]:
    """Assumption values from an uploaded CSV (columns id and value; effective_from for a
    series; optional source, low, high, price_base_year, confidence, notes)."""
    try:
        text = decode_text(content, filename)
    except UnreadableText as exc:
        raise ScenarioError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="sfb-assumptions-") as folder:
        path = Path(folder) / "assumptions.csv"
        path.write_text(text, encoding="utf-8")
        try:
            overrides, _by = load_overrides(path)
        except AssumptionError as exc:
            raise ScenarioError(str(exc).replace(str(path), filename)) from None
        except ValueError:
            raise ScenarioError(f"{filename}: low and high must be numbers") from None
    for pid, spec in overrides.items():
        for value in ([spec.get("value")] + list(spec.get("values", {}).values())):
            if value is not None and (not math.isfinite(value) or abs(value) > MAX_ABS_VALUE):
                raise ScenarioError(f"{filename}: the value for {pid} is not a usable number")
    if not overrides:
        raise ScenarioError(f"{filename} has no rows")
    return overrides
