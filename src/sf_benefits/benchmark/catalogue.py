"""The benchmark indicators, kept as data in indicators.yaml and loaded strictly."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Polarity = Literal["low_is_better", "high_is_better", "neutral"]


class Selector(BaseModel):
    """Which stored indicator column, and which filter values, hold a figure."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: tuple[str, ...]
    where: dict[str, str] = Field(default_factory=dict)
    any_of: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Indicator(BaseModel):
    """A benchmark indicator: what it measures, its unit and polarity, and where its value is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    label: str
    unit: str
    polarity: Polarity
    source: str
    value: Selector | None = None
    numerator: Selector | None = None
    denominator: Selector | None = None

    @model_validator(mode="after")
    def _one_definition(self) -> Indicator:
        if (self.value is None) == (self.numerator is None or self.denominator is None):
            raise ValueError(f"{self.id}: give either value, or numerator and denominator")
        return self


@cache
def indicators() -> dict[str, Indicator]:
    """All indicators by id, in catalogue order."""
    data = yaml.safe_load((Path(__file__).parent / "indicators.yaml").read_text())
    return {item["id"]: Indicator(**item) for item in data["indicators"]}
