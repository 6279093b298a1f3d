"""Every CSV the tool writes, made safe to open in a spreadsheet (no formula injection).

A text cell that starts with "=", "+", "-", "@", a tab or a carriage return would be run as a
formula by Excel or LibreOffice (OWASP "CSV injection"); such a cell is written with a leading
apostrophe, which spreadsheets show as text. Numbers stay numbers, negative ones included, and
so does text that is only a number (such as "-12.5")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")


def neutralise(value: Any) -> Any:
    """One cell as written: a text cell a spreadsheet would run as a formula gets a leading "'"."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not (_PLAIN_NUMBER.match(value) and any(ch.isdigit() for ch in value))):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell (and column name) neutralised."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write `frame` as CSV (no index) with formula-like text neutralised."""
    safe_frame(frame).to_csv(path, index=False)
    return Path(path)


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text (no index) with formula-like text neutralised."""
    return str(safe_frame(frame).to_csv(index=False))
