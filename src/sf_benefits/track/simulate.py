"""Synthetic LA panels with a planted effect, for checking that the counterfactual methods work.

`synthetic_history` makes a tidy LA history (the project's format) for ~60 invented LAs whose
children-looked-after rates behave like English ones (50–120 per 10,000 at the start, LA-specific
levels and trends, a shared national movement and autocorrelated year-to-year noise).
`plant_effect` applies a known effect to any history — real or synthetic — from a given year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sf_benefits.project.categories import ALL_PLACEMENTS


def synthetic_history(
    n_las: int = 60, first_year: int = 2008, last_year: int = 2024, seed: int = 0,
    *, trend_sd: float = 0.008, noise_sd: float = 0.03, noise_autocorrelation: float = 0.6,
) -> pd.DataFrame:
    """A tidy history (la_code, year, measure, placement, value) of CLA at 31 March and population.

    log(rate) = LA level + LA trend × (year − first) + national movement + AR(1) noise.
    Codes are E99xxxxxx so they can never be mistaken for real GSS codes.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, last_year + 1)
    n_years = len(years)
    level = np.log(rng.uniform(50.0, 120.0, n_las))
    trend = rng.normal(0.0, trend_sd, n_las)
    national = np.cumsum(rng.normal(0.01, 0.015, n_years))
    noise = np.zeros((n_las, n_years))
    innovations = rng.normal(0.0, noise_sd, (n_las, n_years))
    noise[:, 0] = innovations[:, 0] / np.sqrt(1 - noise_autocorrelation**2)
    for t in range(1, n_years):
        noise[:, t] = noise_autocorrelation * noise[:, t - 1] + innovations[:, t]
    log_rate = (level[:, None] + trend[:, None] * (years - first_year)[None, :]
                + national[None, :] + noise)
    population0 = np.exp(rng.uniform(np.log(20_000), np.log(250_000), n_las))
    growth = rng.normal(0.003, 0.004, n_las)
    population = np.round(population0[:, None] * np.exp(growth[:, None]
                                                         * (years - first_year)[None, :]))
    cla = np.round(np.exp(log_rate) * population / 10_000)
    codes = [f"E99{i + 1:06d}" for i in range(n_las)]
    frames = []
    for measure, matrix in (("cla_31_march", cla), ("population_0_17", population)):
        frames.append(pd.DataFrame({
            "la_code": np.repeat(codes, n_years), "year": np.tile(years, n_las),
            "measure": measure, "placement": ALL_PLACEMENTS, "value": matrix.ravel().astype(float),
        }))
    return pd.concat(frames, ignore_index=True)


def plant_effect(history: pd.DataFrame, la_code: str, first_post_year: int,
                 effect: float) -> pd.DataFrame:
    """Scale the LA's children looked after by (1 + effect) from `first_post_year` onwards.

    effect = -0.08 plants an 8% fall in CLA from go-live; population is left alone.
    """
    planted = history.copy()
    mask = ((planted["la_code"] == la_code) & (planted["measure"] == "cla_31_march")
            & (planted["year"] >= first_post_year))
    planted.loc[mask, "value"] = planted.loc[mask, "value"] * (1.0 + effect)
    return planted
