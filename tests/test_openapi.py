"""The OpenAPI document is valid, covers every JSON route, and real answers conform to it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from consent_service.core.vocab import ErrorCode, Reason, Regime
from consent_service.web.openapi import openapi_document
from tests.conftest import CA, DE, AppFactory
from tests.test_accounts import AUTH, admin_client


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
        "/v1/banner-prefs.js",
        "/v1/banner-prefs.{digest}.js",
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
        "/admin",
        "/admin/",
        "/favicon.ico",
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
        {"site": "demo", "action": "accept_all", "gpc": 1},
        {"site": "demo", "action": "accept_all", "gpc": "true"},
        {"site": 7, "action": "accept_all"},
        *({"site": "demo", "action": "accept_all", "policy_version": v} for v in NOT_PRINTABLE),
    ]:
        assert list(jsonschema.Draft202012Validator(schema("ConsentRequest")).iter_errors(body)), body
        r = client.post("/v1/consent", json=body)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), (body, r.text)


# Stored and exported text may hold no control, format (bidi, zero-width, BOM), private-use or
# separator character but the space; a final newline included (Python's `$` would let it through).
NOT_PRINTABLE = [
    "v1\n",
    "\u2028",
    "\u00a0",
    "\u3000=1",
    "\u202ev1",
    "\ufeff1",
    "v\u200b1",
    "\x7f",
    "\U000e0001v1",
    "\ue000",
]
PRINTABLE = ["2026-01", "＝1+1", "  =1+1", "v\u0378", "😀", "版本 2", "\U000e0100", "x" * 64]


def drawn_from(pattern: str, count: int, max_length: int) -> list[str]:
    """`count` strings matching `pattern` (as schemathesis draws them: Hypothesis's from_regex), the
    same on every run."""
    drawn: list[str] = []

    @hypothesis_settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(st.from_regex(pattern).filter(lambda v: 0 < len(v) <= max_length))
    def collect(value: str) -> None:
        drawn.append(value)

    collect()
    return drawn


def test_a_policy_version_the_schema_allows_is_accepted(make_client: AppFactory) -> None:
    """The drift a schemathesis run found: a `policy_version` the document allowed (any string of
    1–64 characters) and the server refused as not printable. The document now publishes the
    server's own pattern: what it allows is recorded, what it refuses is refused."""
    client = make_client(rate_limit_device=None, rate_limit_client=None)
    validator = jsonschema.Draft202012Validator(schema("ConsentRequest"))
    for version in NOT_PRINTABLE:
        body = {"site": "demo", "action": "accept_all", "policy_version": version}
        assert list(validator.iter_errors(body)), f"the document allows {version!r}"
        assert client.post("/v1/consent", json=body).status_code == 400, ascii(version)
    rule = schema("ConsentRequest")["properties"]["policy_version"]
    for version in [*PRINTABLE, *drawn_from(rule["pattern"], 60, rule["maxLength"])]:
        body = {"site": "demo", "action": "accept_all", "policy_version": version}
        assert not list(validator.iter_errors(body)), ascii(version)
        r = client.post("/v1/consent", json=body)
        assert r.status_code == 200, (ascii(version), r.text)
        assert client.get("/v1/me", params={"site": "demo"}).json()["record"]["policy_version"] == version


def test_agent_texts_the_schema_allows_are_accepted(make_client: AppFactory) -> None:
    """An agent's name and reference: printable, not blank; the server strips the spaces around them."""
    client = admin_client(make_client)
    validator = jsonschema.Draft202012Validator(schema("AgentRequest"))
    base = {"site": "demo", "type": "opt_out", "account_id": "acct-9", "reference": "PS-1"}
    for name in ["Permission Slip", "  Permission Slip  ", "Ｐｅｒｍｉｓｓｉｏｎ", "x" * 128]:
        body = {**base, "agent": name}
        assert not list(validator.iter_errors(body)), repr(name)
        r = client.post("/v1/admin/agent-requests", json=body, headers=AUTH)
        assert r.status_code == 200 and r.json()["agent"] == name.strip(), (repr(name), r.text)
    for name in ["", "   ", "bad\x00name", "tab\there", "\u202eevil", "x" * 129, " " * 10 + "x" * 128]:
        body = {**base, "agent": name}
        assert list(validator.iter_errors(body)), repr(name)
        r = client.post("/v1/admin/agent-requests", json=body, headers=AUTH)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), (repr(name), r.text)
