"""The OpenAPI document says how to authenticate, what every operation can refuse with, and the
shape of every answer; HTTPS deployments send HSTS."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from sf_benefits.store import Store
from sf_benefits.web.app import HSTS, create_app
from sf_benefits.web.jobs import JobRunner
from tests.web.conftest import Clients, app_settings

PUBLIC = {("post", "/api/session")}


def _schema_of(response: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, dict[str, Any]] = response.get("content", {})
    for media in content.values():
        return dict(media.get("schema", {}))
    return {}


def _is_typed(schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    """A schema that names its fields: a $ref to a component with properties, or an array of one."""
    if "$ref" in schema:
        target = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return bool(target.get("properties"))
    if schema.get("type") == "array":
        return _is_typed(schema.get("items", {}), spec)
    return schema.get("type") == "string" and schema.get("format") == "binary"


def test_every_operation_is_secured_documented_and_typed(clients: Clients) -> None:
    spec = clients["viewer_a"].get("/api/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {**schemes["sessionCookie"], "type": "apiKey",
                                        "in": "cookie", "name": "sfb_session"}
    assert schemes["csrfHeader"]["in"] == "header"
    assert schemes["csrfHeader"]["name"] == "X-CSRF-Token"
    untyped, undocumented = [], []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            if (method, path) in PUBLIC:
                assert operation["security"] == [], name
            else:
                needed = {"sessionCookie"} | ({"csrfHeader"} if method != "get" else set())
                assert operation["security"] == [dict.fromkeys(needed, [])], name
                missing = {"401", "403", "404", "422"} - set(operation["responses"])
                if missing:
                    undocumented.append((name, missing))
            for status, response in operation["responses"].items():
                if status == "204":
                    continue
                if not _is_typed(_schema_of(response), spec):
                    untyped.append((name, status))
    assert undocumented == [] and untyped == []


def test_hsts_is_sent_only_with_secure_cookies(web_store: Store, clients: Clients) -> None:
    assert "strict-transport-security" not in clients["viewer_a"].get("/healthz").headers
    settings = replace(app_settings(), secure_cookies=True)
    runner = JobRunner(web_store, {}, mode="thread", workers=1)
    try:
        secure = TestClient(create_app(web_store, settings, runner), base_url="https://testserver")
        assert secure.get("/healthz").headers["strict-transport-security"] == HSTS
        assert secure.get("/login").headers["strict-transport-security"] == HSTS
    finally:
        runner.shutdown()
