"""`sf-benefits serve` (the web app and JSON API) and `sf-benefits users` (who may sign in)."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.table import Table

from sf_benefits import config
from sf_benefits.cli.common import console, fail, open_store
from sf_benefits.web.settings import SECURE_COOKIES_ENV, TRUSTED_PROXIES_ENV, WebSettings

ROLE_HELP = "One of: la_analyst, la_viewer, programme, admin."
"""The keys of `web.auth.ROLES`, written out so `--help` need not load the web app."""

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
    trusted_proxies: Annotated[str | None, typer.Option(
        envvar=TRUSTED_PROXIES_ENV,
        help="Comma-separated addresses or networks of the TLS proxies in front of the app; "
             "their X-Forwarded-For gives each user's own address to the per-address log-in "
             "limit. Without it the headers are ignored.")] = None,
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
                workers=workers, log_level="info", **proxy_options(trusted_proxies))


def proxy_options(trusted_proxies: str | None) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-For is believed only from the trusted proxies, so
    behind a proxy users are told apart by their own address instead of all sharing its one."""
    if not trusted_proxies or not trusted_proxies.strip():
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted_proxies.strip()}


@users_app.command("add")
def add_user(
    email: Annotated[str, typer.Option(help="Email address used to sign in.")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    la: Annotated[str | None, typer.Option(
        help="LA code (e.g. E08000035) for an LA analyst or viewer.")] = None,
    name: Annotated[str, typer.Option(help="Full name shown in the app.")] = "",
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="Password (at least 12 characters); asked for when not given.")] = "",
    database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None,
) -> None:
    """Add a user who may sign in (recorded in the audit log as a command-line write)."""
    from sf_benefits.web.audit import Actor
    from sf_benefits.web.auth import ROLES, UserError, create_user

    store = open_store(database_url)
    try:
        user_id = create_user(store, email, name, password, role, la, Actor(None, None, "cli"))
    except UserError as exc:
        raise fail(str(exc)) from exc
    finally:
        store.close()
    console.print(f"Added user {user_id}: {email.strip().lower()} ({ROLES[role]})")


@users_app.command("list")
def show_users(database_url: Annotated[str | None, typer.Option(help="Store URL.")] = None
               ) -> None:
    """List the users of the web app."""
    from sf_benefits.web.auth import ROLES, list_users

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
