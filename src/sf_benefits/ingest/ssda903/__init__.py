"""SSDA903 returns: read, check against the DfE rules, pseudonymise and store; synthetic returns.

`check_returns` reads header and episodes files (CSV or XLSX, several years) and raises
IngestError naming every bad record; `read_returns` also pseudonymises CHILD with a keyed hash;
`load_returns` stores the result all or nothing; `dfe_validation` runs the full DfE rule set
through `csc-validator-be-903` in its own environment. Names are imported on first use, so a
command pays only for the modules it needs.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "ValidatorUnavailable": "dfe", "DfeReport": "dfe", "dfe_validation": "dfe",
    "LoadSummary": "load", "PseudonymKeyError": "load", "latest_load": "load",
    "load_returns": "load", "new_key": "load", "pseudonym_key": "load", "pseudonymise": "load",
    "read_returns": "load", "store_returns": "load", "prepare_load": "load",
    "store_load": "load",
    "CheckedReturns": "read", "check_returns": "read", "return_files": "read",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"sf_benefits.ingest.ssda903.{_HOMES[name]}"), name)
    raise AttributeError(name)
