"""The OpenAPI 3.1 document of every JSON endpoint, strict enough for a fuzzer to hold us to it.

Assembled here from the paths of the consent API (below) and of the admin API (openapi_admin.py), the
request bodies' schemas generated from the structs that validate them (schemas.py), and the answers'
schemas (openapi_schemas.py, openapi_rights.py).
"""

from __future__ import annotations

from functools import cache

from consent_service.core.texts import LANGUAGES
from consent_service.web.http import MAX_BODY_BYTES
from consent_service.web.openapi_admin import admin_paths
from consent_service.web.openapi_responses import (
    DEVICE_HEADER,
    GPC_QUERY,
    SITE_QUERY,
    VISITOR_HEADERS,
    error_answers,
    json_answer,
    ok_answer,
)
from consent_service.web.openapi_rights import RIGHTS_SCHEMAS
from consent_service.web.openapi_schemas import ANSWER_SCHEMAS, ID, Schema, ref
from consent_service.web.schemas import MAX_PURPOSES, request_components


def _components() -> Schema:
    schemas = {**request_components(), **ANSWER_SCHEMAS, **RIGHTS_SCHEMAS}
    return dict(sorted(schemas.items()))


def _write_op(summary: str, schema: str, *codes: int) -> Schema:
    return {
        "summary": summary,
        "parameters": VISITOR_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref(schema)}}},
        "responses": {
            "200": ok_answer("DecisionAnswer", "recorded; the device's decisions", cookie=True),
            **error_answers(*codes),
        },
    }


def _me_op(summary: str, answer: str, description: str, download: bool = False) -> Schema:
    parameters = [SITE_QUERY, DEVICE_HEADER]
    if download:
        parameters.append(
            {
                "name": "download",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "`1`: as a file (Content-Disposition: attachment)",
            }
        )
    return {
        "summary": summary,
        "parameters": parameters,
        # 404: an unknown site, or no valid device token (nothing is held for this browser).
        "responses": {"200": ok_answer(answer, description), **error_answers(403, 404, 429, 503)},
    }


@cache
def openapi_document() -> Schema:
    decision_params = [
        SITE_QUERY,
        {
            "name": "purpose",
            "in": "query",
            "required": True,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": ID, "minItems": 1, "maxItems": MAX_PURPOSES},
        },
        GPC_QUERY,
        *VISITOR_HEADERS,
    ]
    paths: Schema = {
        "/v1/decision": {
            "get": {
                "summary": "Decide purposes for this device (tag loaders)",
                "parameters": decision_params,
                "responses": {
                    "200": ok_answer("DecisionAnswer", "decisions; never 5xx when Redis is down", cookie=True),
                    **error_answers(400, 404, 422),
                },
            }
        },
        "/v1/consent": {
            "post": _write_op("Record the visitor's choices", "ConsentRequest", 400, 403, 404, 413, 422, 429, 503)
        },
        "/v1/opt-out": {
            "post": _write_op("One-click opt-out of every sale/share purpose", "OptOutRequest", 400, 403, 404, 413, 503)
        },
        "/v1/sites/{site}/experience": {
            "get": {
                "summary": "What the banner needs: regime, texts, purposes, choices, decisions, IAB strings",
                "parameters": [
                    {"name": "site", "in": "path", "required": True, "schema": ID},
                    GPC_QUERY,
                    {
                        "name": "lang",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": f"preferred language (else Accept-Language); one of {', '.join(LANGUAGES)} "
                        "is chosen",
                    },
                    *VISITOR_HEADERS,
                ],
                "responses": {
                    "200": ok_answer("Experience", "the banner's experience", cookie=True),
                    **error_answers(404),
                },
            }
        },
        "/v1/me": {
            "get": _me_op(
                "A copy of everything held about this device (`download=1`: as a file)",
                "DeviceData",
                "record, history, account link, note",
                download=True,
            ),
            "delete": _me_op(
                "Delete this device's data, keeping an opt-out as a tombstone",
                "DeviceErasure",
                "what was deleted and what was kept, and why",
            ),
        },
        **admin_paths(),
        "/.well-known/gpc.json": {
            "get": {
                "summary": "GPC support statement",
                "responses": {"200": json_answer("GpcSupport", "GPC is honoured")},
            }
        },
        "/healthz": {"get": {"summary": "Process is up", "responses": {"200": json_answer("Status", "up")}}},
        "/readyz": {
            "get": {
                "summary": "Redis is reachable (and which Global Vendor List is in use)",
                "responses": {"200": json_answer("Status", "ready"), **error_answers(503)},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Consent service",
            "version": "1",
            "description": f"Consent and opt-out-of-sale API. Bodies are limited to {MAX_BODY_BYTES} bytes. "
            'Every error is `{"error": "<code>", "detail": "…"}`. Any request whose line and headers are over '
            "the server's limit (`CONSENT_MAX_HEADER_BYTES`, 32 KiB by default) is answered 431 "
            "`headers_too_large` before it reaches an endpoint; a request whose head, or whose body, does not "
            "arrive within `CONSENT_READ_TIMEOUT_S` (30 s by default) is closed unanswered.",
        },
        "paths": paths,
        "components": {"schemas": _components(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
