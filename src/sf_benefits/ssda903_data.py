"""SSDA903 care data as the child-level engine reads it: the pseudonymised tables of one LA and
the codes that give them meaning. The ingest produces these and the engine consumes them, so
they live below both (the engine never imports the ingest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    import numpy as np
    import numpy.typing as npt
    import pandas as pd

CONTINUATION_REC = "X1"
"""Reason ceased 'X1': the episode ended and a new one began the same day (still in care)."""

_CATEGORY_CODES: dict[str, tuple[str, ...]] = {
    "foster": ("U1", "U2", "U3", "U4", "U5", "U6"),
    "childrens_homes_secure": ("K1", "K2", "R1"),
    "other_residential": ("R2", "R3", "R5", "S1"),
    "placed_with_parents": ("P1",),
    "independent_living": ("P2", "P3", "H5", "K3"),
    "placed_for_adoption": ("A3", "A4", "A5", "A6"),
    "other": ("T0", "T1", "T2", "T3", "T4", "Z1", "Z11", "Z12", "Z13", "Z14"),
}

PLACEMENT_OF_PLACE: MappingProxyType[str, str] = MappingProxyType({
    code: category for category, codes in _CATEGORY_CODES.items() for code in codes
})
"""PLACE code -> LA-level placement category (sf_benefits.project.categories.PLACEMENTS).

Foster care U1-U6 (family and friends U1-U3, other foster carers U4-U6); children's homes and
secure units K1 (secure children's home), K2 (children's home), R1 (residential care home);
other residential settings R2 (NHS/health trust), R3 (family centre or mother and baby unit),
R5 (young offender institution or prison), S1 (residential school); placed with parents P1;
independent and semi-independent living P2 (independent living), P3 (residential employment),
H5 (semi-independent accommodation, to 2023) and K3 (supported accommodation, from 2024);
placed for adoption A3-A6; everything else, temporary placements T0-T4 and other placements
Z1/Z11-Z14, is 'other'.
"""

EPISODE_FIELDS: tuple[str, ...] = (
    "child_id", "decom", "dec", "rne", "ls", "cin", "place", "place_provider", "rec",
    "reason_place_change", "collection_year",
)
"""Columns of `Ssda903Data.episodes`."""


@dataclass
class Ssda903Data:
    """Pseudonymised SSDA903 care data of one LA: what the child-level engine works from.

    `children`: child_id, sex, dob, ethnic. `episodes`: EPISODE_FIELDS with dates as Timestamps
    (dec is NaT while the episode is open). `data_end` is the last day the returns cover.
    `episode_child`, when known, is the row in `children` (one row per child) of each episode's
    child, so the engine need not match the long hashed identifiers again.
    """

    la_code: str
    children: pd.DataFrame
    episodes: pd.DataFrame
    collection_years: tuple[int, ...]
    data_end: pd.Timestamp
    episode_child: npt.NDArray[np.intp] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class EpisodeColumns:
    """The columns of an LA's SSDA903 data that care histories are built from, as arrays, so a
    projection need not build (or import) pandas tables: per episode its child's row among the
    children, the child's identifier, start, end (NaT while open), reason ceased and placement
    (a code into `place_labels`); per child the date of birth."""

    la_code: str
    collection_years: tuple[int, ...]
    data_end: datetime
    child: npt.NDArray[np.intp]
    """Row in `dob` of each episode's child (-1 for a child without a record)."""
    child_id: npt.NDArray[np.generic]
    decom: npt.NDArray[np.datetime64]
    dec: npt.NDArray[np.datetime64]
    rec: npt.NDArray[np.object_]
    place: npt.NDArray[np.intp]
    place_labels: npt.NDArray[np.object_]
    dob: npt.NDArray[np.datetime64]
