"""Server-rendered pages. Every route but log-in depends on `require(...)` from `access`."""

from __future__ import annotations

import hmac
import re
import secrets
import tempfile
from datetime import date
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature
from starlette.concurrency import run_in_threadpool

from sf_benefits.benchmark.engine import MARKER_NOTE, shown
from sf_benefits.ingest.errors import IngestError
from sf_benefits.project.defaults import DEFAULT_METHOD, DEFAULT_SEED
from sf_benefits.store import Store
from sf_benefits.track import write_template
from sf_benefits.web import downloads, services
from sf_benefits.web.access import (
    SESSION_COOKIE,
    Access,
    Admin,
    Programme,
    ReadLA,
    SignedIn,
    WriteLA,
    can_see_private,
    can_write_la,
    client_ip,
    current_principal,
    signer,
)
from sf_benefits.web.audit import detail_summary, recent_events
from sf_benefits.web.auth import (
    ROLES,
    TooManyAttempts,
    UserError,
    authenticate,
    create_user,
    end_session,
    list_users,
    reset_password,
    set_active,
    start_session,
)
from sf_benefits.web.benchmark_view import benchmark_view
from sf_benefits.web.jobs import SUCCEEDED, JobRunner, job_row, latest_job, latest_la_job
from sf_benefits.web.overrides import overrides_from_csv, overrides_from_form
from sf_benefits.web.scenario_view import backtest_chart, scenario_result_view
from sf_benefits.web.scenarios import (
    DEMAND_METHODS,
    MAX_DRAWS,
    MAX_HORIZON_YEARS,
    METHOD_TECHNICAL,
    MIN_DRAWS,
    ScenarioError,
    create_scenario,
    list_published,
    list_scenarios,
    set_published,
    update_scenario,
)
from sf_benefits.web.settings import WebSettings
from sf_benefits.web.templating import render
from sf_benefits.web.tracking_view import programme_page, tracking_page, upload_actuals

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "sfb_login"


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def set_session_cookie(response: Response, settings: WebSettings, session_id: str) -> None:
    """The signed session cookie: HttpOnly, SameSite=Lax, Secure unless turned off for tests."""
    response.set_cookie(SESSION_COOKIE, signer(settings, "session").dumps(session_id),
                        max_age=settings.session_hours * 3600, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path="/")


def _safe_next(target: str) -> str:
    """Only a path on this site ("/..."), never "//host", "/\\host" or "/\\t/host" (browsers drop
    tabs and newlines), which browsers follow off-site."""
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        return target
    return "/la"


def _login_page(request: Request, *, status_code: int = 200, error: str = "", email: str = "",
                next_url: str = "/la") -> Response:
    settings = _settings(request)
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, status_code=status_code, title="Sign in",
                      login_csrf=token, error=error, email=email, next=_safe_next(next_url))
    response.set_cookie(LOGIN_COOKIE, signer(settings, "login").dumps(token), max_age=3600,
                        httponly=True, samesite="strict", secure=settings.secure_cookies,
                        path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/la") -> Response:
    """The sign-in form, with a CSRF token bound to a short-lived signed cookie."""
    if current_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


@router.post("/login")
def login(request: Request, email: Annotated[str, Form(max_length=254)],
          password: Annotated[str, Form(max_length=1024)],
          csrf_token: Annotated[str, Form(max_length=128)],
          next: Annotated[str, Form(max_length=2048)] = "/la") -> Response:
    """Check the form's CSRF token and the password (rate-limited), then start a session."""
    settings = _settings(request)
    try:
        expected = str(signer(settings, "login").loads(request.cookies.get(LOGIN_COOKIE, ""),
                                                        max_age=3600))
    except BadSignature:
        expected = ""
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, status_code=403, email=email, next_url=next,
                           error="Your sign-in form had expired. Please try again.")
    try:
        user_id = authenticate(_store(request), settings, email, password, client_ip(request))
    except TooManyAttempts as exc:
        return _login_page(request, status_code=429, email=email, next_url=next, error=str(exc))
    if user_id is None:
        return _login_page(request, status_code=401, email=email, next_url=next,
                           error="The email address or password is wrong.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, settings, start_session(_store(request), settings, user_id))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, access: SignedIn) -> Response:
    """End the session (audited) and clear its cookie."""
    end_session(_store(request), access.principal, access.ip)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(access: SignedIn) -> Response:
    """An LA user goes to their LA; programme team and admins choose one."""
    principal = access.principal
    if principal.la_code:
        return RedirectResponse(f"/la/{principal.la_code}", status_code=303)
    return RedirectResponse("/la", status_code=303)


@router.get("/la")
def la_list(request: Request, access: SignedIn) -> Response:
    """The LAs the user may open."""
    las = services.readable_las(_store(request), access.principal)
    if len(las) == 1:
        return RedirectResponse(f"/la/{las[0]['la_code']}", status_code=303)
    return render(request, "la_list.html", access.principal, title="Local authorities", las=las)


@router.get("/la/go")
def la_go(access: SignedIn, la_code: str) -> Response:
    """Open the LA chosen in the picker."""
    code = la_code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{1,9}", code):
        raise HTTPException(404, "That is not an LA code.")
    return RedirectResponse(f"/la/{code}", status_code=303)


@router.get("/la/{la_code}")
def la_overview(request: Request, la_code: str, access: ReadLA) -> Response:
    """The LA against its statistical neighbours, region and England, with charts and tables."""
    view = benchmark_view(_store(request), access.la_code)
    return render(request, "la_overview.html", access.principal,
                  title=f"{access.la['la_name'] if access.la else la_code}: overview",
                  la=access.la, view=view, marker_note=MARKER_NOTE)


@router.get("/la/{la_code}/indicators/{indicator_id}")
def indicator_page(request: Request, la_code: str, indicator_id: str, access: ReadLA
                   ) -> Response:
    """One indicator for the LA: its neighbours chart and its trend chart, each with its table."""
    view = benchmark_view(_store(request), access.la_code)
    found = view.section(indicator_id)
    if found is None:
        raise HTTPException(404, "No such indicator for this LA.")
    item, charts = found
    return render(request, "indicator.html", access.principal,
                  title=f"{item.indicator.label}: {access.la['la_name'] if access.la else la_code}",
                  la=access.la, item=item, charts=charts,
                  la_value=shown(item.la_value, item.la_status), marker_note=MARKER_NOTE,
                  kind="money" if item.indicator.unit.upper().startswith("GBP") else "rate")


@router.get("/admin/users")
def users_page(request: Request, access: Admin) -> Response:
    """Administrators: every user, and a form to add one."""
    return _users_page(request, access)


def _users_page(request: Request, access: Access, error: str = "", status_code: int = 200
                ) -> Response:
    store = _store(request)
    return render(request, "admin_users.html", access.principal, status_code=status_code,
                  title="Users", users=list_users(store), roles=ROLES,
                  las=services.readable_las(store, access.principal), error=error)


@router.post("/admin/users")
def add_user(request: Request, access: Admin, email: Annotated[str, Form(max_length=254)],
             full_name: Annotated[str, Form(max_length=200)],
             password: Annotated[str, Form(max_length=1024)],
             role: Annotated[str, Form(max_length=32)],
             la_code: Annotated[str, Form(max_length=9)] = "") -> Response:
    """Administrators: add a user (audited)."""
    try:
        create_user(_store(request), email, full_name, password, role, la_code or None,
                    access.actor)
    except UserError as exc:
        return _users_page(request, access, error=str(exc), status_code=400)
    return RedirectResponse("/admin/users?done=user_added", status_code=303)


@router.post("/admin/users/{user_id}/active")
def set_user_active(request: Request, user_id: int, access: Admin,
                    active: Annotated[str, Form(max_length=1)]) -> Response:
    """Administrators: stop a user signing in (their sessions end at once), or allow it again."""
    try:
        set_active(_store(request), user_id, active == "1", access.actor)
    except UserError as exc:
        return _users_page(request, access, error=str(exc), status_code=404)
    done = "user_activated" if active == "1" else "user_deactivated"
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


@router.post("/admin/users/{user_id}/password")
def reset_user_password(request: Request, user_id: int, access: Admin,
                        password: Annotated[str, Form(max_length=1024)]) -> Response:
    """Administrators: give a user a new password (their sessions end at once)."""
    try:
        reset_password(_store(request), user_id, password, access.actor)
    except UserError as exc:
        return _users_page(request, access, error=str(exc), status_code=400)
    return RedirectResponse("/admin/users?done=password_reset", status_code=303)


@router.get("/la/{la_code}/benchmark.{fmt}")
def benchmark_download(request: Request, la_code: str, fmt: str, access: ReadLA) -> Response:
    """The LA's benchmark as an Excel workbook (formatted, with charts) or a CSV summary."""
    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404, f"No benchmark download in the format '{fmt}'.")
    content = downloads.benchmark_file(_store(request), access.la_code, fmt)
    name = f"{access.la_code}-benchmark.{fmt}"
    return Response(content, media_type=downloads.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


AUDIT_PAGE_SIZE = 50


@router.get("/admin/audit")
def audit_page(request: Request, access: Admin, page: int = 1) -> Response:
    """Administrators: the audit events as a table, newest first, a page at a time."""
    page = max(1, min(page, 100_000))
    first = (page - 1) * AUDIT_PAGE_SIZE
    events = recent_events(_store(request), limit=AUDIT_PAGE_SIZE + 1, offset=first)
    shown = [{**e, "summary": detail_summary(e["detail"])} for e in events[:AUDIT_PAGE_SIZE]]
    return render(request, "audit.html", access.principal, title="Audit log", events=shown,
                  page=page, first=first, more=len(events) > AUDIT_PAGE_SIZE,
                  page_size=AUDIT_PAGE_SIZE)


def _scenario_list_page(request: Request, access: Access, error: str = "",
                        status_code: int = 200) -> Response:
    store = _store(request)
    la_code = access.la_code
    private = can_see_private(access.principal, la_code)
    backtest_job = (latest_la_job(store, la_code, services.BACKTEST, with_result=False)
                    if private else None)
    backtest_done = latest_la_job(store, la_code, services.BACKTEST, status=SUCCEEDED)
    return render(
        request, "scenarios.html", access.principal, status_code=status_code,
        backtest_job=backtest_job,
        backtest=backtest_chart(backtest_done["result"]) if backtest_done else None,
        title=f"{access.la['la_name'] if access.la else la_code}: scenarios", la=access.la,
        scenarios=list_scenarios(store, la_code, include_unpublished=private),
        can_write=can_write_la(access.principal, la_code), models=services.models(),
        model_titles={m["name"]: m["title"] for m in services.models()}, error=error,
        methods=DEMAND_METHODS, technical=METHOD_TECHNICAL, max_horizon=MAX_HORIZON_YEARS,
        min_draws=MIN_DRAWS, max_draws=MAX_DRAWS)


@router.get("/la/{la_code}/scenarios")
def scenarios_page(request: Request, la_code: str, access: ReadLA) -> Response:
    """The LA's scenarios, and a form to build one for those who may write."""
    return _scenario_list_page(request, access)


@router.post("/la/{la_code}/backtest")
def backtest_page(request: Request, la_code: str, access: WriteLA) -> Response:
    """Start a backtest of the demand forecasts on the LA's past years, in the background."""
    runner: JobRunner = request.app.state.runner
    runner.submit(_store(request), services.BACKTEST, access.la_code,
                  {"la_code": access.la_code}, access.actor)
    return RedirectResponse(f"/la/{access.la_code}/scenarios#backtest", status_code=303)


@router.post("/la/{la_code}/scenarios")
def create_scenario_page(request: Request, la_code: str, access: WriteLA,
                         name: Annotated[str, Form(max_length=200)],
                         model: Annotated[str, Form(max_length=64)],
                         method: Annotated[str, Form(max_length=32)] = DEFAULT_METHOD,
                         horizon_years: Annotated[int, Form()] = 5,
                         n_draws: Annotated[int, Form()] = 1000,
                         seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = DEFAULT_SEED
                         ) -> Response:
    """Save a new scenario and open its builder."""
    try:
        services.check_model_and_overrides(model, {})
        scenario_id = create_scenario(_store(request), access.la_code, name, model,
                                      horizon_years, n_draws, seed, access.actor,
                                      method=method)
    except (ScenarioError, services.ScenarioRejected) as exc:
        return _scenario_list_page(request, access, error=str(exc), status_code=400)
    return RedirectResponse(f"/scenarios/{scenario_id}?done=created", status_code=303)


def _scenario_page(request: Request, access: Access, error: str = "", status_code: int = 200,
                   shown: dict[str, Any] | None = None) -> Response:
    store = _store(request)
    scenario = shown or access.scenario
    assert scenario is not None
    job = latest_job(store, scenario["id"], with_result=False)
    result_job = latest_job(store, scenario["id"], status=SUCCEEDED)
    result = (scenario_result_view(result_job["result"])
              if result_job is not None and result_job["result"] else None)
    assumptions = services.assumption_rows(scenario["model"], scenario["overrides"])
    missing = sum(1 for a in assumptions if a["missing"] and a["override"] is None)
    return render(
        request, "scenario.html", access.principal, status_code=status_code,
        title=f"{scenario['name']}: scenario", la=access.la, scenario=scenario,
        model_title=services.model_title(scenario["model"]), job=job, result_job=result_job,
        result=result, stale=services.settings_changed(scenario, result_job),
        assumptions=assumptions, missing=missing, error=error,
        can_write=can_write_la(access.principal, access.la_code),
        downloads=downloads.available_formats(), methods=DEMAND_METHODS, technical=METHOD_TECHNICAL,
        max_horizon=MAX_HORIZON_YEARS,
        min_draws=MIN_DRAWS, max_draws=MAX_DRAWS)


@router.get("/scenarios/{scenario_id}")
def scenario_page(request: Request, scenario_id: int, access: ReadLA) -> Response:
    """The scenario builder: assumptions with source and grade, run, fan chart, money."""
    return _scenario_page(request, access)


@router.post("/scenarios/{scenario_id}")
async def save_scenario_page(request: Request, scenario_id: int, access: WriteLA) -> Response:
    """Save the settings and the overridden assumptions (audited)."""
    assert access.scenario is not None
    form = await request.form()
    try:
        labels = {a["id"]: a["description"] for a in services.assumption_rows(
            access.scenario["model"], {})}
        overrides = overrides_from_form(form, access.scenario["overrides"], labels)
        services.check_model_and_overrides(access.scenario["model"], overrides)
        update_scenario(
            _store(request), access.scenario, access.actor,
            name=str(form.get("name", access.scenario["name"])),
            horizon_years=_int(form.get("horizon_years"), "horizon"),
            n_draws=_int(form.get("n_draws"), "number of draws"),
            seed=_int(form.get("seed"), "seed"), overrides=overrides,
            method=str(form["method"]) if form.get("method") else None)
    except (ScenarioError, services.ScenarioRejected) as exc:
        return _scenario_page(request, access, error=str(exc), status_code=400)
    return RedirectResponse(f"/scenarios/{scenario_id}?done=saved#assumptions", status_code=303)


@router.post("/scenarios/{scenario_id}/assumptions-file")
async def upload_assumptions_page(request: Request, scenario_id: int, access: WriteLA,
                                  file: Annotated[UploadFile, File()]) -> Response:
    """Take assumption values (numbers or series by year) from an uploaded CSV (audited)."""
    assert access.scenario is not None
    content = await read_upload(file, _settings(request).max_upload_bytes)
    try:
        uploaded = overrides_from_csv(content, PurePath(file.filename or "values.csv").name)
        overrides = {**access.scenario["overrides"], **uploaded}
        services.check_model_and_overrides(access.scenario["model"], overrides)
        update_scenario(_store(request), access.scenario, access.actor, overrides=overrides)
    except (ScenarioError, services.ScenarioRejected) as exc:
        return _scenario_page(request, access, error=str(exc), status_code=422)
    return RedirectResponse(f"/scenarios/{scenario_id}?done=saved#assumptions", status_code=303)


def _int(value: Any, label: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ScenarioError(f"the {label} must be a whole number") from None


@router.post("/scenarios/{scenario_id}/run")
def run_scenario_page(request: Request, scenario_id: int, access: WriteLA) -> Response:
    """Start the scenario's projection in the background and come back to follow it."""
    assert access.scenario is not None
    runner: JobRunner = request.app.state.runner
    runner.submit(_store(request), services.PROJECTION, access.la_code,
                  services.scenario_run_params(access.scenario, access.principal.email),
                  access.actor, scenario_id=scenario_id)
    return RedirectResponse(f"/scenarios/{scenario_id}?done=run_started#run", status_code=303)


@router.post("/scenarios/{scenario_id}/publish")
def publish_scenario_page(request: Request, scenario_id: int, access: WriteLA,
                          published: Annotated[str, Form(max_length=1)]) -> Response:
    """Publish the scenario to the programme team, or withdraw it (audited)."""
    assert access.scenario is not None
    flag = published == "1"
    set_published(_store(request), access.scenario, flag, access.actor)
    done = "published" if flag else "unpublished"
    return RedirectResponse(f"/scenarios/{scenario_id}?done={done}", status_code=303)


@router.get("/la/{la_code}/downloads")
def downloads_page(request: Request, la_code: str, access: ReadLA) -> Response:
    """Every run scenario the user may see, with its report as Excel, HTML and PDF."""
    store = _store(request)
    rows = []
    for scenario in list_scenarios(store, access.la_code, include_unpublished=can_see_private(
            access.principal, access.la_code)):
        job = latest_job(store, scenario["id"], status=SUCCEEDED, with_result=False)
        if job is not None:
            rows.append({"scenario": scenario, "job": job,
                         "stale": services.settings_changed(scenario, job)})
    return render(request, "downloads.html", access.principal,
                  title=f"{access.la['la_name'] if access.la else la_code}: downloads",
                  la=access.la, rows=rows, formats=downloads.available_formats(),
                  model_titles={m["name"]: m["title"] for m in services.models()})


@router.get("/scenarios/{scenario_id}/download/{fmt}")
def download_page(request: Request, scenario_id: int, fmt: str, access: ReadLA) -> Response:
    """The report of the scenario's last run as Excel, HTML or PDF."""
    assert access.scenario is not None
    return download_response(_store(request), access.scenario, fmt)


def download_response(store: Store, scenario: dict[str, Any], fmt: str) -> Response:
    """The report file of the scenario's last successful run, as an attachment."""
    job = latest_job(store, scenario["id"], status=SUCCEEDED, with_result=False)
    if job is None:
        raise HTTPException(404, "Run the projection before downloading its report.")
    if fmt not in dict(downloads.available_formats()):
        raise HTTPException(404, f"No download in the format '{fmt}'.")
    built = downloads.build_download(store, scenario, job, fmt)
    return Response(built.content, media_type=built.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{built.filename}"'})


def _tracking_page(request: Request, access: Access, *, problems: list[str] | None = None,
                   error: str = "", status_code: int = 200) -> Response:
    store = _store(request)
    la_code = access.la_code
    can_write = can_write_la(access.principal, la_code)
    lockable = [s for s in list_scenarios(store, la_code, include_unpublished=True)
                if latest_job(store, s["id"], status=SUCCEEDED, with_result=False) is not None
                ] if can_write else []
    private = can_see_private(access.principal, la_code)
    job_id = request.query_params.get("job")
    job = job_row(store, job_id, with_result=False) if job_id and private else None
    if job is not None and job["la_code"] != la_code:
        job = None
    return render(
        request, "tracking.html", access.principal, status_code=status_code,
        title=f"{access.la['la_name'] if access.la else la_code}: tracking", la=access.la,
        page=tracking_page(store, la_code, include_private=private), actuals_private=not private,
        can_write=can_write, lockable=lockable,
        model_titles={m["name"]: m["title"] for m in services.models()},
        problems=problems or [], error=error, job=job)


@router.get("/la/{la_code}/tracking")
def tracking(request: Request, la_code: str, access: ReadLA) -> Response:
    """Realised benefit against the locked baseline, imports and actuals in force."""
    return _tracking_page(request, access)


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded bytes, refusing anything over `limit` without reading it all."""
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise HTTPException(413, f"The file is larger than {limit // 1_000_000} MB.")
    return content


@router.get("/la/{la_code}/actuals-template.xlsx")
def actuals_template(request: Request, la_code: str, access: ReadLA) -> Response:
    """The blank actuals template (Excel) the upload expects."""
    with tempfile.TemporaryDirectory(prefix="sfb-template-") as folder:
        content = write_template(Path(folder) / "actuals-template.xlsx").read_bytes()
    return Response(content, media_type=downloads.MEDIA_TYPES["xlsx"], headers={
        "Content-Disposition": 'attachment; filename="sf-benefits-actuals-template.xlsx"'})


@router.post("/la/{la_code}/actuals")
async def upload_actuals_page(request: Request, la_code: str, access: WriteLA,
                              file: Annotated[UploadFile, File()],
                              note: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Validate and import an actuals file (all or nothing; problems listed)."""
    content = await read_upload(file, _settings(request).max_upload_bytes)
    try:
        await run_in_threadpool(upload_actuals, _store(request), access.la_code,
                                file.filename or "actuals.csv", content, note, access.actor)
    except IngestError as exc:
        return _tracking_page(request, access, problems=[str(p) for p in exc.problems],
                              status_code=422)
    return RedirectResponse(f"/la/{access.la_code}/tracking?done=uploaded", status_code=303)


@router.post("/la/{la_code}/implementations")
def record_go_live_page(request: Request, la_code: str, access: WriteLA,
                        scenario_id: Annotated[int, Form()],
                        go_live_date: Annotated[date, Form()]) -> Response:
    """Record go-live and lock the chosen scenario's projection as the baseline."""
    store = _store(request)
    try:
        job_id = services.start_lock_baseline(request.app.state.runner, store, access,
                                              scenario_id, go_live_date)
    except services.ScenarioRejected as exc:
        return _tracking_page(request, access, error=str(exc), status_code=400)
    return RedirectResponse(f"/la/{access.la_code}/tracking?job={job_id}", status_code=303)


@router.get("/programme")
def programme(request: Request, access: Programme) -> Response:
    """The programme team's view: every implementation by model, and published scenarios."""
    store = _store(request)
    las = {la["la_code"]: la["la_name"] for la in services.readable_las(store, access.principal)}
    return render(request, "programme.html", access.principal, title="Programme view",
                  page=programme_page(store), published=list_published(store), la_names=las,
                  model_titles={m["name"]: m["title"] for m in services.models()})
