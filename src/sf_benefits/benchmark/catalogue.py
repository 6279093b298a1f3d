"""The benchmark indicators, kept as data in indicators.yaml and loaded strictly."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Polarity = Literal["low_is_better", "high_is_better", "neutral"]


class Selector(BaseModel):
    """Which stored indicator column, and which filter values, hold a figure: `where` exact,
    `any_of` one of several, `contains` part of the value (any case); `dataset` names the files
    to prefer (by part of their name) when several publications carry the same column."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: tuple[str, ...]
    where: dict[str, str] = Field(default_factory=dict)
    any_of: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    contains: dict[str, str] = Field(default_factory=dict)
    dataset: tuple[str, ...] = ()


class Indicator(BaseModel):
    """A benchmark indicator: what it measures, its unit and polarity, and where its value is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    label: str
    unit: str
    polarity: Polarity
    source: str
    value: Selector | None = None
    per_10k_children: Selector | None = None
    numerator: Selector | None = None
    denominator: Selector | None = None

    @model_validator(mode="after")
    def _one_definition(self) -> Indicator:
        direct = self.value is not None or self.per_10k_children is not None
        ratio = (self.numerator, self.denominator)
        if direct == any(r is not None for r in ratio) or (not direct and None in ratio):
            raise ValueError(f"{self.id}: give value and/or per_10k_children, or numerator and "
                             "denominator")
        return self

    def selectors(self) -> list[Selector]:
        return [s for s in (self.value, self.per_10k_children, self.numerator, self.denominator)
                if s is not None]


@cache
def indicators() -> dict[str, Indicator]:
    """All indicators by id, in catalogue order."""
    data = yaml.safe_load((Path(__file__).parent / "indicators.yaml").read_text())
    return {item["id"]: Indicator(**item) for item in data["indicators"]}
