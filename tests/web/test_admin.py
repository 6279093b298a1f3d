"""Navigation and administration: an LA user lands on their LA, administrators deactivate users
and reset passwords (page and command line), and `users add --la` takes an LA's name."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sf_benefits.cli.main import app as cli
from sf_benefits.store import Store
from sf_benefits.web.audit import Actor, recent_events
from sf_benefits.web.auth import create_user, list_users
from tests.web.conftest import LA_A, PASSWORD, Clients


def test_an_la_user_lands_on_their_la(clients: Clients) -> None:
    landing = clients["viewer_a"].get("/la", follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == f"/la/{LA_A}"
    assert clients["programme"].get("/la", follow_redirects=False).status_code == 200


def test_an_admin_deactivates_and_resets_a_user(app: object, clients: Clients,
                                                web_store: Store) -> None:
    create_user(web_store, "leaver@example.gov.uk", "Leaver", PASSWORD, "la_viewer", LA_A,
                Actor(None, None, "test"))
    user_id = next(u["id"] for u in list_users(web_store)
                   if u["email"] == "leaver@example.gov.uk")
    session = TestClient(app)  # type: ignore[arg-type]
    assert session.post("/api/session", json={"email": "leaver@example.gov.uk",
                                              "password": PASSWORD}).status_code == 200
    admin, token = clients["admin"], clients.tokens["admin"]
    page = admin.get("/admin/users").text
    assert f'action="/admin/users/{user_id}/active"' in page
    done = admin.post(f"/admin/users/{user_id}/active", data={"csrf_token": token, "active": "0"},
                      follow_redirects=False)
    assert done.status_code == 303
    assert session.get("/api/session").status_code == 401, "the open session ended at once"
    assert session.post("/api/session", json={"email": "leaver@example.gov.uk",
                                              "password": PASSWORD}).status_code == 401
    admin.post(f"/admin/users/{user_id}/active", data={"csrf_token": token, "active": "1"})
    short = admin.post(f"/admin/users/{user_id}/password",
                       data={"csrf_token": token, "password": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.text
    new = "a brand new password for the leaver"
    assert admin.post(f"/admin/users/{user_id}/password",
                      data={"csrf_token": token, "password": new},
                      follow_redirects=False).status_code == 303
    assert session.post("/api/session", json={"email": "leaver@example.gov.uk",
                                              "password": PASSWORD}).status_code == 401
    assert session.post("/api/session", json={"email": "leaver@example.gov.uk",
                                              "password": new}).status_code == 200
    actions = {e["action"] for e in recent_events(web_store, limit=50)}
    assert {"user.deactivate", "user.activate", "user.password_reset"} <= actions
    assert clients["analyst_a"].post(f"/admin/users/{user_id}/active", data={
        "csrf_token": clients.tokens["analyst_a"], "active": "0"}).status_code == 403


def test_users_on_the_command_line(web_store: Store) -> None:
    runner = CliRunner()
    url = web_store.engine.url.render_as_string(hide_password=False)
    added = runner.invoke(cli, ["users", "add", "--email", "cli-analyst@example.gov.uk", "--role",
                                "la_analyst", "--la", "leeds", "--password", PASSWORD,
                                "--database-url", url])
    assert added.exit_code == 0, added.output
    user = next(u for u in list_users(web_store) if u["email"] == "cli-analyst@example.gov.uk")
    assert user["la_code"] == LA_A
    wrong = runner.invoke(cli, ["users", "add", "--email", "x@example.gov.uk", "--role",
                                "la_viewer", "--la", "Leedz", "--password", PASSWORD,
                                "--database-url", url])
    assert wrong.exit_code == 1 and "did you mean 'Leeds'" in wrong.output
    off = runner.invoke(cli, ["users", "deactivate", "cli-analyst@example.gov.uk",
                              "--database-url", url])
    assert off.exit_code == 0, off.output
    assert not next(u for u in list_users(web_store)
                    if u["email"] == "cli-analyst@example.gov.uk")["active"]
    reset = runner.invoke(cli, ["users", "reset-password", "cli-analyst@example.gov.uk",
                                "--password", "another long password", "--database-url", url])
    assert reset.exit_code == 0, reset.output
    unknown = runner.invoke(cli, ["users", "deactivate", "nobody@example.gov.uk",
                                  "--database-url", url])
    assert unknown.exit_code == 1 and "no user with email" in unknown.output
