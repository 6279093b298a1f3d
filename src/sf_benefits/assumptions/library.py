"""Load the shipped assumptions and innovation models, apply an LA's overrides, list them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from sf_benefits.assumptions.schema import (
    Distribution,
    InnovationModelFile,
    Mechanisms,
    Parameter,
    Reference,
    is_money_unit,
)

GROUPS = ("appraisal", "deflators", "unit_costs", "workforce")
MODELS = ("family_safeguarding", "family_valued", "no_wrong_door")
OVERRIDE_FIELDS = {
    "value", "values", "distribution", "range", "price_base_year", "source", "confidence",
    "notes", "unit", "url", "effective_from",
}


SERIES_PARAMETERS = ("gdp_deflator_index",)
"""Parameters given as a series by effective date (`values:`), not as one `value:`."""


class AssumptionError(ValueError):
    """An assumption file or override is malformed, unknown or inconsistent."""


class MissingAssumptionError(AssumptionError):
    """A run needs parameters that have no sourced value; the message names each one."""

    def __init__(self, parameters: list[Parameter]) -> None:
        self.parameters = list(parameters)
        self.parameter_ids = [p.id for p in parameters]
        lines = [
            f"  - {p.id}: {p.description} [{p.unit}]"
            + (f" ({p.status.replace('_', ' ')})" if p.status != "sourced" else "")
            + (" (a series: `values: {2024-04-01: ..., 2025-04-01: ...}`)"
               if p.id in SERIES_PARAMETERS else "")
            for p in parameters
        ]
        super().__init__(
            f"{len(parameters)} parameter(s) needed by this run have no sourced value:\n"
            + "\n".join(lines)
            + "\nSupply each as an override (YAML: `<id>: {value: ..., source: ..., "
            "price_base_year: ...}`, or `values:` for a series) and the run will record it as "
            "an LA override."
        )


@dataclass(frozen=True)
class ParameterSet:
    """An immutable collection of parameters keyed by id, each tagged with its group."""

    parameters: Mapping[str, Parameter]
    groups: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))

    def __getitem__(self, parameter_id: str) -> Parameter:
        try:
            return self.parameters[parameter_id]
        except KeyError:
            raise AssumptionError(f"unknown parameter id {parameter_id!r}") from None

    def __contains__(self, parameter_id: object) -> bool:
        return parameter_id in self.parameters

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters.values())

    def __len__(self) -> int:
        return len(self.parameters)

    def value_at(self, parameter_id: str, when: date | None = None) -> float:
        """The value of a parameter in force on `when` (default today); refuses if it has none."""
        param = self[parameter_id]
        value = param.value_at(when or date.today())
        if value is None:
            raise MissingAssumptionError([param])
        return value

    def require(self, parameter_ids: Iterable[str]) -> None:
        """Refuse, naming every parameter among `parameter_ids` that has no value."""
        missing = [self[i] for i in dict.fromkeys(parameter_ids) if not self[i].has_value]
        if missing:
            raise MissingAssumptionError(missing)

    def merged(self, other: ParameterSet) -> ParameterSet:
        """This set plus `other`; an id in both is an error (ids are unique across files)."""
        clash = set(self.parameters) & set(other.parameters)
        if clash:
            raise AssumptionError(f"parameter id(s) defined twice: {sorted(clash)}")
        return ParameterSet({**self.parameters, **other.parameters},
                            {**self.groups, **other.groups})

    def subset(self, parameter_ids: Iterable[str]) -> ParameterSet:
        """Only the named parameters (in the given order)."""
        ids = list(dict.fromkeys(parameter_ids))
        return ParameterSet({i: self[i] for i in ids}, {i: self.groups[i] for i in ids})

    def replaced(self, parameter: Parameter) -> ParameterSet:
        """A copy with one parameter replaced by a new version of itself."""
        return ParameterSet({**self.parameters, parameter.id: parameter}, self.groups)

    def table(self) -> pd.DataFrame:
        """One row per parameter: id, group, description, value, unit, price base, source, grade."""
        return parameter_table(self)


@dataclass(frozen=True)
class InnovationModel:
    """An innovation model (or a custom one): its description, parameters and mechanisms."""

    name: str
    title: str
    origin: str
    summary: str
    mechanisms: Mechanisms
    parameters: ParameterSet
    path: str = field(default="")

    def referenced_ids(self) -> list[str]:
        """Every parameter id the mechanisms refer to, in a stable order."""
        mech = self.mechanisms
        ids = [mech.ramp_up_years]
        if mech.starts_reduction:
            ids.append(mech.starts_reduction)
        for term in (
            *mech.averted_starts_per_year, *mech.implementation_costs,
            *mech.running_costs, *mech.other_savings,
        ):
            ids.extend(term.product_of)
            if term.not_additional_from:
                ids.append(term.not_additional_from)
        ids.extend(s.proportion for s in mech.placement_shifts)
        return list(dict.fromkeys(ids))


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise AssumptionError(f"{origin}: not valid YAML: {exc}") from exc


def plain_errors(exc: ValidationError) -> str:
    """Pydantic's findings as indented `field: message` lines, without its codes and web links."""
    return "\n".join(
        f"    {'.'.join(map(str, e['loc'])) or 'file'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors())


def _parse_parameter(data: Any, origin: str) -> Parameter:
    try:
        return Parameter.model_validate(data)
    except ValidationError as exc:
        raise AssumptionError(f"{origin}: invalid parameter:\n{plain_errors(exc)}") from exc


def _package_dir() -> Any:
    return resources.files("sf_benefits.assumptions")


@cache
def load_defaults() -> ParameterSet:
    """Every shipped default parameter (appraisal rules, deflators, unit costs, workforce)."""
    params: dict[str, Parameter] = {}
    groups: dict[str, str] = {}
    root = _package_dir() / "parameters"
    for group in GROUPS:
        for entry in sorted((root / group).iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".yaml"):
                continue
            origin = f"parameters/{group}/{entry.name}"
            param = _parse_parameter(_read_yaml(entry.read_text(encoding="utf-8"), origin), origin)
            if param.id != entry.name.removesuffix(".yaml"):
                raise AssumptionError(f"{origin}: id {param.id!r} does not match the file name")
            if param.id in params:
                raise AssumptionError(f"{origin}: parameter id {param.id!r} defined twice")
            params[param.id] = param
            groups[param.id] = group
    return ParameterSet(params, groups)


def list_models() -> list[str]:
    """Names of the innovation models shipped with the package."""
    return list(MODELS)


def load_model(name_or_path: str | Path) -> InnovationModel:
    """A shipped model by name ("family_safeguarding") or a custom model from a YAML file path."""
    name = str(name_or_path)
    if name in MODELS:
        return _shipped_model(name)
    return _load_model(name)


@cache
def _shipped_model(name: str) -> InnovationModel:
    return _load_model(name)


def _load_model(name: str) -> InnovationModel:
    if name in MODELS:
        text = (_package_dir() / "models" / f"{name}.yaml").read_text(encoding="utf-8")
        origin = f"models/{name}.yaml"
    else:
        path = Path(name)
        if path.suffix.lower() in (".yaml", ".yml") and not path.is_file():
            raise AssumptionError(f"no model file {str(path)!r}: the YAML file does not exist")
        if not path.is_file():
            raise AssumptionError(
                f"unknown model {name!r}: choose one of {', '.join(MODELS)} or give a YAML file"
            )
        text, origin = path.read_text(encoding="utf-8"), str(path)
    try:
        parsed = InnovationModelFile.model_validate(_read_yaml(text, origin))
    except ValidationError as exc:
        raise AssumptionError(
            f"{origin}: invalid innovation model:\n{plain_errors(exc)}") from exc
    params: dict[str, Parameter] = {}
    for param in parsed.parameters:
        if param.id in params:
            raise AssumptionError(f"{origin}: parameter id {param.id!r} defined twice")
        params[param.id] = param
    model = InnovationModel(
        name=parsed.model, title=parsed.title, origin=parsed.origin, summary=parsed.summary,
        mechanisms=parsed.mechanisms,
        parameters=ParameterSet(params, {i: parsed.model for i in params}), path=origin,
    )
    _check_model(model, load_defaults().merged(model.parameters), origin)
    return model


def _check_model(model: InnovationModel, params: ParameterSet, origin: str) -> None:
    from sf_benefits.project.categories import PLACEMENTS

    unknown = [i for i in model.referenced_ids() if i not in params]
    if unknown:
        raise AssumptionError(f"{origin}: mechanisms refer to unknown parameter(s) {unknown}")
    mech = model.mechanisms
    for shift in mech.placement_shifts:
        for placement in (shift.from_placement, shift.to_placement):
            if placement not in PLACEMENTS:
                raise AssumptionError(f"{origin}: unknown placement {placement!r}")
    for kind, terms, money in (
        ("implementation_costs", mech.implementation_costs, 1),
        ("running_costs", mech.running_costs, 1),
        ("other_savings", mech.other_savings, 1),
        ("averted_starts_per_year", mech.averted_starts_per_year, 0),
    ):
        for term in terms:
            n_money = sum(is_money_unit(params[i].unit) for i in term.product_of)
            if n_money != money:
                raise AssumptionError(
                    f"{origin}: {kind} term {term.label!r} must have {money} money parameter(s)"
                )
    cost_side = [mech.ramp_up_years]
    for term in (*mech.implementation_costs, *mech.running_costs, *mech.averted_starts_per_year):
        cost_side.extend(term.product_of)
    optional = [i for i in cost_side if not params[i].required]
    if optional:
        raise AssumptionError(
            f"{origin}: {optional} can only be optional (required: false) in other_savings, a "
            "starts reduction or a placement shift, where leaving them out cannot raise the benefit"
        )


def assumptions_for(model: InnovationModel | str | Path) -> ParameterSet:
    """The defaults plus one model's parameters: the full set a projection draws on."""
    loaded = model if isinstance(model, InnovationModel) else load_model(model)
    return load_defaults().merged(loaded.parameters)


def load_overrides(path: str | Path) -> tuple[dict[str, Any], str | None]:
    """Read an override file (YAML mapping of id -> value or fields, or CSV) and its `by` field."""
    path = Path(path)
    if not path.is_file():
        raise AssumptionError(f"override file {path} not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        return _overrides_from_csv(text, str(path)), None
    data = _read_yaml(text, str(path))
    if not isinstance(data, dict):
        raise AssumptionError(f"{path}: expected a mapping of parameter id to value")
    by = data.pop("by", None)
    if "overrides" in data:
        data = data["overrides"] or {}  # a template with every entry still commented out
    if not isinstance(data, dict):
        raise AssumptionError(f"{path}: 'overrides' must map parameter ids to values")
    return data, None if by is None else str(by)


def _overrides_from_csv(text: str, origin: str) -> dict[str, Any]:
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    if "id" not in columns or "value" not in columns:
        raise AssumptionError(f"{origin}: a CSV override needs columns id and value")
    result: dict[str, dict[str, Any]] = {}
    for row_no, row in enumerate(reader, start=2):
        pid = (row.get("id") or "").strip()
        if not pid:
            raise AssumptionError(f"{origin}, row {row_no}: id is empty")
        try:
            value = float(row["value"])
        except (TypeError, ValueError):
            raise AssumptionError(f"{origin}, row {row_no}, column 'value': not a number") from None
        entry = result.setdefault(pid, {})
        effective = (row.get("effective_from") or "").strip()
        if effective:
            entry.setdefault("values", {})[effective] = value
        else:
            entry["value"] = value
        low, high = (row.get("low") or "").strip(), (row.get("high") or "").strip()
        if low or high:
            entry["distribution"] = {"kind": (row.get("distribution") or "triangular").strip(),
                                     "low": float(low), "high": float(high)}
        for key in ("price_base_year", "source", "confidence", "notes"):
            if (row.get(key) or "").strip():
                entry[key] = row[key].strip()
    return result


def apply_overrides(
    params: ParameterSet, overrides: Mapping[str, Any] | str | Path | None, by: str | None = None
) -> ParameterSet:
    """Replace parameters with an LA's own values; each replaced one records "LA override by <who>".

    `overrides` maps a parameter id to a number or to a mapping with `value` (or `values` by
    effective date), and optionally distribution, range, price_base_year, source, confidence, notes.
    """
    if overrides is None:
        return params
    if isinstance(overrides, str | Path):
        overrides, file_by = load_overrides(overrides)
        by = by or file_by
    who = by or "user"
    result = params
    problems: list[str] = []
    for pid, spec in overrides.items():
        try:
            result = result.replaced(_override_one(result[str(pid)], spec, who))
        except AssumptionError as error:
            problems.append(str(error))
    if problems:
        raise AssumptionError(f"{len(problems)} override(s) could not be applied; nothing was "
                              "changed:\n" + "\n".join(f"  - {p}" for p in problems))
    return result


def _override_one(param: Parameter, spec: Any, who: str) -> Parameter:
    if not isinstance(spec, Mapping):
        spec = {"value": spec}
    unknown = set(spec) - OVERRIDE_FIELDS
    if unknown:
        raise AssumptionError(f"override of {param.id}: unknown field(s) {sorted(unknown)}")
    if "unit" in spec and spec["unit"] != param.unit:
        raise AssumptionError(
            f"override of {param.id}: unit {spec['unit']!r} differs from {param.unit!r}"
        )
    if ("value" in spec) == ("values" in spec):
        raise AssumptionError(f"override of {param.id}: give exactly one of value or values")
    if "values" in spec and not spec["values"]:
        raise AssumptionError(f"override of {param.id}: no values filled in (a series: "
                              "`values: {2024-04-01: ..., 2025-04-01: ...}`)")
    if "values" in spec:
        values = {_as_date(k, param.id): _as_float(v, param.id) for k, v in spec["values"].items()}
    else:
        start = _as_date(spec.get("effective_from", date(1900, 4, 1)), param.id)
        values = {start: _as_float(spec["value"], param.id)}
    outside = [v for v in values.values() if param.out_of_range(v)]
    if outside:
        raise AssumptionError(
            f"override of {param.id}: {outside[0]:g} is outside {param.valid_range_text}"
        )
    price_base = spec.get("price_base_year")
    if is_money_unit(param.unit) and price_base is None:
        raise AssumptionError(
            f"override of {param.id}: a money value needs the price_base_year it is in (e.g. "
            f"'2024-25'; the shipped value is at {param.price_base_year or 'no'} prices)"
        )
    source = spec.get("source")
    title = f"LA override by {who}" + (f": {source}" if source else "")
    try:
        reference = Reference(title=title, publisher=who, year=date.today().year,
                              url=spec.get("url"))
    except ValidationError as exc:
        raise AssumptionError(
            f"override of {param.id}: invalid source:\n{plain_errors(exc)}") from exc
    data = {
        "id": param.id, "description": param.description, "unit": param.unit,
        "price_base_year": price_base, "values": values,
        "distribution": spec.get("distribution", Distribution().model_dump()),
        "valid_range": param.valid_range,
        "range": spec.get("range"), "references": [reference.model_dump()],
        "confidence": spec.get("confidence", "D"), "status": "override",
        "required": param.required,
        "notes": spec.get("notes", f"Replaces: {param.source_text or 'no sourced value'}"),
    }
    return _parse_parameter(data, f"override of {param.id}")


def _as_date(value: Any, pid: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AssumptionError(f"override of {pid}: {value!r} is not a date (YYYY-MM-DD)") from None


def _as_float(value: Any, pid: str) -> float:
    if value is None:
        raise AssumptionError(f"override of {pid}: no value filled in")
    if isinstance(value, bool):
        raise AssumptionError(f"override of {pid}: {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssumptionError(f"override of {pid}: {value!r} is not a number") from None


def override_template(params: ParameterSet, by: str = "<who supplies these values>") -> str:
    """A YAML override file to fill in. Every parameter is listed with its description, unit,
    shipped value, grade and valid range: commented out where a value ships (uncomment to
    override it), open where none does. Loading an open entry unfilled fails, naming it."""
    lines = [
        "# Your LA's own values. A parameter left commented keeps the shipped value shown beside",
        "# it; to override one, remove the '#' from its lines and give the value, its source and",
        "# (for money) the financial year its prices are in. Values outside the valid range are",
        "# refused.",
        f"by: {by}",
        "overrides:",
    ]
    for param in params:
        optional = "" if param.required else " (optional)"
        shipped = (f"shipped {param.value:g}"
                   + (f" at {param.price_base_year} prices" if param.price_base_year else "")
                   + f", grade {param.confidence}" if param.has_value and param.value is not None
                   else "no shipped value")
        low, high = param.valid_range
        lines.append(f"  # {param.description} [{param.unit}]{optional}: {shipped}; "
                     f"valid {low:g} to {high:g}")
        mark = "# " if param.has_value else ""
        lines.append(f"  {mark}{param.id}:")
        if param.id in SERIES_PARAMETERS:
            lines.append(f"  {mark}  values: {{}}  # one index per financial year, keyed "
                         "2024-04-01: ...")
        else:
            lines.append(f"  {mark}  value: null")
        if is_money_unit(param.unit):
            lines.append(f"  {mark}  price_base_year: null  # financial year of the value, "
                         "e.g. 2024-25")
        lines.append(f'  {mark}  source: ""')
    return "\n".join(lines) + "\n"


def parameter_table(params: ParameterSet | Iterable[Parameter]) -> pd.DataFrame:
    """Parameters as a table for reports and the web app, one row each, in a fixed column order."""
    groups = params.groups if isinstance(params, ParameterSet) else {}
    rows = []
    for p in params:
        dist = p.distribution
        low_high = p.low_high
        rows.append({
            "id": p.id,
            "group": groups.get(p.id, ""),
            "description": p.description,
            "value": p.value,
            "unit": p.unit,
            "price_base_year": p.price_base_year,
            "distribution": dist.kind,
            "low": None if low_high is None else low_high[0],
            "high": None if low_high is None else low_high[1],
            "source": p.source_text,
            "url": p.references[0].url if p.references else None,
            "confidence": p.confidence,
            "status": p.status,
            "required": p.required,
        })
    columns = ["id", "group", "description", "value", "unit", "price_base_year", "distribution",
               "low", "high", "source", "url", "confidence", "status", "required"]
    return pd.DataFrame(rows, columns=columns)
