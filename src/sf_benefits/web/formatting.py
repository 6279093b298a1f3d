"""Number formats finance teams expect: £ with thousands separators, counts, rates, percentages."""

from __future__ import annotations

import math
from typing import Any

from sf_benefits.disclosure import SUPPRESSED

MINUS = "\u2212"
MISSING = "\u2013"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str | bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def money(value: Any, decimals: int = 0) -> str:
    """£1,234,567 (negative as −£1,234); a dash when missing."""
    number = _number(value)
    if number is None:
        return str(value) if isinstance(value, str) and value else MISSING
    sign = MINUS if number < 0 and round(abs(number), decimals) != 0 else ""
    return f"{sign}£{abs(number):,.{decimals}f}"


def count(value: Any) -> str:
    """A whole count with thousands separators; a suppressed count shows as 'c'."""
    if value == SUPPRESSED:
        return SUPPRESSED
    number = _number(value)
    if number is None:
        return MISSING
    return f"{number:,.0f}".replace("-", MINUS)


def rate(value: Any, decimals: int = 1) -> str:
    """A rate (per 10,000 children, or any ratio) to one decimal place with separators."""
    number = _number(value)
    if number is None:
        return str(value) if isinstance(value, str) and value else MISSING
    return f"{number:,.{decimals}f}".replace("-", MINUS)


def percent(value: Any, decimals: int = 1) -> str:
    """A fraction (0.125) shown as a percentage (12.5%)."""
    number = _number(value)
    if number is None:
        return MISSING
    return f"{number * 100:,.{decimals}f}%".replace("-", MINUS)


def number(value: Any) -> str:
    """A parameter value as entered: separators for large values, up to 4 decimals for small."""
    n = _number(value)
    if n is None:
        return str(value) if isinstance(value, str) and value else MISSING
    if abs(n) >= 1000:
        return f"{n:,.0f}".replace("-", MINUS)
    text = f"{n:.4f}".rstrip("0").rstrip(".")
    return text.replace("-", MINUS)


def plain_number(value: Any) -> str:
    """A number as an input box shows it for editing: every significant digit, no separators."""
    n = _number(value)
    return "" if n is None else f"{n:.15g}"


def cell(value: Any, kind: str = "") -> str:
    """Format one table cell by the kind its column declares (money, count, rate, percent)."""
    if kind == "money":
        return money(value)
    if kind == "count":
        return count(value)
    if kind == "rate":
        return rate(value)
    if kind == "percent":
        return percent(value)
    if kind == "number":
        return number(value)
    if isinstance(value, float):
        return rate(value, 2)
    return MISSING if value is None else str(value)


FILTERS = {"number": number, "money": money, "count": count, "rate": rate, "percent": percent,
           "cell": cell, "plain_number": plain_number}
