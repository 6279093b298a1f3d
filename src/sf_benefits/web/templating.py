"""Jinja2 templates with the number filters, and one `render` used by every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from sf_benefits.web.auth import Principal
from sf_benefits.web.formatting import FILTERS

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(FILTERS)

MESSAGES: dict[str, tuple[str, str]] = {
    "saved": ("success", "Your changes have been saved."),
    "created": ("success", "The scenario has been created."),
    "published": ("success", "The scenario is now visible to the programme team."),
    "unpublished": ("success", "The scenario is no longer visible outside your LA."),
    "uploaded": ("success", "Your actuals have been checked and loaded."),
    "user_added": ("success", "The user has been added."),
    "user_activated": ("success", "The user can sign in again."),
    "user_deactivated": ("success", "The user can no longer sign in; their sessions have ended."),
    "password_reset": ("success", "The new password is set; the user's sessions have ended."),
    "run_started": ("info", "The projection is running in the background."),
}


def render(request: Request, template: str, principal: Principal | None, *,
           status_code: int = 200, **context: Any) -> Response:
    """Render a page; `?done=<code>` in the URL shows the matching confirmation message."""
    done = request.query_params.get("done")
    messages = [{"kind": MESSAGES[done][0], "text": MESSAGES[done][1]}] if done in MESSAGES else []
    messages += context.pop("messages", [])
    context.setdefault("title", "SF Benefits")
    return templates.TemplateResponse(
        request, template, {"principal": principal, "messages": messages, **context},
        status_code=status_code)
