"""The OpenAPI document is valid, covers every JSON route, and real answers conform to it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from consent_service.core.vocab import ErrorCode, Reason, Regime
from consent_service.web.openapi import openapi_document
from tests.conftest import CA, DE


def schema(name: str) -> dict[str, Any]:
    doc = openapi_document()
    return {**doc["components"]["schemas"][name], "components": doc["components"]}


def conforms(body: Any, name: str) -> None:
    resolver_doc = openapi_document()
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": resolver_doc["components"]}
    )
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, errors[0].message


def test_document_is_valid_openapi() -> None:
    validate(openapi_document())


def test_every_json_route_is_documented(client: TestClient) -> None:
    documented = set(openapi_document()["paths"])
    routes = {
        re.sub(r":\w+}", "}", r.path)  # OpenAPI paths carry no Starlette converters
        for r in client.app.routes  # type: ignore[attr-defined]
        if isinstance(r, Route) and "OPTIONS" not in (r.methods or ())
    }
    not_json = {
        "/openapi.json",
        "/metrics",
        "/v1/banner.js",
        "/v1/banner.{digest}.js",
        "/demo",
        "/demo/{name}",
        "/privacy/privacy.css",
        "/privacy/{site}/opt-out",
        "/privacy/{site}/notice",
        "/privacy/{site}/data",
        "/admin/admin.css",
        "/admin/login",
        "/admin/logout",
        "/admin/sites/{site}/stats",
        "/admin/sites/{site}/stats.{fmt}",
    }
    assert routes - not_json == documented


def test_vocabularies_come_from_the_code() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["Decision"]["properties"]["reason"]["enum"] == list(Reason)
    assert schemas["DecisionAnswer"]["properties"]["regime"]["enum"] == list(Regime)
    assert schemas["Error"]["properties"]["error"]["enum"] == list(ErrorCode)


def test_answers_conform(client: TestClient) -> None:
    answers = [
        client.get("/v1/decision", params={"site": "demo", "purpose": ["advertising", "analytics"]}, headers=CA),
        client.get("/v1/decision", params={"site": "demo", "purpose": "analytics"}, headers={**DE, "Sec-GPC": "1"}),
        client.post("/v1/consent", json={"site": "demo", "action": "custom", "choices": {"analytics": True}}),
        client.post("/v1/opt-out", json={"site": "demo", "source": "banner", "gpc": True}),
    ]
    for r in answers:
        assert r.status_code == 200
        conforms(r.json(), "DecisionAnswer")
    for r in [
        client.post("/v1/consent", content=b"{"),
        client.get("/v1/decision"),
        client.post("/v1/opt-out", json={"site": "x"}),
    ]:
        assert r.status_code in (400, 404)
        conforms(r.json(), "Error")
    conforms(client.get("/.well-known/gpc.json").json(), "GpcSupport")
    conforms(client.get("/readyz").json(), "Status")


def test_schema_rejects_what_the_server_rejects(client: TestClient) -> None:
    """Request schemas are as strict as the server: unknown fields and wrong types fail both."""
    for body in [
        {"site": "demo", "action": "accept_all", "x": 1},
        {"site": "demo", "action": "nope"},
        {"site": "demo"},
        {"site": "demo", "action": "custom"},
        {"site": "demo", "action": "custom", "choices": {"a": 1}},
        {"site": "demo", "action": "custom", "choices": {}},
        {"site": "demo", "action": "accept_all", "policy_version": None},
        {"site": "demo", "action": "accept_all", "source": None},
        {"site": "demo", "action": "accept_all", "policy_version": "x" * 65},
    ]:
        assert list(jsonschema.Draft202012Validator(schema("ConsentRequest")).iter_errors(body))
        assert client.post("/v1/consent", json=body).status_code == 400
