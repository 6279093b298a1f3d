"""Users, password checks, rate-limited log-in and server-side sessions for the web app."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, select, update

from sf_benefits.store import Store
from sf_benefits.store.schema import local_authority
from sf_benefits.web.audit import Actor, record
from sf_benefits.web.settings import WebSettings
from sf_benefits.web.tables import login_attempt, web_session, web_user

LA_ANALYST = "la_analyst"
LA_VIEWER = "la_viewer"
PROGRAMME = "programme"
ADMIN = "admin"
ROLES: dict[str, str] = {
    LA_ANALYST: "LA analyst (read and write own LA)",
    LA_VIEWER: "LA viewer (read own LA)",
    PROGRAMME: "Programme team (read all LAs)",
    ADMIN: "Administrator",
}
ROLE_NAMES: dict[str, str] = {LA_ANALYST: "LA analyst", LA_VIEWER: "LA viewer",
                              PROGRAMME: "Programme team", ADMIN: "Administrator"}
LA_ROLES = frozenset({LA_ANALYST, LA_VIEWER})
MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (the tests use argon2's cheapest profile to stay fast)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user could not be created because the details break a rule."""


class TooManyAttempts(Exception):
    """Log-in refused because of too many recent failures from this address for this account."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user of one request, with the session it came from."""

    user_id: int
    email: str
    full_name: str
    role: str
    la_code: str | None
    session_id: str
    csrf_token: str

    @property
    def role_label(self) -> str:
        """Short role name (with the LA) for the page header."""
        return ROLE_NAMES[self.role] + (f", {self.la_code}" if self.la_code else "")


def hash_password(password: str) -> str:
    """Argon2id hash of a password, salted, in the PHC string format."""
    return _hasher.hash(password)


def create_user(store: Store, email: str, full_name: str, password: str, role: str,
                la_code: str | None, actor: Actor) -> int:
    """Add a user after checking the role, the LA and the password length; audited."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise UserError(f"'{email}' is not an email address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role in LA_ROLES and not la_code:
        raise UserError(f"a {ROLES[role]} user needs an LA")
    if role not in LA_ROLES:
        la_code = None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with store.transaction() as conn:
        if la_code is not None and conn.execute(
            select(local_authority.c.la_code).where(local_authority.c.la_code == la_code)
        ).first() is None:
            raise UserError(f"no local authority with code '{la_code}' in the store")
        if conn.execute(select(web_user.c.id).where(web_user.c.email == email)).first():
            raise UserError(f"a user with email '{email}' already exists")
        user_id = conn.execute(web_user.insert().values(
            email=email, full_name=full_name.strip() or email,
            password_hash=hash_password(password),
            role=role, la_code=la_code, active=True, created_at=datetime.now(UTC),
        ).returning(web_user.c.id)).scalar_one()
        record(conn, actor, "user.create", la_code=la_code, target_type="user", target_id=user_id,
               detail={"email": email, "role": role})
    return int(user_id)


def user_id_for(store: Store, email: str) -> int:
    """The id of the user with this email address (any case)."""
    with store.engine.connect() as conn:
        user_id = conn.execute(select(web_user.c.id).where(
            web_user.c.email == email.strip().lower())).scalar()
    if user_id is None:
        raise UserError(f"no user with email '{email.strip().lower()}'")
    return int(user_id)


def set_active(store: Store, user_id: int, active: bool, actor: Actor) -> None:
    """Let a user sign in again, or stop them (their open sessions end at once); audited."""
    with store.transaction() as conn:
        done = conn.execute(update(web_user).where(web_user.c.id == user_id)
                            .values(active=active))
        if not done.rowcount:
            raise UserError("no such user")
        if not active:
            conn.execute(delete(web_session).where(web_session.c.user_id == user_id))
        record(conn, actor, "user.activate" if active else "user.deactivate",
               target_type="user", target_id=user_id)


def reset_password(store: Store, user_id: int, password: str, actor: Actor) -> None:
    """Give a user a new password; their open sessions end, so it takes effect at once;
    audited (never the password itself)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with store.transaction() as conn:
        done = conn.execute(update(web_user).where(web_user.c.id == user_id)
                            .values(password_hash=hash_password(password)))
        if not done.rowcount:
            raise UserError("no such user")
        conn.execute(delete(web_session).where(web_session.c.user_id == user_id))
        record(conn, actor, "user.password_reset", target_type="user", target_id=user_id)


def list_users(store: Store) -> list[dict[str, object]]:
    """Every user without the password hash, for the admin page."""
    columns = [c for c in web_user.c if c.name != "password_hash"]
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(*columns).order_by(web_user.c.email))
                .mappings()]


def _recent_failures(store: Store, settings: WebSettings, ip: str, email: str
                     ) -> tuple[int, int]:
    since = datetime.now(UTC) - timedelta(minutes=settings.login_window_minutes)
    failed = and_(login_attempt.c.attempted_at >= since, login_attempt.c.succeeded.is_(False))
    with store.engine.connect() as conn:
        for_account = conn.execute(select(func.count()).where(
            failed, login_attempt.c.ip == ip, login_attempt.c.email == email)).scalar_one()
        for_ip = conn.execute(select(func.count()).where(
            failed, login_attempt.c.ip == ip)).scalar_one()
    return int(for_account), int(for_ip)


def authenticate(store: Store, settings: WebSettings, email: str, password: str, ip: str
                 ) -> int | None:
    """The user id if the password is right; every attempt is recorded and failures rate-limited."""
    email = email.strip().lower()
    for_account, for_ip = _recent_failures(store, settings, ip, email)
    if for_account >= settings.login_failures_allowed or for_ip >= settings.ip_failures_allowed:
        raise TooManyAttempts(
            f"too many failed log-ins; try again in {settings.login_window_minutes} minutes")
    with store.engine.connect() as conn:
        row = conn.execute(select(web_user.c.id, web_user.c.password_hash, web_user.c.active)
                           .where(web_user.c.email == email)).first()
    ok = False
    if row is None:
        _verify(_DUMMY_HASH, password)
    else:
        ok = _verify(row.password_hash, password) and bool(row.active)
    actor = Actor(row.id if row is not None else None, email, ip)
    with store.transaction() as conn:
        conn.execute(delete(login_attempt).where(
            login_attempt.c.attempted_at < datetime.now(UTC) - timedelta(days=1)))
        conn.execute(login_attempt.insert().values(
            ip=ip, email=email, attempted_at=datetime.now(UTC), succeeded=ok))
        record(conn, actor, "login.success" if ok else "login.failure")
        if ok and row is not None and _hasher.check_needs_rehash(row.password_hash):
            conn.execute(update(web_user).where(web_user.c.id == row.id)
                         .values(password_hash=hash_password(password)))
    return int(row.id) if ok and row is not None else None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def start_session(store: Store, settings: WebSettings, user_id: int) -> str:
    """A new session for the user (with its own CSRF token); returns the session id."""
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        conn.execute(delete(web_session).where(web_session.c.expires_at < now))
        conn.execute(web_session.insert().values(
            id=session_id, user_id=user_id, csrf_token=secrets.token_urlsafe(32),
            created_at=now, expires_at=now + timedelta(hours=settings.session_hours)))
    return session_id


def end_session(store: Store, principal: Principal, ip: str | None) -> None:
    """Delete the session so its cookie stops working; audited."""
    with store.transaction() as conn:
        conn.execute(delete(web_session).where(web_session.c.id == principal.session_id))
        record(conn, Actor(principal.user_id, principal.email, ip), "logout",
               la_code=principal.la_code)


def load_principal(store: Store, session_id: str) -> Principal | None:
    """The user behind a live session id, or None if it expired, ended or the user is inactive."""
    query = (
        select(web_user.c.id, web_user.c.email, web_user.c.full_name, web_user.c.role,
               web_user.c.la_code, web_session.c.csrf_token, web_session.c.expires_at)
        .join(web_session, web_session.c.user_id == web_user.c.id)
        .where(web_session.c.id == session_id, web_user.c.active.is_(True))
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires < datetime.now(UTC):
        return None
    return Principal(user_id=row.id, email=row.email, full_name=row.full_name, role=row.role,
                     la_code=row.la_code, session_id=session_id, csrf_token=row.csrf_token)
