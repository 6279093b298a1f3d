"""OpenAPI for the JSON API: response schemas of the table-shaped answers, the errors every
operation can give, and the two security schemes (session cookie; CSRF header on writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

Row = dict[str, Any]
"""One row of a tidy table: column name to value (counts of 1 to 5 are "c")."""

SESSION_SCHEME = "sessionCookie"
CSRF_SCHEME = "csrfHeader"
SAFE = frozenset({"get", "head", "options"})


class ErrorOut(BaseModel):
    """Why a request was refused: a sentence, or a list of problems (file, row, column, rule)."""

    detail: str | list[Row]


class LocalAuthorityRef(BaseModel):
    """An LA by code and name."""

    la_code: str
    la_name: str
    region_name: str | None = None


class BenchmarkOut(BaseModel):
    """The LA against its statistical neighbours, region and England, indicator by indicator."""

    la: LocalAuthorityRef
    year: int | None
    neighbour_model: str | None
    neighbours: list[LocalAuthorityRef]
    notes: list[str]
    price_base: str
    summary: list[Row] = Field(description="One row per indicator: LA, neighbour mean, region, "
                                           "England, band. A value is a number, the string "
                                           "\"c\" where the DfE withheld it, or null where "
                                           "none was published")
    neighbour_values: list[Row] = Field(description="Each neighbour's value per indicator "
                                                    "(number, \"c\" or null)")
    trend: list[Row] = Field(description="Values by year per indicator and area (number, "
                                         "\"c\" or null)")


class ResultOut(BaseModel):
    """The last successful run of a scenario."""

    job_id: str
    finished_at: datetime | None
    out_of_date: bool = Field(description="True when the scenario was changed after this run")
    result: Row = Field(description="Headline appraisal, counts (suppressed), money by "
                                    "financial year, sensitivity and assumptions used")


class ModelOut(BaseModel):
    """An innovation model a scenario can use."""

    name: str
    title: str
    summary: str


class AssumptionOut(BaseModel):
    """One assumption of a model: value, unit, price base, uncertainty, source and grade."""

    id: str
    description: str
    value: float | str | None
    unit: str
    price_base_year: str | None
    distribution: str | None
    low: float | None
    high: float | None
    source: str | None
    url: str | None
    confidence: str | None
    status: str | None
    series: bool = Field(description="Entered as a value by year (a deflator index, say)")
    missing: bool = Field(description="No sourced value: the LA must supply one to run")


class BacktestOut(BaseModel):
    """How well each demand forecasting method did on the LA's own past years."""

    finished_at: datetime | None
    summary: list[Row]
    best_method: str | None
    origins: list[Any] | None
    level: float | None
    skipped: list[Row]


class TrackingOut(BaseModel):
    """The LA's implementations with realised benefit; imports and actuals for its own users."""

    implementations: list[Row]
    imports: list[Row]
    current_actuals: list[Row]


class ImportOut(BaseModel):
    """One accepted import of actuals."""

    import_id: str
    version: int
    rows: int
    source_file: str


class ProgrammeOut(BaseModel):
    """Every implementation by model, with realised savings and effect estimates."""

    programme: list[Row]
    programme_by_model: list[Row]
    notes: list[str]
    published_scenarios: list[Row]


class AuditEventOut(BaseModel):
    """One row of the audit log."""

    id: int
    occurred_at: datetime
    user_id: int | None
    user_email: str | None
    ip: str | None
    la_code: str | None
    action: str
    target_type: str | None
    target_id: str | None
    detail: Any


def error_response(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorOut}


SIGNED_IN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: error_response("Not signed in (no valid session cookie)"),
    403: error_response("Signed in, but the role or LA does not allow this (or the CSRF token is "
                "missing or wrong on a write)"),
    404: error_response("No such LA, scenario, job or model, or one the user may not see"),
    422: error_response("A value in the request is not valid; every problem is named"),
}
"""Errors every signed-in operation can answer with."""


def install_openapi(app: FastAPI, public: set[tuple[str, str]]) -> None:
    """Build the OpenAPI document with the security schemes: every operation but `public`
    ((method, path) pairs) needs the session cookie, and every write the CSRF header too."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {
            SESSION_SCHEME: {"type": "apiKey", "in": "cookie", "name": "sfb_session",
                             "description": "Set by POST /api/session"},
            CSRF_SCHEME: {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                          "description": "The session's CSRF token (GET /api/session); "
                                         "required on POST, PATCH and DELETE"},
        }
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if (method.upper(), path) in public:
                    operation["security"] = []
                elif method in SAFE:
                    operation["security"] = [{SESSION_SCHEME: []}]
                else:
                    operation["security"] = [{SESSION_SCHEME: [], CSRF_SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
