"""The JSON API under /api, documented by OpenAPI at /api/docs; same access rules as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sf_benefits.ingest.errors import IngestError
from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_SEED
from sf_benefits.store import Store
from sf_benefits.web import services
from sf_benefits.web.access import (
    SESSION_COOKIE,
    Admin,
    Programme,
    ReadLA,
    SignedIn,
    WriteLA,
    can_see_private,
    client_ip,
)
from sf_benefits.web.api_schemas import (
    SIGNED_IN_ERRORS,
    AssumptionOut,
    AuditEventOut,
    BacktestOut,
    BenchmarkOut,
    ImportOut,
    ModelOut,
    ProgrammeOut,
    ResultOut,
    TrackingOut,
    error_response,
)
from sf_benefits.web.audit import recent_events
from sf_benefits.web.auth import (
    Principal,
    TooManyAttempts,
    UserError,
    authenticate,
    create_user,
    end_session,
    list_users,
    load_principal,
    start_session,
)
from sf_benefits.web.benchmark_view import benchmark_view
from sf_benefits.web.downloads import MEDIA_TYPES
from sf_benefits.web.jobs import SUCCEEDED, JobRunner, job_row, latest_job, latest_la_job
from sf_benefits.web.pages import download_response, read_upload, set_session_cookie
from sf_benefits.web.scenarios import (
    DEMAND_METHODS,
    MAX_DRAWS,
    MAX_HORIZON_YEARS,
    MIN_DRAWS,
    ScenarioError,
    create_scenario,
    list_published,
    list_scenarios,
    set_published,
    update_scenario,
)
from sf_benefits.web.settings import WebSettings
from sf_benefits.web.tracking_view import programme_page, tracking_page, upload_actuals

router = APIRouter(prefix="/api", responses=SIGNED_IN_ERRORS)
public_router = APIRouter(prefix="/api")
PUBLIC_OPERATIONS = {("POST", "/api/session")}


class LoginRequest(BaseModel):
    """Email and password to sign in."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    id: int
    email: str
    full_name: str
    role: str
    la_code: str | None
    active: bool = True


class SessionOut(BaseModel):
    """The signed-in user and the CSRF token to send as X-CSRF-Token on writes."""

    user: UserOut
    csrf_token: str


class UserCreate(BaseModel):
    """A new user; LA analysts and viewers need an LA code."""

    email: str = Field(max_length=254)
    full_name: str = Field(max_length=200)
    password: str = Field(min_length=12, max_length=1024)
    role: str
    la_code: str | None = None


class LocalAuthorityOut(BaseModel):
    """An LA the user may open."""

    la_code: str
    la_name: str
    region_name: str | None


class ScenarioCreate(BaseModel):
    """A new scenario: the innovation model, horizon, Monte Carlo draws, seed and overrides."""

    name: str = Field(min_length=1, max_length=200)
    model: str = Field(max_length=64)
    method: str = Field(default=DEFAULT_METHOD, max_length=32,
                        description="Demand method: " + ", ".join(DEMAND_METHODS)
                                    + f" (default {DEFAULT_METHOD}, the backtest's pick)")
    horizon_years: int = Field(default=5, ge=1, le=MAX_HORIZON_YEARS)
    n_draws: int = Field(default=500, ge=MIN_DRAWS, le=MAX_DRAWS)
    seed: int = Field(default=DEFAULT_SEED, ge=0, le=2**31 - 1)
    overrides: dict[str, float | dict[str, Any]] = Field(default_factory=dict)


class ScenarioPatch(BaseModel):
    """Changes to a scenario; `overrides` replaces the whole set of overridden assumptions."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    method: str | None = Field(default=None, max_length=32)
    horizon_years: int | None = Field(default=None, ge=1, le=MAX_HORIZON_YEARS)
    n_draws: int | None = Field(default=None, ge=MIN_DRAWS, le=MAX_DRAWS)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    overrides: dict[str, float | dict[str, Any]] | None = None


class ScenarioOut(BaseModel):
    """A saved scenario."""

    id: int
    la_code: str
    name: str
    model: str
    method: str
    horizon_years: int
    n_draws: int
    seed: int
    overrides: dict[str, Any]
    published: bool
    created_at: datetime
    updated_at: datetime


class PublishRequest(BaseModel):
    """Whether the programme team may see the scenario."""

    published: bool


class JobOut(BaseModel):
    """A background job and how far it has got."""

    id: str
    kind: str
    la_code: str
    scenario_id: int | None
    status: str
    progress: float
    message: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _user_out(principal: Principal) -> UserOut:
    return UserOut(id=principal.user_id, email=principal.email, full_name=principal.full_name,
                   role=principal.role, la_code=principal.la_code)


@public_router.post("/session", response_model=SessionOut, tags=["session"],
                    responses={401: error_response("Wrong email or password"),
                               415: error_response("Not JSON"),
                               422: error_response("Email or password missing"),
                               429: error_response("Too many attempts: wait and try again")})
def sign_in(request: Request, body: LoginRequest, response: Response) -> SessionOut:
    """Sign in; sets the session cookie and returns the CSRF token for writes."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "Send the email and password as JSON.")
    store = _store(request)
    settings: WebSettings = request.app.state.settings
    try:
        user_id = authenticate(store, settings, body.email, body.password, client_ip(request))
    except TooManyAttempts as exc:
        raise HTTPException(429, str(exc)) from exc
    if user_id is None:
        raise HTTPException(401, "The email address or password is wrong.")
    session_id = start_session(store, settings, user_id)
    set_session_cookie(response, settings, session_id)
    principal = load_principal(store, session_id)
    assert principal is not None
    return SessionOut(user=_user_out(principal), csrf_token=principal.csrf_token)


@router.get("/session", response_model=SessionOut, tags=["session"])
def session(access: SignedIn) -> SessionOut:
    """Who is signed in, and the CSRF token to send as X-CSRF-Token on writes."""
    return SessionOut(user=_user_out(access.principal), csrf_token=access.principal.csrf_token)


@router.delete("/session", status_code=204, tags=["session"])
def sign_out(request: Request, access: SignedIn) -> Response:
    """Sign out: the session stops working at once."""
    end_session(_store(request), access.principal, access.ip)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/las", response_model=list[LocalAuthorityOut], tags=["local authorities"])
def las(request: Request, access: SignedIn) -> list[dict[str, Any]]:
    """The LAs the signed-in user may open."""
    return services.readable_las(_store(request), access.principal)


@router.get("/las/{la_code}/benchmark", response_model=BenchmarkOut, tags=["local authorities"])
def benchmark(request: Request, la_code: str, access: ReadLA) -> dict[str, Any]:
    """The LA against its statistical neighbours, region and England on every indicator."""
    return benchmark_view(_store(request), access.la_code).json


@router.get("/las/{la_code}/scenarios", response_model=list[ScenarioOut], tags=["scenarios"])
def scenarios(request: Request, la_code: str, access: ReadLA) -> list[dict[str, Any]]:
    """The LA's scenarios: all of them for its own users, published ones for the programme team."""
    return list_scenarios(_store(request), access.la_code,
                          include_unpublished=can_see_private(access.principal, access.la_code))


@router.post("/las/{la_code}/scenarios", response_model=ScenarioOut, status_code=201,
             tags=["scenarios"])
def new_scenario(request: Request, la_code: str, body: ScenarioCreate, access: WriteLA
                 ) -> dict[str, Any]:
    """Save a new (unpublished) scenario for the LA."""
    store = _store(request)
    try:
        services.check_model_and_overrides(body.model, body.overrides)
        scenario_id = create_scenario(store, access.la_code, body.name, body.model,
                                      body.horizon_years, body.n_draws, body.seed, access.actor,
                                      body.overrides, method=body.method)
    except (ScenarioError, services.ScenarioRejected) as exc:
        raise HTTPException(422, str(exc)) from exc
    return services.scenario_or_404(store, scenario_id)


@router.get("/scenarios/{scenario_id}", response_model=ScenarioOut, tags=["scenarios"])
def scenario(scenario_id: int, access: ReadLA) -> dict[str, Any]:
    """One scenario's settings and overrides."""
    assert access.scenario is not None
    return access.scenario


@router.patch("/scenarios/{scenario_id}", response_model=ScenarioOut, tags=["scenarios"])
def change_scenario(request: Request, scenario_id: int, body: ScenarioPatch, access: WriteLA
                    ) -> dict[str, Any]:
    """Change a scenario's settings or overrides (audited)."""
    assert access.scenario is not None
    try:
        if body.overrides is not None:
            services.check_model_and_overrides(access.scenario["model"], body.overrides)
        return update_scenario(_store(request), access.scenario, access.actor, name=body.name,
                               horizon_years=body.horizon_years, n_draws=body.n_draws,
                               seed=body.seed, overrides=body.overrides, method=body.method)
    except (ScenarioError, services.ScenarioRejected) as exc:
        raise HTTPException(422, str(exc)) from exc


@router.post("/scenarios/{scenario_id}/publish", response_model=ScenarioOut, tags=["scenarios"])
def publish(request: Request, scenario_id: int, body: PublishRequest, access: WriteLA
            ) -> dict[str, Any]:
    """Publish the scenario to the programme team, or withdraw it."""
    assert access.scenario is not None
    store = _store(request)
    set_published(store, access.scenario, body.published, access.actor)
    return services.scenario_or_404(store, scenario_id)


@router.post("/scenarios/{scenario_id}/run", response_model=JobOut, status_code=202,
             tags=["scenarios"])
def run(request: Request, scenario_id: int, access: WriteLA) -> dict[str, Any]:
    """Start the scenario's Monte Carlo projection in the background; poll the job it returns."""
    assert access.scenario is not None
    store = _store(request)
    runner: JobRunner = request.app.state.runner
    job_id = runner.submit(store, services.PROJECTION, access.la_code,
                           services.scenario_run_params(access.scenario, access.principal.email),
                           access.actor, scenario_id=scenario_id)
    started = job_row(store, job_id)
    assert started is not None
    return started


@router.get("/scenarios/{scenario_id}/result", response_model=ResultOut, tags=["scenarios"],
            responses={404: error_response(
                "No such scenario, or it has not been run successfully")})
def result(request: Request, scenario_id: int, access: ReadLA) -> dict[str, Any]:
    """The last successful run: headline appraisal, counts (small numbers suppressed), money by
    financial year, sensitivity and the assumptions used, with the price base."""
    done = latest_job(_store(request), scenario_id, status=SUCCEEDED)
    if done is None:
        raise HTTPException(404, "This scenario has not been run successfully yet.")
    assert access.scenario is not None
    return {"job_id": done["id"], "finished_at": done["finished_at"],
            "out_of_date": services.settings_changed(access.scenario, done),
            "result": done["result"]}


@router.get("/scenarios/{scenario_id}/report/{fmt}", tags=["scenarios"],
            response_class=Response, responses={200: {
                "description": "The report file (xlsx, html or pdf)",
                "content": {media: {"schema": {"type": "string", "format": "binary"}}
                            for media in MEDIA_TYPES.values()}}})
def report(request: Request, scenario_id: int, fmt: str, access: ReadLA) -> Response:
    """The report of the last successful run as the reports engine builds it."""
    assert access.scenario is not None
    return download_response(_store(request), access.scenario, fmt)


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def job(job_id: str, access: ReadLA) -> dict[str, Any]:
    """A background job's status and progress (pages poll this)."""
    assert access.job is not None
    return access.job


@router.get("/models", response_model=list[ModelOut], tags=["scenarios"])
def models(access: SignedIn) -> list[dict[str, str]]:
    """The innovation models a scenario can use."""
    return services.models()


@router.get("/models/{model}/assumptions", response_model=list[AssumptionOut],
            tags=["scenarios"])
def model_assumptions(model: str, access: SignedIn) -> list[dict[str, Any]]:
    """A model's assumptions: value, unit, price base, distribution, source and grade."""
    if model not in {m["name"] for m in services.models()}:
        raise HTTPException(404, f"No model called '{model}'.")
    return [{k: v for k, v in row.items() if k != "override"}
            for row in services.assumption_rows(model, {})]


@router.post("/las/{la_code}/backtest", response_model=JobOut, status_code=202,
             tags=["scenarios"])
def start_backtest(request: Request, la_code: str, access: WriteLA) -> dict[str, Any]:
    """Score the demand forecasting methods on the LA's past years (a background job)."""
    store = _store(request)
    runner: JobRunner = request.app.state.runner
    job_id = runner.submit(store, services.BACKTEST, access.la_code,
                           {"la_code": access.la_code}, access.actor)
    started = job_row(store, job_id)
    assert started is not None
    return started


@router.get("/las/{la_code}/backtest", response_model=BacktestOut, tags=["scenarios"],
            responses={404: error_response("No such LA, or no backtest has finished for it")})
def backtest(request: Request, la_code: str, access: ReadLA) -> dict[str, Any]:
    """The latest finished backtest: MAPE, MASE and interval coverage by method and years ahead."""
    done = latest_la_job(_store(request), access.la_code, services.BACKTEST, status=SUCCEEDED)
    if done is None:
        raise HTTPException(404, "No backtest has finished for this LA yet.")
    return {"finished_at": done["finished_at"], **done["result"]}


@router.get("/las/{la_code}/tracking", response_model=TrackingOut, tags=["tracking"])
def tracking(request: Request, la_code: str, access: ReadLA) -> dict[str, Any]:
    """The LA's implementations with realised benefit (children and £ to date, interval, status),
    its imports of actuals and the actuals in force (small counts suppressed; the imports and
    actuals only for the LA's own users and administrators)."""
    return tracking_page(_store(request), access.la_code, include_private=can_see_private(
        access.principal, access.la_code)).to_json()


@router.post("/las/{la_code}/actuals", status_code=201, response_model=ImportOut,
             tags=["tracking"],
             responses={413: error_response("The file is too large"),
                        422: error_response("The file broke the template's rules or could not be read; "
                                    "every problem is named and nothing was stored")})
async def upload(request: Request, la_code: str, access: WriteLA,
                 file: Annotated[UploadFile, File(description="Actuals template, .csv or .xlsx")],
                 note: Annotated[str, Form(max_length=500)] = "") -> dict[str, Any]:
    """Upload actuals through the track engine's validated import (all or nothing; audited)."""
    settings: WebSettings = request.app.state.settings
    content = await read_upload(file, settings.max_upload_bytes)
    try:
        done = await run_in_threadpool(upload_actuals, _store(request), access.la_code,
                                       file.filename or "actuals.csv", content, note,
                                       access.actor)
    except IngestError as exc:
        raise HTTPException(422, [{"file": p.file, "row": p.row, "column": p.column,
                                   "rule": p.rule, "message": p.message}
                                  for p in exc.problems]) from exc
    return {"import_id": done.import_id, "version": done.version, "rows": done.rows,
            "source_file": done.source_file}


class GoLive(BaseModel):
    """Record go-live with one of the LA's run scenarios as the business case."""

    scenario_id: int
    go_live_date: date


@router.post("/las/{la_code}/implementations", response_model=JobOut, status_code=202,
             tags=["tracking"])
def go_live(request: Request, la_code: str, body: GoLive, access: WriteLA) -> dict[str, Any]:
    """Record go-live and lock the scenario's projection as the baseline (a background job)."""
    store = _store(request)
    try:
        job_id = services.start_lock_baseline(request.app.state.runner, store, access,
                                              body.scenario_id, body.go_live_date)
    except services.ScenarioRejected as exc:
        raise HTTPException(422, str(exc)) from exc
    started = job_row(store, job_id)
    assert started is not None
    return started


@router.get("/programme", response_model=ProgrammeOut, tags=["programme"])
def programme(request: Request, access: Programme) -> dict[str, Any]:
    """Every implementation by model with realised savings and effect estimates, and every
    published scenario (programme team and administrators)."""
    store = _store(request)
    page = programme_page(store)
    return {**page.frames, "notes": page.notes,
            "published_scenarios": list_published(store)}


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def users(request: Request, access: Admin) -> list[dict[str, Any]]:
    """Every user (administrators only)."""
    return list_users(_store(request))


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def add_user(request: Request, body: UserCreate, access: Admin) -> dict[str, Any]:
    """Add a user (administrators only; audited)."""
    store = _store(request)
    try:
        user_id = create_user(store, body.email, body.full_name, body.password, body.role,
                              body.la_code, access.actor)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from exc
    return next(u for u in list_users(store) if u["id"] == user_id)


@router.get("/audit", response_model=list[AuditEventOut], tags=["admin"])
def audit(request: Request, access: Admin, limit: int = 200, la_code: str | None = None
          ) -> list[dict[str, Any]]:
    """The latest audit events, newest first (administrators only)."""
    return recent_events(_store(request), limit=max(1, min(limit, 2000)), la_code=la_code)
