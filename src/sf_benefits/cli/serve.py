"""`sf-benefits serve` (the web app and JSON API) and `sf-benefits users` (who may sign in)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from sf_benefits import config
from sf_benefits.benchmark import UnknownLocalAuthority, resolve_la
from sf_benefits.cli.common import console, fail, open_store
from sf_benefits.store import Store
from sf_benefits.web.audit import Actor
from sf_benefits.web.auth import (
    ROLES,
    UserError,
    create_user,
    list_users,
    reset_password,
    set_active,
    user_id_for,
)
from sf_benefits.web.settings import SECURE_COOKIES_ENV, WebSettings

WORKER_HEALTHCHECK_SECONDS = 120
"""How long uvicorn waits for a worker to answer before killing it. Its default (5 s) is less
than a spawned worker needs to import the engines on a busy 2-core machine, so with --workers 2
every worker was killed while starting ("Child process died", over and over)."""

users_app = typer.Typer(help="Manage who may sign in to the web app.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    database_url: Annotated[str | None, typer.Option(
        help="Store URL (default: the embedded store or SF_BENEFITS_DATABASE_URL).")] = None,
    secure_cookies: Annotated[bool, typer.Option(
        help="Send the session cookie only over HTTPS (turn off only for local HTTP use).",
    )] = True,
) -> None:
    """Start the web app and its JSON API (OpenAPI documentation at /api/docs)."""
    import uvicorn

    if database_url:
        os.environ[config.DATABASE_URL_ENV] = database_url
    os.environ[SECURE_COOKIES_ENV] = "1" if secure_cookies else "0"
    store = open_store(database_url)
    WebSettings()
    store.close()
    console.print(f"SF Benefits on http://{host}:{port}/ (API docs at /api/docs); "
                  f"store: {store.url}")
    uvicorn.run("sf_benefits.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, proxy_headers=False, log_level="info",
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)


@users_app.command("add")
def add_user(
    email: Annotated[str, typer.Option(help="Email address used to sign in.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    la: Annotated[str | None, typer.Option(
        help="LA for an LA analyst or viewer: name (Warrington), 3-digit or GSS code.")] = None,
    name: Annotated[str, typer.Option(help="Full name shown in the app.")] = "",
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="Password (at least 12 characters); asked for when not given.")] = "",
    database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None,
) -> None:
    """Add a user who may sign in (recorded in the audit log as a command-line write)."""
    store = open_store(database_url)
    try:
        la_code = resolve_la(store, la).la_code if la else None
        user_id = create_user(store, email, name, password, role, la_code,
                              Actor(None, None, "cli"))
    except (UserError, UnknownLocalAuthority) as exc:
        raise fail(str(exc)) from exc
    finally:
        store.close()
    console.print(f"Added user {user_id}: {email.strip().lower()} ({ROLES[role]})")


def _change_user(email: str, database_url: str | None, change: Callable[[Store, int], None]
                 ) -> None:
    store = open_store(database_url)
    try:
        change(store, user_id_for(store, email))
    except UserError as exc:
        raise fail(str(exc)) from exc
    finally:
        store.close()


@users_app.command("deactivate")
def deactivate_user(
    email: Annotated[str, typer.Argument(help="The user's email address.")],
    database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None,
) -> None:
    """Stop a user signing in; their open sessions end at once (audited)."""
    _change_user(email, database_url,
                 lambda store, uid: set_active(store, uid, False, Actor(None, None, "cli")))
    console.print(f"{email.strip().lower()} can no longer sign in.")


@users_app.command("activate")
def activate_user(
    email: Annotated[str, typer.Argument(help="The user's email address.")],
    database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None,
) -> None:
    """Let a deactivated user sign in again (audited)."""
    _change_user(email, database_url,
                 lambda store, uid: set_active(store, uid, True, Actor(None, None, "cli")))
    console.print(f"{email.strip().lower()} can sign in again.")


@users_app.command("reset-password")
def reset_user_password(
    email: Annotated[str, typer.Argument(help="The user's email address.")],
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="New password (at least 12 characters); asked for when not given.")] = "",
    database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None,
) -> None:
    """Give a user a new password; their open sessions end (audited)."""
    _change_user(email, database_url, lambda store, uid: reset_password(
        store, uid, password, Actor(None, None, "cli")))
    console.print(f"New password set for {email.strip().lower()}.")


@users_app.command("list")
def show_users(database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None
               ) -> None:
    """List the users of the web app."""
    store = open_store(database_url)
    try:
        users = list_users(store)
    finally:
        store.close()
    table = Table("Email", "Name", "Role", "LA", "Active")
    for user in users:
        table.add_row(str(user["email"]), str(user["full_name"]), ROLES[str(user["role"])],
                      str(user["la_code"] or ""), "yes" if user["active"] else "no")
    console.print(table)
