"""Small-number suppression applied to every count of children before it leaves the tool.

What is suppressed, following DfE practice for children's social care statistics:

* **Counts of children** (observed or projected: children looked after, starts, ceases, children
  in need, child protection plans, and the P10/P50/P90 of projected counts) are rounded to whole
  children; a count from 1 to 5 is shown as ``"c"`` (primary suppression). Zero is published.
* **Totals that would reveal a suppressed count** are handled by secondary suppression: where a
  published total (a "total" row, or a total column) together with the other published cells
  would let a reader work out a suppressed count to within less than one child, the smallest
  published non-zero cell in the same total is suppressed too ("next smallest", as DfE does;
  inner cells before totals, so a total is hidden only when no inner cell can protect the
  count), and the check is repeated until no suppressed cell can be backed out. The check
  solves, for each suppressed cell, the smallest and largest value consistent with every
  published total (a linear programme; suppressed cells are known to be at least 1 because zero
  is never suppressed), so it also covers chains of totals across rows and columns.
* **Not suppressed**: money (even when derived from counts, a £ figure is not a count of
  children), rates per 10,000, percentages, and population denominators (published by ONS).

No further rounding is applied: secondary suppression, not rounding to 5 or 10, protects totals.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SUPPRESSED = "c"
"""Symbol shown in place of a suppressed count (the DfE convention)."""

SMALLEST_PUBLISHED_COUNT = 6
"""Counts from 1 to ``SMALLEST_PUBLISHED_COUNT - 1`` are never published."""

_MIN_UNCERTAINTY = 1.0 - 1e-6


@dataclass(frozen=True)
class RowTotal:
    """Rows whose ``column`` equals ``value`` are the published total of the other rows that
    share the same values in ``within`` (e.g. placement "all" is the total of each year)."""

    column: str
    value: Hashable
    within: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnTotal:
    """Column ``total`` is, row by row, the published total of the columns in ``parts``."""

    total: str
    parts: tuple[str, ...]


def whole_children(value: object) -> int | None:
    """A count rounded half-up to whole children, or None when it is missing or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(math.floor(number + 0.5))


def _is_small(count: int | None) -> bool:
    return count is not None and 1 <= count < SMALLEST_PUBLISHED_COUNT


def is_small_count(value: object) -> bool:
    """True when a count, rounded to whole children, is from 1 to 5 and so must not be shown."""
    return _is_small(whole_children(value))


def suppress_count(value: object) -> int | str | None:
    """One stand-alone count (no published totals around it) ready for export."""
    count = whole_children(value)
    return SUPPRESSED if _is_small(count) else count


Cell = tuple[int, int]


@dataclass(frozen=True)
class _Total:
    total: Cell
    parts: tuple[Cell, ...]


def suppress_counts(
    df: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    row_totals: Iterable[RowTotal] = (),
    column_totals: Iterable[ColumnTotal] = (),
    derived: Sequence[str] = (),
) -> pd.DataFrame:
    """A copy of ``df`` with its count columns rounded to whole children, counts 1–5 shown as
    ``"c"``, and further cells suppressed where a declared total would reveal a suppressed one.

    Declare every total the export publishes next to its parts (``row_totals``,
    ``column_totals``), and every column worked out from a row's counts (``derived``: a rate
    beside its denominator gives the count back), shown as ``"c"`` wherever a count of its row
    is; other columns (labels, money) are left as they are.
    """
    import pandas as pd

    columns = list(count_columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"count columns not in the table: {missing}")
    counts = [[whole_children(v) for v in df[c].tolist()] for c in columns]
    values: dict[Cell, int | None] = {
        (i, j): counts[j][i] for j in range(len(columns)) for i in range(len(df))
    }
    hidden = {cell for cell, v in values.items() if _is_small(v)}
    totals = _declared_totals(df, columns, list(row_totals), list(column_totals))
    _secondary_suppression(values, hidden, totals)

    out = df.copy()
    for j, column in enumerate(columns):
        exported = [SUPPRESSED if (i, j) in hidden else values[(i, j)] for i in range(len(df))]
        out[column] = pd.Series(exported, index=df.index, dtype=object)
    rows_hidden = pd.Series([any((i, j) in hidden for j in range(len(columns)))
                             for i in range(len(df))], index=df.index, dtype=bool)
    for column in derived:
        out[column] = out[column].astype(object).where(~rows_hidden, SUPPRESSED)
    return out


def suppressed_cells(exported: pd.DataFrame, count_columns: Sequence[str]) -> int:
    """How many count cells of an exported table are shown as ``"c"``."""
    return int(sum((exported[c] == SUPPRESSED).sum() for c in count_columns))


def _declared_totals(
    df: pd.DataFrame,
    columns: list[str],
    row_totals: list[RowTotal],
    column_totals: list[ColumnTotal],
) -> list[_Total]:
    index_of = {c: j for j, c in enumerate(columns)}
    totals: list[_Total] = []
    for column_rule in column_totals:
        for name in (column_rule.total, *column_rule.parts):
            if name not in index_of:
                raise KeyError(f"column total refers to {name!r}, which is not a count column")
        for i in range(len(df)):
            parts = tuple((i, index_of[p]) for p in column_rule.parts)
            totals.append(_Total((i, index_of[column_rule.total]), parts))
    positions = range(len(df))
    for rule in row_totals:
        for name in (rule.column, *rule.within):
            if name not in df.columns:
                raise KeyError(f"row total refers to {name!r}, which is not in the table")
        is_total = (df[rule.column] == rule.value).to_numpy()
        keys = [df[w].to_numpy() for w in rule.within]
        groups: dict[tuple[object, ...], list[int]] = {}
        for i in positions:
            groups.setdefault(tuple(k[i] for k in keys), []).append(i)
        for rows in groups.values():
            total_rows = [i for i in rows if is_total[i]]
            part_rows = [i for i in rows if not is_total[i]]
            if not part_rows:
                continue
            for t in total_rows:
                for j in range(len(columns)):
                    totals.append(_Total((t, j), tuple((i, j) for i in part_rows)))
    return totals


def _secondary_suppression(
    values: dict[Cell, int | None], hidden: set[Cell], totals: list[_Total]
) -> None:
    """Suppress the next-smallest published cell until no suppressed cell can be backed out.

    Each suppressed cell is checked once: hiding a further cell (always one of at least 1) only
    widens what a reader could infer about the others, so a cell found safe stays safe.
    """
    if not totals:
        return
    touching: dict[Cell, list[_Total]] = {}
    for total in totals:
        for cell in (total.total, *total.parts):
            touching.setdefault(cell, []).append(total)
    sums = {total.total for total in totals}
    queue = sorted(cell for cell in hidden if cell in touching)
    while queue:
        cell = queue.pop(0)
        while _is_exposed(cell, values, hidden, touching):
            component = _component(cell, touching)
            candidate = next((found for found in (
                _smallest_published(values, hidden, touching[cell], sums),
                _smallest_published(values, hidden, component, sums),
                _smallest_published(values, hidden, touching[cell]),
                _smallest_published(values, hidden, component)) if found is not None), None)
            if candidate is None:
                break
            hidden.add(candidate)
            queue.append(candidate)


def _smallest_published(
    values: dict[Cell, int | None], hidden: set[Cell], totals: list[_Total],
    not_these: AbstractSet[Cell] = frozenset(),
) -> Cell | None:
    """The smallest published non-zero cell of `totals`, leaving out `not_these` (the totals
    themselves, so a total is hidden only when no inner cell can protect the count)."""
    best: Cell | None = None
    best_value = 0
    for total in totals:
        for cell in (*total.parts, total.total):
            value = values[cell]
            if cell in hidden or cell in not_these or value is None or value <= 0:
                continue
            if best is None or value < best_value:
                best, best_value = cell, value
    return best


def _component(cell: Cell, touching: dict[Cell, list[_Total]]) -> list[_Total]:
    """Every total linked to `cell` through shared cells: the equations a reader could chain."""
    seen_cells = {cell}
    seen_totals: dict[int, _Total] = {}
    frontier = [cell]
    while frontier:
        current = frontier.pop()
        for total in touching.get(current, []):
            if id(total) in seen_totals:
                continue
            seen_totals[id(total)] = total
            for other in (total.total, *total.parts):
                if other not in seen_cells:
                    seen_cells.add(other)
                    frontier.append(other)
    return list(seen_totals.values())


def _is_exposed(
    cell: Cell, values: dict[Cell, int | None], hidden: set[Cell],
    touching: dict[Cell, list[_Total]],
) -> bool:
    """True when the published totals pin a suppressed cell to within less than one child:
    the smallest and largest values it can take (a linear programme over every unknown cell
    linked to it, each suppressed one at least 1, missing ones at least 0) are under 1 apart."""
    import numpy as np
    from scipy.optimize import linprog  # on first use: a third of a second to import

    totals = _component(cell, touching)
    unknown = {c for t in totals for c in (t.total, *t.parts) if values[c] is None}
    variables = sorted(
        {c for t in totals for c in (t.total, *t.parts) if c in hidden or c in unknown}
    )
    column = {c: k for k, c in enumerate(variables)}
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for t in totals:
        signed = [(t.total, 1.0)] + [(p, -1.0) for p in t.parts]
        complete = all(values[c] is not None for c, _ in signed)
        actual_gap = sum(sign * (values[c] or 0) for c, sign in signed) if complete else 0.0
        row = np.zeros(len(variables))
        published = 0.0
        for c, sign in signed:
            if c in column:
                row[column[c]] += sign
            else:
                published += sign * (values[c] or 0)
        rows.append(row)
        rhs.append(actual_gap - published)
    a_eq = np.vstack(rows)
    b_eq = np.asarray(rhs)
    bounds = [(0.0, None) if c in unknown else (1.0, None) for c in variables]
    objective = np.zeros(len(variables))
    objective[column[cell]] = 1.0
    low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if low.status != 0:
        return False
    high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if high.status != 0:
        return False
    return bool(-high.fun - low.fun < _MIN_UNCERTAINTY)


REALISED_COUNTS = ("actual_cla", "baseline_cla_p10", "baseline_cla_p50", "baseline_cla_p90",
                   "business_case_cla_p50")
REALISED_DIFFERENCES = {
    "children_avoided": ("baseline_cla_p50", "actual_cla"),
    "children_avoided_low": ("baseline_cla_p10", "actual_cla"),
    "children_avoided_high": ("baseline_cla_p90", "actual_cla"),
    "expected_children_avoided": ("baseline_cla_p50", "business_case_cla_p50"),
}
"""Differences the tracking tables publish beside the two counts they are taken from."""
REALISED_FROM_ACTUAL = ("child_years_avoided", "saving_gbp", "saving_gbp_low", "saving_gbp_high")
"""Figures of one period computed from its actual count: children avoided times a fraction of a
year, and times a published unit cost (so £ ÷ unit cost gives the count back)."""
REALISED_CUMULATIVE = ("cumulative_child_years_avoided", "cumulative_saving_gbp",
                       "cumulative_saving_gbp_low", "cumulative_saving_gbp_high")
"""Running totals of those figures: two neighbouring totals give one period's figure back."""


def _hide(out: pd.DataFrame, column: str, hidden: np.ndarray, *, count: bool) -> None:
    import pandas as pd

    values = [SUPPRESSED if h else (whole_children(v) if count else v)
              for h, v in zip(hidden, out[column].tolist(), strict=True)]
    out[column] = pd.Series(values, index=out.index, dtype=object)


def suppress_realised(periods: pd.DataFrame) -> pd.DataFrame:
    """Realised-benefit periods ready for export, with every figure from which a suppressed
    count could be worked out hidden as well (secondary suppression):

    * counts of children (actual, baseline and business case) suppressed as counts;
    * a difference of two counts (children avoided) hidden when either count is;
    * where the actual count is hidden: that period's child-years and £ saving (each is the
      difference times a published fraction of a year or unit cost), and every running total
      from that period on (the step between two running totals is one period's figure).

    Rows must be in period order, as the track engine returns them."""
    import numpy as np

    counts = [c for c in REALISED_COUNTS if c in periods.columns]
    out = suppress_counts(periods.reset_index(drop=True), counts)
    for column, sides in REALISED_DIFFERENCES.items():
        if column not in out.columns:
            continue
        hidden = np.zeros(len(out), dtype=bool)
        for side in sides:
            if side in out.columns:
                hidden |= (out[side] == SUPPRESSED).to_numpy()
        _hide(out, column, hidden, count=True)
    actual_hidden = (out["actual_cla"] == SUPPRESSED).to_numpy() if "actual_cla" in out.columns \
        else np.zeros(len(out), dtype=bool)
    from_then_on = np.logical_or.accumulate(actual_hidden) if len(out) else actual_hidden
    for column in REALISED_FROM_ACTUAL:
        if column in out.columns:
            _hide(out, column, actual_hidden, count=False)
    for column in REALISED_CUMULATIVE:
        if column in out.columns:
            _hide(out, column, from_then_on, count=False)
    return out.set_axis(periods.index)


def suppress_realised_summary(summary: pd.DataFrame, shown_periods: pd.DataFrame
                              ) -> pd.DataFrame:
    """A realised-benefit summary (figures to the latest period) with the running totals that
    `suppress_realised` hid in that period's row hidden too."""
    import pandas as pd

    out = summary.copy()
    if shown_periods.empty:
        return out
    last = shown_periods.iloc[-1]
    for column in REALISED_CUMULATIVE:
        if column in out.columns and last.get(column) == SUPPRESSED:
            out[column] = pd.Series([SUPPRESSED] * len(out), index=out.index, dtype=object)
    return out


def suppress_actuals(actuals: pd.DataFrame, *, by_version: bool = False) -> pd.DataFrame:
    """Actual counts by placement ready for export: placement "all" is the published total of
    each period and measure (of each import version too, when a history lists every version)."""
    within = ("period", "measure", *(("source", "version") if by_version else ()))
    return suppress_counts(actuals.reset_index(drop=True), ["count"],
                           row_totals=[RowTotal("placement", "all", within)])
