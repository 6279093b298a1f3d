"""Shipped assumptions are sourced and strict; overrides replace values and record who made them."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
import yaml

from sf_benefits.assumptions import (
    AssumptionError,
    MissingAssumptionError,
    Parameter,
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

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sf_benefits" / "assumptions"
RESEARCH_FILE = Path(os.environ.get("SF_BENEFITS_RESEARCH_DIR")
                     or Path(__file__).resolve().parents[3] / "shared" / "research") / (
    "sourced-defaults.yaml")
"""The research notes: SF_BENEFITS_RESEARCH_DIR if set, else ../shared/research beside the repo."""
LATEST = date(2100, 1, 1)

SOURCED_DEFAULTS = {
    # id: (grade, status, value in force latest, price base) - from sourced-defaults.yaml
    "optimism_bias_benefits": ("D", "derived", 0.25, None),
    "optimism_bias_costs": ("B", "sourced", 0.41, None),
    "deadweight": ("D", "derived", 0.10, None),
    "discount_rate": ("A", "sourced", 0.035, None),
    "discount_rate_long_term": ("A", "sourced", 0.030, None),
    "gdp_deflator_index": ("A", "sourced", 103.2388, None),
    "unit_cost_placed_for_adoption_weekly": ("D", "derived", 145, "2025-26"),
    "unit_cost_placed_with_parents_weekly": ("D", "derived", 145, "2025-26"),
    "unit_cost_independent_living_weekly": ("D", "derived", 1010, "2023-24"),
    "unit_cost_other_residential_weekly": ("D", "derived", 6106, "2023-24"),
    "unit_cost_other_weekly": ("D", "derived", 1857, "2023-24"),
    "unit_cost_foster_weekly": ("B", "sourced", 646, "2016-17"),
    "unit_cost_childrens_homes_secure_weekly": ("A", "derived", 6106, "2023-24"),
    "agency_social_worker_premium_annual": ("C", "sourced", 22700, "2020-21"),
    "agency_share_of_workforce": ("A", "sourced", 0.162, None),
    "fs_reduction_in_starts": ("C", "derived", 0.15, None),
    "fs_ramp_up_years": ("D", "derived", 2, None),
    "fs_implementation_cost": ("D", "derived", 500_000, "2021-22"),
    "fs_running_cost_annual": ("D", "derived", 1_000_000, "2021-22"),
    "fs_agency_fte_reduction": ("D", "derived", 4, None),
    "fv_families_referred_fgc_per_year": ("C", "derived", 88, None),
    "fv_ramp_up_years": ("D", "derived", 2, None),
    "fv_cost_per_fgc": ("D", "derived", 3700, "2022-23"),
    "fv_implementation_cost": ("D", "derived", 300_000, "2022-23"),
    "fv_running_cost_annual": ("D", "derived", 1_200_000, "2022-23"),
    "fv_fgc_reduction_looked_after_12m": ("A", "sourced", 0.086, None),
    "nwd_reduction_in_starts": ("D", "derived", 0.05, None),
    "nwd_ramp_up_years": ("D", "derived", 3, None),
    "nwd_implementation_cost": ("D", "derived", 1_000_000, "2022-23"),
    "nwd_running_cost_annual": ("D", "derived", 900_000, "2022-23"),
    "nwd_residential_to_family_shift": ("D", "sourced", 0.5, None),
}

CUSTOM_MODEL = (
    "model: edge_of_care_team\ntitle: Edge of care team\norigin: Anytown\n"
    "summary: A local edge-of-care team.\n"
    "mechanisms:\n  ramp_up_years: eoc_ramp\n  starts_reduction: eoc_reduction\n"
    "  running_costs:\n    - {label: team, product_of: [eoc_cost]}\n"
    "parameters:\n"
    "  - {id: eoc_ramp, description: ramp-up years, unit: years, values: {2025-04-01: 1},"
    " valid_range: [0, 10],"
    " references: [{title: plan, publisher: Anytown, year: 2025}], confidence: D}\n"
    "  - {id: eoc_reduction, description: reduction in starts, unit: proportion,"
    " valid_range: [0, 1],"
    " values: {2025-04-01: 0.05}, references: [{title: plan, publisher: Anytown, year: 2025}],"
    " confidence: D}\n"
    "  - {id: eoc_cost, description: team cost, unit: GBP per year, price_base_year: 2024-25,"
    " valid_range: [0, 10000000],"
    " values: null, status: not_found, confidence: X}\n"
)


def every_parameter() -> dict[str, Parameter]:
    """Defaults and every shipped model's parameters, keyed by id."""
    found = dict(load_defaults().parameters)
    for name in list_models():
        found.update(load_model(name).parameters.parameters)
    return found


def shipped_parameters() -> list[tuple[str, dict]]:
    """Every parameter as written in the shipped YAML files (group files and model files)."""
    found = []
    for path in sorted((PACKAGE / "parameters").glob("*/*.yaml")):
        found.append((str(path.relative_to(PACKAGE)), yaml.safe_load(path.read_text())))
    for path in sorted((PACKAGE / "models").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text())["parameters"]:
            found.append((f"{path.name}:{entry['id']}", entry))
    return found


def test_every_shipped_parameter_has_a_source_or_is_marked_not_found() -> None:
    entries = shipped_parameters()
    assert len(entries) > 20
    for where, raw in entries:
        status = raw.get("status", "sourced")
        if status in ("not_found", "not_verified"):
            assert raw.get("values") is None, f"{where}: not found but has a value"
            assert raw["confidence"] == "X", where
            continue
        assert raw.get("values"), f"{where}: no value"
        refs = raw.get("references") or []
        complete = all(r.get("title") and r.get("publisher") and r.get("year") for r in refs)
        assert refs and complete, f"{where}: value without a source"
        assert raw["confidence"] in ("A", "B", "C", "D"), where
        assert raw.get("unit"), where
        assert len(raw["valid_range"]) == 2, f"{where}: no valid range"
        if raw.get("status") == "derived":
            assert raw.get("derivation") or raw.get("notes"), f"{where}: derived without how"
        if str(raw["unit"]).startswith("GBP"):
            assert raw.get("price_base_year"), f"{where}: money without a price base"


def test_defaults_and_models_load() -> None:
    defaults = load_defaults()
    assert defaults.value_at("discount_rate") == pytest.approx(0.035)
    assert defaults["unit_cost_foster_weekly"].price_base_year == "2016-17"
    assert defaults["gdp_deflator_index"].value_at(date(2022, 4, 1)) == pytest.approx(91.2996)
    assert set(list_models()) == {"family_safeguarding", "family_valued", "no_wrong_door"}
    for name in list_models():
        model = load_model(name)
        assert model.parameters, name
        params = assumptions_for(model)
        assert all(pid in params for pid in model.referenced_ids())


def test_table_lists_id_value_unit_price_base_source_and_grade() -> None:
    table = assumptions_for("family_valued").table()
    assert {"id", "value", "unit", "price_base_year", "source", "confidence"} <= set(table.columns)
    row = table.set_index("id").loc["fv_fgc_reduction_looked_after_12m"]
    assert row["value"] == pytest.approx(0.086)
    assert row["confidence"] == "A"
    assert "British Journal of Social Work" in row["source"]
    derived = table.set_index("id").loc["fv_cost_per_fgc"]
    assert (derived["status"], derived["confidence"], derived["value"]) == ("derived", "D", 3700)
    assert parameter_table(load_defaults()).shape[0] == len(load_defaults())


def valid(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "unit_cost_test_weekly", "description": "A weekly cost", "unit": "GBP per week",
        "price_base_year": "2023-24", "values": {date(2023, 4, 1): 100.0},
        "valid_range": (0.0, 10_000.0),
        "references": [{"title": "A report", "publisher": "NAO", "year": 2024}],
        "confidence": "B",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"colour": "red"}, "Extra inputs are not permitted"),
    ({"references": []}, "source"),
    ({"price_base_year": None}, "price_base_year"),
    ({"price_base_year": "2023-25"}, "financial year"),
    ({"unit": ""}, "unit"),
    ({"status": "not_found"}, "values: null"),
    ({"confidence": "X"}, "confidence X"),
    ({"distribution": {"kind": "triangular", "low": 120.0, "high": 150.0}}, "outside"),
    ({"distribution": {"kind": "normal"}}, "positive sd"),
    ({"valid_range": None}, "valid_range"),
    ({"values": {date(2023, 4, 1): -5.0}}, r"value -5 is outside its valid range \[0, 10000\]"),
    ({"range": (-1.0, 200.0)}, "range bound -1 is outside its valid range"),
    ({"distribution": {"kind": "uniform", "low": 50.0, "high": 20_000.0}},
     "distribution bound 20000 is outside"),
    ({"valid_range": (5.0, 1.0)}, "valid_range low 5 is above high 1"),
    ({"status": "derived"}, "derivation"),
])
def test_loader_is_strict(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Parameter.model_validate(valid(**changes))


def test_value_at_follows_effective_dates() -> None:
    param = Parameter.model_validate(valid(values={date(2020, 4, 1): 1.0, date(2023, 4, 1): 2.0}))
    assert param.value_at(date(2021, 1, 1)) == 1.0
    assert param.value_at(date(2023, 4, 1)) == 2.0
    assert param.value_at(date(2019, 1, 1)) == 1.0


def test_override_from_dict_is_applied_and_recorded() -> None:
    params = assumptions_for("family_safeguarding")
    changed = apply_overrides(params, {
        "fs_reduction_in_starts": {"value": 0.12, "source": "board paper 2025",
                                   "distribution": {"kind": "triangular", "low": 0.05, "high": 0.2},
                                   "confidence": "C"},
        "unit_cost_foster_weekly": {"value": 900, "price_base_year": "2024-25"},
        "discount_rate": 0.03,
    }, by="Anytown finance")
    reduction = changed["fs_reduction_in_starts"]
    assert reduction.value == pytest.approx(0.12)
    assert reduction.status == "override"
    assert reduction.confidence == "C"
    assert reduction.references[0].title == "LA override by Anytown finance: board paper 2025"
    assert reduction.low_high == (0.05, 0.2)
    foster = changed["unit_cost_foster_weekly"]
    assert (foster.value, foster.price_base_year, foster.confidence) == (900, "2024-25", "D")
    assert "PSSRU" in (foster.notes or "")
    assert changed.value_at("discount_rate") == pytest.approx(0.03)
    assert params["fs_reduction_in_starts"].value == pytest.approx(0.15)


def test_override_refuses_bad_input() -> None:
    params = assumptions_for("family_safeguarding")
    with pytest.raises(AssumptionError, match="unknown parameter id 'fs_reducton'"):
        apply_overrides(params, {"fs_reducton": 0.1})
    with pytest.raises(AssumptionError, match="price_base_year it is in .* 2023-24 prices"):
        apply_overrides(params, {"unit_cost_other_weekly": 100})
    with pytest.raises(AssumptionError, match="unit"):
        apply_overrides(params, {"fs_reduction_in_starts": {"value": 0.1, "unit": "per cent"}})
    with pytest.raises(AssumptionError, match="not a number"):
        apply_overrides(params, {"fs_reduction_in_starts": "a lot"})


def test_override_files_yaml_and_csv(tmp_path: Path) -> None:
    yaml_file = tmp_path / "mine.yaml"
    yaml_file.write_text(
        "by: Anytown finance team\n"
        "overrides:\n"
        "  fs_reduction_in_starts: {value: 0.15, source: local evaluation}\n"
        "  gdp_deflator_index:\n"
        "    values: {2016-04-01: 80.0, 2024-04-01: 104.0}\n"
        "    source: ONS L8GG, test vintage\n"
    )
    data, by = load_overrides(yaml_file)
    assert by == "Anytown finance team"
    params = apply_overrides(assumptions_for("family_safeguarding"), yaml_file)
    deflator = params["gdp_deflator_index"]
    assert deflator.values == {date(2016, 4, 1): 80.0, date(2024, 4, 1): 104.0}
    assert deflator.references[0].publisher == "Anytown finance team"

    csv_file = tmp_path / "mine.csv"
    csv_file.write_text(
        "id,value,effective_from,price_base_year,low,high,source\n"
        "unit_cost_other_weekly,250,,2024-25,,,LA ledger\n"
        "fs_reduction_in_starts,0.1,,,0.05,0.2,LA estimate\n"
    )
    params = apply_overrides(assumptions_for("family_safeguarding"), csv_file, by="Anytown")
    assert params["unit_cost_other_weekly"].value == 250
    assert params["unit_cost_other_weekly"].price_base_year == "2024-25"
    assert params["fs_reduction_in_starts"].distribution.kind == "triangular"
    title = params["fs_reduction_in_starts"].references[0].title
    assert title == "LA override by Anytown: LA estimate"


def test_override_outside_the_valid_range_is_refused_naming_parameter_and_range() -> None:
    params = assumptions_for("family_safeguarding")
    with pytest.raises(AssumptionError, match=r"fs_reduction_in_starts: -5 is outside its valid "
                                              r"range \[0, 1\] \(proportion of baseline starts\)"):
        apply_overrides(params, {"fs_reduction_in_starts": -5})
    with pytest.raises(AssumptionError, match=r"unit_cost_foster_weekly: -1 is outside .*\[0, 100000\]"):
        apply_overrides(params, {"unit_cost_foster_weekly": {"values": {"2024-04-01": -1},
                                                             "price_base_year": "2024-25"}})
    assert apply_overrides(params, {"fs_reduction_in_starts": 1})["fs_reduction_in_starts"].value == 1


def test_every_parameter_of_the_research_file_ships_with_its_grade() -> None:
    shipped = every_parameter()
    for pid, (grade, status, value, price_base) in SOURCED_DEFAULTS.items():
        param = shipped[pid]
        assert (param.confidence, param.status, param.price_base_year) == (grade, status,
                                                                            price_base), pid
        assert param.value_at(LATEST) == pytest.approx(value), pid
    assert all(p.has_value for p in shipped.values())


def test_shipped_files_match_the_research_file_where_it_is_present() -> None:
    if not RESEARCH_FILE.is_file():
        pytest.skip(f"{RESEARCH_FILE} not present")
    shipped = every_parameter()
    research = yaml.safe_load(RESEARCH_FILE.read_text())["parameters"]
    assert {e["id"] for e in research} == set(SOURCED_DEFAULTS)
    for entry in research:
        param = shipped[entry["id"]]
        assert param.values == {k: float(v) for k, v in entry["values"].items()}, param.id
        assert param.confidence == entry["confidence"] and param.status == entry["status"]
        assert param.distribution.kind == entry["distribution"]["kind"], param.id
        assert param.range == (tuple(entry["range"]) if "range" in entry else param.range)
        titles = {r.title for r in param.references}
        assert len(titles) >= len(entry["references"]), param.id
        if entry.get("derivation"):
            assert param.derivation == " ".join(entry["derivation"].split()), param.id


def test_missing_value_refuses_naming_the_parameter() -> None:
    gap = Parameter.model_validate(valid(id="unit_cost_gap_weekly", values=None, references=[],
                                         status="not_found", confidence="X"))
    params = load_defaults().merged(ParameterSet({gap.id: gap}, {gap.id: "unit_costs"}))
    with pytest.raises(MissingAssumptionError, match="unit_cost_gap_weekly") as caught:
        params.require(["discount_rate", "unit_cost_gap_weekly", "deadweight"])
    assert caught.value.parameter_ids == ["unit_cost_gap_weekly"]
    with pytest.raises(MissingAssumptionError, match="unit_cost_gap_weekly"):
        params.value_at("unit_cost_gap_weekly")


def test_custom_model_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM_MODEL)
    model = load_model(path)
    assert model.name == "edge_of_care_team"
    assert model.referenced_ids() == ["eoc_ramp", "eoc_reduction", "eoc_cost"]

    path.write_text(path.read_text().replace("product_of: [eoc_cost]", "product_of: [eoc_typo]"))
    with pytest.raises(AssumptionError, match="eoc_typo"):
        load_model(path)
    with pytest.raises(AssumptionError, match="unknown model"):
        load_model("family_safe")


def test_optional_only_where_leaving_out_cannot_raise_the_benefit(tmp_path: Path) -> None:
    text = (PACKAGE / "models" / "family_safeguarding.yaml").read_text()
    broken = text.replace(
        "- id: fs_running_cost_annual\n", "- id: fs_running_cost_annual\n  required: false\n")
    path = tmp_path / "fs.yaml"
    path.write_text(broken)
    with pytest.raises(AssumptionError, match="fs_running_cost_annual"):
        load_model(path)


def test_override_template_lists_every_gap_and_refuses_until_filled(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM_MODEL)
    params = assumptions_for(load_model(path))
    shipped = override_template(assumptions_for("family_valued")).split("overrides:\n")[1]
    assert shipped and all(line.startswith("  #") for line in shipped.splitlines())
    assert "# fv_fgc_duty_start_year:" in shipped and "grade D; valid 2000 to 2100" in shipped
    text = override_template(params, by="Anytown")
    listed = [line.strip().rstrip(":") for line in text.splitlines()
              if line.startswith("  ") and not line.strip().startswith(("#", "value", "values",
                                                                          "source", "price"))]
    assert listed == [p.id for p in params if not p.has_value] == ["eoc_cost"]
    template = tmp_path / "template.yaml"
    template.write_text(text)
    with pytest.raises(AssumptionError, match="could not be applied") as caught:
        apply_overrides(params, template)
    assert "eoc_cost" in str(caught.value)
    filled = text.replace("value: null", "value: 1").replace("price_base_year: null",
                                                             "price_base_year: 2024-25")
    template.write_text(filled)
    applied = apply_overrides(params, template)
    assert all(p.has_value for p in applied)
    assert applied["eoc_cost"].references[0].title == "LA override by Anytown"
