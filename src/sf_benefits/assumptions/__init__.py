"""Assumptions engine: every parameter (unit costs, effects, costs, deflators, appraisal rules)
is data. Each ships as a YAML file with its value by effective date, unit, price base,
distribution, source and confidence grade; an LA's overrides replace values and record who
supplied them.
"""

from sf_benefits.assumptions.library import (
    AssumptionError,
    InnovationModel,
    MissingAssumptionError,
    ParameterSet,
    apply_overrides,
    assumptions_for,
    list_models,
    load_defaults,
    load_model,
    load_overrides,
    override_template,
    parameter_table,
)
from sf_benefits.assumptions.schema import (
    Distribution,
    Parameter,
    Reference,
    financial_year_label,
    financial_year_start,
)

__all__ = [
    "AssumptionError",
    "Distribution",
    "InnovationModel",
    "MissingAssumptionError",
    "Parameter",
    "ParameterSet",
    "Reference",
    "apply_overrides",
    "assumptions_for",
    "financial_year_label",
    "financial_year_start",
    "list_models",
    "load_defaults",
    "load_model",
    "load_overrides",
    "override_template",
    "parameter_table",
]
