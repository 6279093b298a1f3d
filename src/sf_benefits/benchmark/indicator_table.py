"""The national tables the benchmark reads: each indicator's values by year and area as plain
tuples of floats, so reading them (from the store or the on-disk cache) needs no pandas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

ValueStatus = Literal["published", "suppressed", "not available"]
"""Whether a benchmark figure was published, withheld by the publisher to protect
confidentiality (shown as "c"), or not published at all (not collected, not applicable)."""

SUPPRESSION_MARKERS = frozenset({"c", "low", "k"})
"""Published markers of a figure the publisher withheld: "c" to protect confidentiality, "low"
and "k" because it rounds to nothing (under 0.5%). Each is shown as "c". Other markers ("x" not
available, "z" not applicable, ".", ":", "..", "u", "-", blank) mean no figure, shown as "–"."""

Row = tuple[float, ...]
"""One year's values, one per area; NaN where none."""


@dataclass(frozen=True)
class AreaTable:
    """One indicator's values by year (rows) and area code (columns), NaN where none."""

    years: tuple[int, ...]
    areas: tuple[str, ...]
    rows: tuple[Row, ...]

    @cached_property
    def _row_of(self) -> dict[int, int]:
        return {year: i for i, year in enumerate(self.years)}

    @cached_property
    def _column_of(self) -> dict[str, int]:
        return {area: j for j, area in enumerate(self.areas)}

    def columns(self, areas: Sequence[str | None]) -> list[Row]:
        """Each year's values of the areas, in the order given (NaN for an area not held)."""
        held = [self._column_of.get(a) if a is not None else None for a in areas]
        return [tuple(math.nan if j is None else row[j] for j in held) for row in self.rows]

    def row(self, year: int | None) -> Row:
        """Every area's value in `year` (empty when the year is not held)."""
        i = self._row_of.get(year) if year is not None else None
        return self.rows[i] if i is not None else ()

    def value(self, year: int | None, area: str | None) -> float | None:
        """One area's value in one year, None where none."""
        i = self._row_of.get(year) if year is not None else None
        j = self._column_of.get(area) if area is not None else None
        return None if i is None or j is None else number_or_none(self.rows[i][j])

    def year_index(self, year: int) -> int | None:
        return self._row_of.get(year)


@dataclass(frozen=True)
class IndicatorTable:
    """One indicator's values as year × area tables for LAs and regions, and England by year."""

    la: AreaTable
    region: AreaTable
    england: AreaTable
    """One column, headed by England's code."""
    joint_returns: frozenset[tuple[int, str]] = frozenset()
    suppressed: frozenset[tuple[str, int, str]] = frozenset()
    """(geographic level, year, area code) of each figure the publisher suppressed."""

    @property
    def england_code(self) -> str | None:
        return self.england.areas[0] if self.england.areas else None

    def status(self, level: str, year: int | None, area_code: object,
               value: object) -> ValueStatus:
        """The status of the figure `value` for an area (level as published) in a year."""
        if number_or_none(value) is not None:
            return "published"
        return ("suppressed" if year is not None and (level, int(year), area_code)
                in self.suppressed else "not available")


def number_or_none(value: object) -> float | None:
    """The value as a float, None where it is missing or NaN."""
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number
