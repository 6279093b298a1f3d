"""Run the DfE SSDA903 rules of `csc-validator-be-903` on header/episodes CSVs; print JSON issues.

This file runs inside the validator's own virtual environment (it pins pandas < 2), never inside
SF Benefits: it imports nothing from sf_benefits. Input: one JSON argument with `collection_year`
("2023" for 2022-23), `ruleset` ("lac2022_23"), `la_code`, `this_year` and `prev_year` (lists of
CSV paths). Output on stdout, as JSON: `issues` ({table, row, child, code, message, fields}), the
rule codes that `ran` and were `skipped` (their tables were not given), and `failed_rules`
({code, error}) for rules that raised, whose result is unknown.
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
    logging.disable(logging.WARNING)
    errors: dict[str, str] = {}

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info and record.exc_info[1] is not None:
                words = record.getMessage().split()
                code = words[2] if len(words) > 2 else "?"
                errors[code] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"

    logging.getLogger().addHandler(Failures(logging.ERROR))
    with contextlib.redirect_stdout(io.StringIO()):
        from lac_validator import lac_validator
        from lac_validator.utils import process_uploaded_files

        files = process_uploaded_files({
            "This year": list(request["this_year"]),
            "Prev year": list(request.get("prev_year", [])),
        })
        registry = importlib.import_module(f"lac_validator.rules.{request['ruleset']}").registry
        wanted = {"Header", "Episodes", "UASC", "Header_last", "Episodes_last", "UASC_last"}
        selected = [code for code, rule in registry.items()
                    if rule.tables and set(rule.tables) <= wanted]
        validator = lac_validator.LacValidator(
            metadata={"collectionYear": str(request["collection_year"]),
                      "localAuthority": request["la_code"]},
            files=files, registry=registry, selected_rules=selected,
        )
    issues = []
    for table, frame in validator.ds_results.items():
        if table not in ("Header", "Episodes", "UASC"):
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
    skipped = sorted({*map(str, validator.skips), *(str(c) for c in registry if c not in selected)})
    json.dump({"issues": issues, "ran": sorted(map(str, validator.dones)), "skipped": skipped,
               "failed_rules": [{"code": str(c), "error": errors.get(str(c), "raised an error")}
                                for c in validator.fails]}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
