"""Run the DfE SSDA903 rules of `csc-validator-be-903` on header/episodes CSVs; print JSON issues.

This file runs inside the validator's own virtual environment (it pins pandas < 2), never inside
SF Benefits: it imports nothing from sf_benefits. Input: one JSON argument with `collection_year`
("2023" for 2022-23), `ruleset` ("lac2022_23"), `la_code`, `this_year` and `prev_year` (lists of
CSV paths). Output on stdout: a JSON list of {table, row, child, code, message, fields}.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import sys


def main(argv: list[str]) -> int:
    """Validate the files described by argv[1] and print the issues as JSON."""
    request = json.loads(argv[1])
    logging.disable(logging.CRITICAL)
    with contextlib.redirect_stdout(io.StringIO()):
        from lac_validator import lac_validator
        from lac_validator.utils import process_uploaded_files

        files = process_uploaded_files({
            "This year": list(request["this_year"]),
            "Prev year": list(request.get("prev_year", [])),
        })
        registry = importlib.import_module(f"lac_validator.rules.{request['ruleset']}").registry
        wanted = {"Header", "Episodes", "Header_last", "Episodes_last"}
        selected = [code for code, rule in registry.items()
                    if rule.tables and set(rule.tables) <= wanted]
        validator = lac_validator.LacValidator(
            metadata={"collectionYear": str(request["collection_year"]),
                      "localAuthority": request["la_code"]},
            files=files, registry=registry, selected_rules=selected,
        )
    issues = []
    for table, frame in validator.ds_results.items():
        if table not in ("Header", "Episodes"):
            continue
        for column in frame.columns:
            if not str(column).startswith("ERR_"):
                continue
            code = str(column)[4:]
            rule = registry[code]
            flagged = frame.index[frame[column].fillna(False).astype(bool)]
            for row in flagged:
                issues.append({
                    "table": table, "row": int(row), "child": str(frame.at[row, "CHILD"]),
                    "code": code, "message": str(rule.message).strip(),
                    "fields": sorted(str(f) for f in (rule.affected_fields or [])),
                })
    json.dump({"issues": issues, "failed_rules": sorted(validator.fails)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
