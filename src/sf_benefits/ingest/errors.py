"""Errors for bad input: each problem names the file, row, column and the rule it broke."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One broken rule at one place in one input file (row is the 1-based line in the file)."""

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: [{self.rule}] {self.message}"


class IngestError(Exception):
    """Raised before anything is written: the input broke one or more rules."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the input; nothing was loaded:\n{shown}{more}")


def fail(file: str, rule: str, message: str, row: int | None = None,
         column: str | None = None) -> IngestError:
    """An IngestError holding a single problem."""
    return IngestError([Problem(file, row, column, rule, message)])
