"""What a child-level projection may publish: counts of real children versus model estimates.

The rule, following DfE practice that suppression protects counts of real children:

* **Jump-off date** (the last day of the returns): every draw starts from the children actually
  in care, so the mean and both interval bounds equal an observed count. These get primary
  suppression (1-5 shown as "c") and secondary suppression over the totals the table publishes
  (placement "all" of each age band, age band "all" of each placement): the next-smallest cell
  that protects a hidden count is hidden too (never a larger one when a smaller one will do).
  The interval bounds of that date are hidden exactly where the mean is (they are equal to it).
* **Future dates** are model estimates (averages and percentiles over simulated draws), not counts
  of children. A figure that rounds to 1-5 is still shown as "c", so no small number appears in
  an export, but there is no secondary suppression: percentiles do not add up across cells (the
  10th percentile of a total is not the sum of its parts'), and a hidden mean worked out from its
  total would be a model figure, not a count of children. So a total of hundreds, or the 80%
  bound of one, is never hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from sf_benefits.disclosure import SUPPRESSED, RowTotal, suppress_count, suppress_counts
from sf_benefits.project.categories import ALL_PLACEMENTS
from sf_benefits.project.childlevel.model import ALL_AGES


def publishable_projection(frame: pd.DataFrame, jump_off: datetime,
                           counts: Sequence[str] = ("mean", "lo-80", "hi-80")) -> pd.DataFrame:
    """`ChildLevelModel.predict` output ready to export, under the rule in this module's
    docstring: rounded to whole children, observed counts at `jump_off` suppressed with their
    totals, estimates of later dates suppressed cell by cell."""
    columns = list(counts)
    observed = (pd.to_datetime(frame["date"]) == pd.Timestamp(jump_off)).to_numpy()
    out = frame.copy()
    for column in columns:
        out[column] = pd.Series([suppress_count(v) for v in frame[column].tolist()],
                                index=frame.index, dtype=object)
    if observed.any():
        base = frame[observed].reset_index(drop=True)
        totals = [RowTotal(t, v, w) for t, v, w in (
            ("placement", ALL_PLACEMENTS, ("date", "age_band")),
            ("age_band", ALL_AGES, ("date", "placement"))) if set(w) <= set(base.columns)]
        published = suppress_counts(base, [columns[0]], row_totals=totals)[columns[0]]
        hidden = (published == SUPPRESSED).to_numpy()
        for column in columns:
            values = suppress_counts(base, [column])[column].to_numpy(dtype=object)
            values[hidden] = SUPPRESSED
            out.loc[observed, column] = values
    return out
