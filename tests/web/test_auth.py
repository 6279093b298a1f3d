"""Sign-in: argon2 hashes, signed HttpOnly cookies, CSRF on every write, rate-limited log-in."""

from __future__ import annotations

import re
import stat
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from sf_benefits.cli.serve import proxy_options
from sf_benefits.store import Store
from sf_benefits.web.access import SESSION_COOKIE
from sf_benefits.web.app import create_app
from sf_benefits.web.audit import Actor
from sf_benefits.web.auth import UserError, create_user
from sf_benefits.web.settings import SECRET_KEY_ENV, WebSettings
from sf_benefits.web.tables import audit_event, web_user
from tests.web.conftest import LA_A, PASSWORD, Clients, app_settings, email, sign_in


def _login_form(client: TestClient, next_url: str = "/la") -> str:
    page = client.get(f"/login?next={next_url}")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_passwords_are_stored_as_argon2id_hashes(web_store: Store) -> None:
    with web_store.engine.connect() as conn:
        hashes = conn.execute(select(web_user.c.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


def test_short_passwords_and_unknown_las_are_refused(web_store: Store) -> None:
    actor = Actor(None, None, "test")
    for password, role, la_code in (("short", "la_viewer", LA_A),
                                    (PASSWORD, "la_viewer", None),
                                    (PASSWORD, "la_viewer", "E99999999"),
                                    (PASSWORD, "superuser", None)):
        with pytest.raises(UserError):
            create_user(web_store, f"{uuid.uuid4().hex}@example.gov.uk", "X", password, role,
                        la_code, actor)


def test_form_sign_in_sets_a_signed_httponly_lax_cookie_and_redirects(app: Any) -> None:
    client = TestClient(app)
    token = _login_form(client, "/la")
    response = client.post("/login", data={"email": email("viewer_a"), "password": PASSWORD,
                                           "csrf_token": token, "next": "/la"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/la"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/la").status_code == 200


def test_secure_cookie_flag_is_on_by_default() -> None:
    assert WebSettings(secret_key="x").secure_cookies is True


def test_sign_in_form_needs_its_csrf_token(app: Any) -> None:
    client = TestClient(app)
    _login_form(client)
    response = client.post("/login", data={"email": email("viewer_a"), "password": PASSWORD,
                                           "csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_next_cannot_send_the_user_off_site(app: Any) -> None:
    for target in ("//evil.example", "/\\evil.example", "/\t/evil.example",
                   "https://evil.example"):
        client = TestClient(app)
        token = _login_form(client)
        response = client.post("/login", data={"email": email("viewer_a"), "password": PASSWORD,
                                               "csrf_token": token, "next": target},
                               follow_redirects=False)
        assert response.headers["location"] == "/la", target


def test_a_tampered_cookie_is_not_a_session(app: Any) -> None:
    client = TestClient(app)
    client.cookies.set(SESSION_COOKIE, "not-a-signed-session")
    assert client.get("/api/session").status_code == 401


def test_writes_need_the_csrf_token(clients: Clients) -> None:
    client = clients["analyst_a"]
    body = {"name": "No token", "model": "family_safeguarding"}
    assert client.post(f"/api/las/{LA_A}/scenarios", json=body).status_code == 403
    assert client.post(f"/api/las/{LA_A}/scenarios", json=body,
                       headers={"X-CSRF-Token": "wrong"}).status_code == 403
    form = client.post(f"/la/{LA_A}/scenarios", data={**body, "csrf_token": "wrong"})
    assert form.status_code == 403
    names = {s["name"] for s in client.get(f"/api/las/{LA_A}/scenarios").json()}
    assert "No token" not in names


def test_login_is_rate_limited_per_address_and_account(app: Any, web_store: Store) -> None:
    target = f"limited-{uuid.uuid4().hex[:6]}@example.gov.uk"
    create_user(web_store, target, "Limited", PASSWORD, "la_viewer", LA_A,
                Actor(None, None, "test"))
    client = TestClient(app)
    statuses = [client.post("/api/session", json={"email": target, "password": "wrong guess!"}
                            ).status_code for _ in range(5)]
    assert statuses == [401] * 5
    blocked = client.post("/api/session", json={"email": target, "password": PASSWORD})
    assert blocked.status_code == 429
    other = client.post("/api/session", json={"email": email("viewer_b"), "password": PASSWORD})
    assert other.status_code == 200
    with web_store.engine.connect() as conn:
        failures = conn.execute(select(audit_event.c.action).where(
            audit_event.c.user_email == target)).scalars().all()
    assert failures.count("login.failure") == 5


def test_sign_out_ends_the_session_at_once(app: Any) -> None:
    client, token = sign_in(app, "viewer_b")
    stolen = client.cookies.get(SESSION_COOKIE)
    assert client.delete("/api/session", headers={"X-CSRF-Token": token}).status_code == 204
    replay = TestClient(app)
    replay.cookies.set(SESSION_COOKIE, stolen or "")
    assert replay.get("/api/session").status_code == 401


def test_pages_redirect_to_sign_in_and_api_answers_401(app: Any) -> None:
    client = TestClient(app)
    page = client.get(f"/la/{LA_A}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert client.get(f"/api/las/{LA_A}/benchmark").status_code == 401


def test_behind_a_trusted_proxy_the_login_limit_is_per_user_address(web_store: Store) -> None:
    """Failed log-ins forwarded for one user lock out that address only, not every user behind
    the same proxy; an untrusted peer's X-Forwarded-For is ignored."""
    assert proxy_options(None) == {"proxy_headers": False}
    options = proxy_options(" 10.0.0.0/8 ")
    assert options == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.0/8"}
    app = create_app(web_store, replace(app_settings(), ip_failures_allowed=3))
    try:
        client = TestClient(ProxyHeadersMiddleware(app, options["forwarded_allow_ips"]),
                            client=("10.1.2.3", 50000))
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        for attempt in range(3):
            wrong = {"email": f"nobody-{attempt}@example.gov.uk", "password": "wrong guess!"}
            assert client.post("/api/session", json=wrong, headers=attacker).status_code == 401
        right = {"email": email("viewer_a"), "password": PASSWORD}
        assert client.post("/api/session", json=right, headers=attacker).status_code == 429
        user = client.post("/api/session", json=right, headers={"X-Forwarded-For": "198.51.100.2"})
        assert user.status_code == 200
        untrusted = TestClient(ProxyHeadersMiddleware(app, options["forwarded_allow_ips"]),
                               client=("192.0.2.50", 50000))
        assert untrusted.post("/api/session", json=right, headers=attacker).status_code == 200
    finally:
        app.state.runner.shutdown()


def test_the_secret_key_file_is_created_owner_only(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path))
    key = WebSettings().secret_key
    path = tmp_path / "web_secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 64 and WebSettings().secret_key == key
