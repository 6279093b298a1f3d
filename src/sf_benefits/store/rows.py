"""One dataset's observations as the store holds them, made without the store (so the process
that parses a load's files never imports SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sf_benefits.store.tidy import row_groups

SERIES_COLUMNS = ["indicator", "geographic_level", "breakdown"]
ROW_COLUMNS = ["area_code", "year", "time_period", "value", "status"]


@dataclass(frozen=True)
class DatasetRows:
    """One dataset's observations as they are written: its distinct series (`SERIES_COLUMNS`)
    and, in key order, each row's series (a position among them) and `ROW_COLUMNS`."""

    dataset: str
    series: pd.DataFrame
    rows: dict[str, pd.Series]

    def __len__(self) -> int:
        return len(self.rows["series"])


def dataset_rows(dataset: str, frame: pd.DataFrame) -> DatasetRows:
    """A dataset's tidy long observations (`SERIES_COLUMNS` and `ROW_COLUMNS`) split into series
    and narrow rows sorted by series, area and year: pure work, which the loader does while the
    file before is written."""
    position, series = _series_of(frame)
    area = pd.factorize(np.asarray(frame["area_code"], dtype=object), sort=True)[0]
    order = np.lexsort((frame["year"].to_numpy(), area, position))
    return DatasetRows(dataset, series, {
        "series": pd.Series(position[order]),
        **{c: frame[c].take(order).reset_index(drop=True) for c in ROW_COLUMNS}})


def _series_of(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's position among the frame's distinct series, and those series."""
    position, first = row_groups(frame, SERIES_COLUMNS)
    return position, frame.iloc[first][SERIES_COLUMNS].reset_index(drop=True)
