"""Access control in one place: every route depends on `require(permission)`.

The dependency signs the user in from the session cookie, checks the CSRF token on every write,
loads the LA, scenario or job named in the path and decides, from the user's role and LA, whether
the request may go on. Rules:

* LA analyst: read and write their own LA; LA viewer: read their own LA;
  programme team: read every LA; admin: everything.
* An LA's actuals, jobs and unpublished scenarios are seen only by that LA's users and admins;
  a published scenario is also seen by the programme team.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from sf_benefits.store import Store
from sf_benefits.store.schema import local_authority
from sf_benefits.web.audit import Actor
from sf_benefits.web.auth import ADMIN, LA_ANALYST, PROGRAMME, Principal, load_principal
from sf_benefits.web.jobs import job_row
from sf_benefits.web.scenarios import get_scenario
from sf_benefits.web.settings import WebSettings

SESSION_COOKIE = "sfb_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Permission(StrEnum):
    """What a route needs; LA-scoped permissions apply to the LA, scenario or job in its path."""

    SIGNED_IN = "signed in"
    READ_LA = "read the LA"
    WRITE_LA = "write the LA"
    PROGRAMME = "read all LAs"
    ADMIN = "administer"


class NotSignedIn(Exception):
    """No valid session: pages redirect to the log-in page, the API answers 401."""


@dataclass(frozen=True)
class Access:
    """What the access check established for one request: who, from where, and on what."""

    principal: Principal
    ip: str
    la: dict[str, Any] | None = None
    scenario: dict[str, Any] | None = None
    job: dict[str, Any] | None = None

    @property
    def actor(self) -> Actor:
        """The audit log's record of who made this request."""
        return Actor(self.principal.user_id, self.principal.email, self.ip)

    @property
    def la_code(self) -> str:
        """The code of the LA the route names (directly or through a scenario or job)."""
        if self.la is None:
            raise LookupError("this route names no LA")
        return str(self.la["la_code"])


def can_read_la(principal: Principal, la_code: str) -> bool:
    """Programme team and admins read every LA; LA users only their own."""
    return principal.role in (PROGRAMME, ADMIN) or principal.la_code == la_code


def can_write_la(principal: Principal, la_code: str) -> bool:
    """Admins write anywhere; LA analysts write only their own LA."""
    return principal.role == ADMIN or (principal.role == LA_ANALYST
                                       and principal.la_code == la_code)


def can_see_private(principal: Principal, la_code: str) -> bool:
    """Actuals, jobs and unpublished scenarios: the LA's own users and admins only."""
    return principal.role == ADMIN or principal.la_code == la_code


def can_read_scenario(principal: Principal, scenario: dict[str, Any]) -> bool:
    """A scenario is seen by its LA's users and admins, and by the programme team once published."""
    la_code = str(scenario["la_code"])
    if not can_read_la(principal, la_code):
        return False
    return bool(scenario["published"]) or can_see_private(principal, la_code)


def signer(settings: WebSettings, purpose: str) -> URLSafeTimedSerializer:
    """The cookie signer for one purpose (session or log-in form), keyed by the app secret."""
    return URLSafeTimedSerializer(settings.secret_key, salt=f"sf-benefits-{purpose}")


def client_ip(request: Request) -> str:
    """The peer address (the app is meant to sit directly on, or behind a trusted, proxy)."""
    return request.client.host if request.client else "unknown"


def current_principal(request: Request) -> Principal | None:
    """The signed-in user from the signed session cookie, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    settings: WebSettings = request.app.state.settings
    try:
        session_id = signer(settings, "session").loads(
            cookie, max_age=settings.session_hours * 3600)
    except BadSignature:
        return None
    store: Store = request.app.state.store
    return load_principal(store, str(session_id))


async def _check_csrf(request: Request, principal: Principal) -> None:
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if not token or not hmac.compare_digest(token, principal.csrf_token):
        raise HTTPException(403, "The form or request is missing its CSRF token, or it is wrong.")


def _la_row(store: Store, la_code: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(select(local_authority).where(local_authority.c.la_code == la_code)
                           ).mappings().first()
    if row is None:
        raise HTTPException(404, f"No local authority with code {la_code}.")
    return dict(row)


def _la_for(store: Store, la_code: str, principal: Principal, permission: Permission
            ) -> dict[str, Any]:
    la = _la_row(store, la_code)
    if permission is Permission.WRITE_LA and not can_write_la(principal, la_code):
        raise HTTPException(403, "You cannot change this LA's data.")
    if not can_read_la(principal, la_code):
        raise HTTPException(403, "You cannot see this LA.")
    return la


def require(permission: Permission) -> Callable[[Request], Awaitable[Access]]:
    """The dependency every route uses: sign-in, CSRF on writes, then the permission check."""

    async def dependency(request: Request) -> Access:
        """Sign in, check CSRF on writes, load the named resource, apply the rules."""
        principal = current_principal(request)
        if principal is None:
            raise NotSignedIn()
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, principal)
        store: Store = request.app.state.store
        ip = client_ip(request)
        params = request.path_params
        if permission is Permission.ADMIN and principal.role != ADMIN:
            raise HTTPException(403, "Only administrators can do this.")
        if permission is Permission.PROGRAMME and principal.role not in (PROGRAMME, ADMIN):
            raise HTTPException(403, "Only the programme team can see every LA.")
        if permission not in (Permission.READ_LA, Permission.WRITE_LA):
            return Access(principal, ip)

        job = scenario = None
        if "job_id" in params:
            job = job_row(store, str(params["job_id"]), with_result=False)
            if job is None:
                raise HTTPException(404, "No such job.")
            la_code = str(job["la_code"])
            if job["scenario_id"] is not None:
                scenario = get_scenario(store, int(job["scenario_id"]))
            visible = (can_read_scenario(principal, scenario) if scenario is not None
                       else can_see_private(principal, la_code))
            if not visible:
                raise HTTPException(404, "No such job.")
        elif "scenario_id" in params:
            raw_id = str(params["scenario_id"])
            scenario = (get_scenario(store, int(raw_id))
                        if raw_id.isdigit() and len(raw_id) <= 9 else None)
            if scenario is None or not can_read_scenario(principal, scenario):
                raise HTTPException(404, "No such scenario.")
            la_code = str(scenario["la_code"])
        elif "la_code" in params:
            la_code = str(params["la_code"])
        else:
            raise HTTPException(500, "This route names no LA, scenario or job to check.")
        la = _la_for(store, la_code, principal, permission)
        return Access(principal, ip, la=la, scenario=scenario, job=job)

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


SignedIn = Annotated[Access, Depends(require(Permission.SIGNED_IN))]
ReadLA = Annotated[Access, Depends(require(Permission.READ_LA))]
WriteLA = Annotated[Access, Depends(require(Permission.WRITE_LA))]
Programme = Annotated[Access, Depends(require(Permission.PROGRAMME))]
Admin = Annotated[Access, Depends(require(Permission.ADMIN))]
