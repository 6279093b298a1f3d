"""SSDA903 returns: read, check against the DfE rules, pseudonymise and store; synthetic returns.

`check_returns` reads header and episodes files (CSV or XLSX, several years) and raises
IngestError naming every bad record; `read_returns` also pseudonymises CHILD with a keyed hash;
`load_returns` stores the result all or nothing; `dfe_problems` runs the full DfE rule set through
`csc-validator-be-903` in its own environment.
"""

from sf_benefits.ingest.ssda903.dfe import ValidatorUnavailable, dfe_problems
from sf_benefits.ingest.ssda903.load import (
    LoadSummary,
    PseudonymKeyError,
    Ssda903Data,
    latest_load,
    load_returns,
    pseudonym_key,
    pseudonymise,
    read_returns,
    store_returns,
)
from sf_benefits.ingest.ssda903.read import CheckedReturns, check_returns
from sf_benefits.ssda903_data import PLACEMENT_OF_PLACE

__all__ = [
    "PLACEMENT_OF_PLACE",
    "CheckedReturns",
    "LoadSummary",
    "PseudonymKeyError",
    "Ssda903Data",
    "ValidatorUnavailable",
    "check_returns",
    "dfe_problems",
    "latest_load",
    "load_returns",
    "pseudonym_key",
    "pseudonymise",
    "read_returns",
    "store_returns",
]
