"""What a web user reads when something fails: plain words, never an exception class name, a
traceback or the command-line tool's YAML instructions."""

from __future__ import annotations

import logging

from sf_benefits.assumptions import AssumptionError, MissingAssumptionError
from sf_benefits.ingest.errors import IngestError

logger = logging.getLogger(__name__)

UNEXPECTED = ("The run stopped because of a fault in the tool, not in your data. It has been "
              "logged for the administrator; please try again later.")


def _assumption_words(text: str) -> str:
    return text.replace("override of ", "your value for ").replace(
        "override(s) could not be applied", "of your values could not be used")


def user_message(exc: BaseException) -> str:
    """The message a web page or API answer shows for a failed run or request."""
    if isinstance(exc, MissingAssumptionError):
        names = "; ".join(f"{p.description} ({p.id})" for p in exc.parameters)
        return (f"{len(exc.parameters)} assumption(s) this run needs have no value yet: {names}. "
                "Enter a value for each in the assumptions table (a year-by-year series can be "
                "entered or uploaded there too), save, and run again.")
    if isinstance(exc, AssumptionError):
        return _assumption_words(str(exc))
    if isinstance(exc, IngestError):
        return "; ".join(str(p) for p in exc.problems)
    if type(exc).__module__.startswith("sf_benefits."):
        return str(exc)
    logger.error("unexpected failure shown to the user as a plain message", exc_info=exc)
    return UNEXPECTED
