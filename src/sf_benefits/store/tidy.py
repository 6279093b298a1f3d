"""Small pure helpers over the store's tidy tables, shared by the queries and the engines."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TOTAL_VALUES = re.compile(r"^(total|all( .*)?|england)$", re.IGNORECASE)
"""Filter values that mean 'all of them': a figure at these is the total over that filter."""


def parse_breakdown(breakdown: str) -> dict[str, str]:
    """`a=x|b=y` as {'a': 'x', 'b': 'y'}."""
    if not breakdown:
        return {}
    return dict(part.split("=", 1) for part in breakdown.split("|"))


def continuous_series(values: pd.DataFrame, changes: pd.DataFrame,
                      code_column: str = "area_code") -> pd.DataFrame:
    """Relabel a renamed LA's predecessor rows with the successor's code, so its series joins up;
    where a publisher already gives the successor a figure for that year, that figure wins.
    Splits and merges are left apart: their earlier years describe a different area."""
    renames = changes[changes["kind"] == "rename"]
    if renames.empty:
        return values
    out = values.copy()
    out["_relabelled"] = False
    for change in renames.itertuples():
        before = (out[code_column] == change.predecessor_code) & (out["year"] < change.first_year)
        out.loc[before, code_column] = change.successor_code
        out.loc[before, "_relabelled"] = True
    keys = [c for c in out.columns if c not in {"value", "status", "_relabelled"}]
    out = out.sort_values("_relabelled", kind="stable").drop_duplicates(keys, keep="first")
    return out.sort_index().drop(columns="_relabelled")


def row_groups(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group among the distinct combinations of `columns`, and each group's first row
    (positions), found from codes rather than by hashing tuples of labels."""
    code = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        part, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        code = pd.factorize(code * len(uniques) + part)[0]
    _, first, group = np.unique(code, return_index=True, return_inverse=True)
    return group, first
