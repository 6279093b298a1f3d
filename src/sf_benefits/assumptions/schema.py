"""Strict shape of an assumption: value by date, unit, price base, distribution, source, grade.

Every parameter the engines use is one of these, loaded from a YAML file shipped with the package
or supplied by a local authority as an override. Extra fields are errors, so typos are caught.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FINANCIAL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
PARAMETER_ID = r"^[a-z][a-z0-9_]*$"
NO_VALUE_STATUSES = ("not_found", "not_verified")
GRADES = ("A", "B", "C", "D", "X")


def is_money_unit(unit: str) -> bool:
    """True when a unit is in pounds and so needs a price base year."""
    return unit.strip().upper().startswith("GBP")


def check_financial_year(label: str) -> str:
    """Validate a financial-year label such as "2024-25" (April 2024 to March 2025)."""
    match = FINANCIAL_YEAR.match(label)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"price base year {label!r} must be a financial year like '2024-25'")
    return label


def financial_year_start(label: str) -> date:
    """1 April that opens the financial year `label` ("2024-25" -> 2024-04-01)."""
    check_financial_year(label)
    return date(int(label[:4]), 4, 1)


def financial_year_label(year_ending_march: int) -> str:
    """Label of the financial year ending 31 March of `year_ending_march` (2026 -> "2025-26")."""
    return f"{year_ending_march - 1}-{year_ending_march % 100:02d}"


class Reference(BaseModel):
    """A citable source: what it is, who published it, when, and where to find it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=3)
    publisher: str = Field(min_length=1)
    year: int = Field(ge=1900, le=2100)
    url: str | None = None
    read: str | None = None
    """How much of the source was read ("full text", "summary", "contents page only" ...)."""


class Distribution(BaseModel):
    """How a parameter varies in the Monte Carlo; the central value is the parameter's own value.

    fixed: no variation; triangular: low/high around the value as mode; uniform: low to high;
    normal: mean = value, standard deviation `sd`, truncated to low/high when given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["fixed", "triangular", "uniform", "normal"] = "fixed"
    low: float | None = None
    high: float | None = None
    sd: float | None = None

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Distribution:
        if self.kind in ("triangular", "uniform") and (
            self.low is None or self.high is None or self.sd is not None
        ):
            raise ValueError(f"a {self.kind} distribution needs low and high (and no sd)")
        if self.kind == "normal" and (self.sd is None or self.sd <= 0):
            raise ValueError("a normal distribution needs a positive sd")
        if self.kind == "fixed" and (self.low, self.high, self.sd) != (None, None, None):
            raise ValueError("a fixed distribution takes no low, high or sd")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"distribution low {self.low} is above high {self.high}")
        return self


class Parameter(BaseModel):
    """One assumption with its evidence. Parameters with status not_found carry no value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PARAMETER_ID)
    description: str = Field(min_length=3)
    unit: str = Field(min_length=1)
    price_base_year: str | None = None
    values: dict[date, float] | None = None
    distribution: Distribution = Distribution()
    valid_range: tuple[float, float]
    """Values that make sense at all (e.g. a proportion in [0, 1]); refused outside it."""
    range: tuple[float, float] | None = None
    """Plausible low/high from the evidence, for the sensitivity table."""
    references: list[Reference] = Field(default_factory=list)
    confidence: Literal["A", "B", "C", "D", "X"]
    status: Literal["sourced", "derived", "not_found", "not_verified", "override"] = "sourced"
    required: bool = True
    notes: str | None = None
    derivation: str | None = None
    """For a derived value, the arithmetic or judgement that reached it from the references."""

    @field_validator("price_base_year")
    @classmethod
    def _price_base_is_financial_year(cls, value: str | None) -> str | None:
        return None if value is None else check_financial_year(value)

    @model_validator(mode="after")
    def _evidence_is_complete(self) -> Parameter:
        if self.status in NO_VALUE_STATUSES:
            if self.values:
                raise ValueError(f"{self.id}: status {self.status} must have values: null")
            if self.confidence != "X":
                raise ValueError(f"{self.id}: status {self.status} must have confidence X")
            return self
        if not self.values:
            raise ValueError(f"{self.id}: a value is required unless status is not_found")
        if not self.references:
            raise ValueError(f"{self.id}: a source (references) is required unless not_found")
        if self.confidence == "X":
            raise ValueError(f"{self.id}: confidence X is only for parameters that were not found")
        if is_money_unit(self.unit) and self.price_base_year is None:
            raise ValueError(f"{self.id}: a money parameter needs a price_base_year")
        if not is_money_unit(self.unit) and self.price_base_year is not None:
            raise ValueError(f"{self.id}: only money parameters take a price_base_year")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"{self.id}: range low {self.range[0]} is above high {self.range[1]}")
        if self.status == "derived" and not (self.derivation or self.notes):
            raise ValueError(f"{self.id}: a derived value needs its derivation (or notes)")
        dist = self.distribution
        for value in self.values.values():
            below = dist.low is not None and value < dist.low
            if below or (dist.high is not None and value > dist.high):
                raise ValueError(f"{self.id}: value {value} lies outside its distribution")
        bounds = [("range", b) for b in self.range or ()]
        bounds += [("distribution", b) for b in (dist.low, dist.high) if b is not None]
        for what, bound in bounds:
            if self.out_of_range(bound):
                raise ValueError(f"{self.id}: {what} bound {bound:g} is outside "
                                 f"{self.valid_range_text}")
        return self

    @model_validator(mode="after")
    def _values_are_valid(self) -> Parameter:
        low, high = self.valid_range
        if low > high:
            raise ValueError(f"{self.id}: valid_range low {low:g} is above high {high:g}")
        for value in (self.values or {}).values():
            if self.out_of_range(value):
                raise ValueError(f"{self.id}: value {value:g} is outside {self.valid_range_text}")
        return self

    def out_of_range(self, value: float) -> bool:
        """True when `value` lies outside the parameter's valid range (NaN is always outside)."""
        low, high = self.valid_range
        return not low <= value <= high

    @property
    def valid_range_text(self) -> str:
        """'its valid range [0, 1] (proportion of baseline starts)', for error messages."""
        low, high = self.valid_range
        return f"its valid range [{low:g}, {high:g}] ({self.unit})"

    @property
    def has_value(self) -> bool:
        """True when the parameter carries a sourced (or user-supplied) value."""
        return bool(self.values)

    @property
    def value(self) -> float | None:
        """The value in force today (the latest effective date not after today), or None."""
        return self.value_at(date.today())

    def value_at(self, when: date) -> float | None:
        """Value in force on `when`: latest effective date on or before it (else the earliest)."""
        if not self.values:
            return None
        dates = sorted(self.values)
        in_force = [d for d in dates if d <= when]
        return self.values[in_force[-1] if in_force else dates[0]]

    @property
    def low_high(self) -> tuple[float, float] | None:
        """Low and high for sensitivity: distribution bounds (normal: P10/P90), else range."""
        central = self.value
        if central is None:
            return None
        dist = self.distribution
        if dist.kind in ("triangular", "uniform"):
            assert dist.low is not None and dist.high is not None
            return (dist.low, dist.high)
        if dist.kind == "normal":
            assert dist.sd is not None
            spread = 1.2815515655446004 * dist.sd
            low = central - spread if dist.low is None else max(dist.low, central - spread)
            high = central + spread if dist.high is None else min(dist.high, central + spread)
            return (low, high)
        return self.range

    @property
    def source_text(self) -> str:
        """A one-line citation: publisher (year) title, or the reason there is none."""
        if not self.has_value:
            candidate = (f" (candidate: {self.references[0].publisher}, {self.references[0].year})"
                         if self.references else "")
            return f"NOT FOUND - supply a value{candidate}"
        ref = self.references[0]
        cited = f"{ref.publisher} ({ref.year}) {ref.title}"
        text = ref.title if self.status == "override" else cited
        if len(self.references) > 1:
            text += f" (+{len(self.references) - 1} more)"
        return text


class Term(BaseModel):
    """A quantity that is the product of parameters (e.g. families a year x cost per FGC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    product_of: list[str] = Field(min_length=1)
    not_additional_from: str | None = None
    """Parameter id of the financial year (the year of its 1 April) from which a statutory duty
    puts this term in the counterfactual: from then on it is neither a benefit nor a cost."""


class PlacementShift(BaseModel):
    """A share of the children in one placement moved to another (e.g. residential to foster)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_placement: str
    to_placement: str
    proportion: str


class Mechanisms(BaseModel):
    """How a model's parameters act in the projection; every entry names parameter ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ramp_up_years: str
    starts_reduction: str | None = None
    averted_starts_per_year: list[Term] = Field(default_factory=list)
    placement_shifts: list[PlacementShift] = Field(default_factory=list)
    implementation_costs: list[Term] = Field(default_factory=list)
    running_costs: list[Term] = Field(default_factory=list)
    other_savings: list[Term] = Field(default_factory=list)


class InnovationModelFile(BaseModel):
    """One innovation model: what it is, its parameters and how they act on demand and money."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(pattern=PARAMETER_ID)
    title: str
    origin: str
    summary: str
    mechanisms: Mechanisms
    parameters: list[Parameter]
