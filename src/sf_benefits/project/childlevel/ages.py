"""Age bands of the child-level engine: the DfE's published bands for children looked after."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

AGE_BANDS: tuple[str, ...] = ("under_1", "1_to_4", "5_to_9", "10_to_15", "16_to_17")
AGE_BAND_LOWER_YEARS: tuple[int, ...] = (0, 1, 5, 10, 16)
CARE_ENDS_AT_YEARS = 18
DAYS_PER_YEAR = 365.25
MONTHS_IN_CARE_AGE = CARE_ENDS_AT_YEARS * 12


def age_band_index(age_years: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into AGE_BANDS for each age in years (ages of 18 and over fall in the last band)."""
    ages = np.asarray(age_years, dtype=float)
    index = np.searchsorted(np.asarray(AGE_BAND_LOWER_YEARS, dtype=float), ages, side="right") - 1
    return np.clip(index, 0, len(AGE_BANDS) - 1).astype(np.int64)


def band_of_month_of_age() -> npt.NDArray[np.int64]:
    """Age band index of each whole month of age from 0 to 215 (the last month before 18)."""
    return age_band_index(np.arange(MONTHS_IN_CARE_AGE) / 12.0)
