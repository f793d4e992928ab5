"""The OpenAPI 3.1 document of every JSON endpoint, strict enough for a fuzzer to hold us to it.

Built from the same vocabularies the code uses, so reasons, regimes and error codes cannot drift.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from consent_service.http import MAX_BODY_BYTES
from consent_service.request_metrics import CHANNELS
from consent_service.texts import LANGUAGES, TEXT_KEYS
from consent_service.validation import (
    CLIENT_ACTIONS,
    CLIENT_SOURCES,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_AGENT_TEXT,
    MAX_ID_LENGTH,
    MAX_PURPOSES,
    MAX_TOKEN_TEXT,
)
from consent_service.vocab import ErrorCode, PurposeKind, Reason, Regime, RequestType

Schema = dict[str, Any]


def _obj(properties: Schema, required: list[str]) -> Schema:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
_GCM_KEYS = [
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
]
_CONSENT_MODE = {
    "type": "object",
    "description": "Google Consent Mode v2 values",
    "properties": {k: {"type": "string", "enum": ["granted", "denied"]} for k in _GCM_KEYS},
    "required": _GCM_KEYS,
    "additionalProperties": False,
}
_SOURCE = {"type": "string", "enum": list(CLIENT_SOURCES), "description": "who made the change (default api)"}
_GPC_FLAG = {"type": "boolean", "description": "the page saw navigator.globalPrivacyControl === true"}

SCHEMAS: Schema = {
    "Decision": _obj(
        {"allowed": {"type": "boolean"}, "reason": {"type": "string", "enum": list(Reason)}}, ["allowed", "reason"]
    ),
    "DecisionAnswer": _obj(
        {
            "site": {"type": "string"},
            "region": {"type": ["string", "null"], "pattern": "^[A-Z]{2}(-[A-Z0-9]{1,3})?$"},
            "regime": {"type": "string", "enum": list(Regime)},
            "gpc": {"type": "boolean", "description": "the device's effective GPC state"},
            "decisions": {"type": "object", "additionalProperties": _ref("Decision")},
            "gpp": {"type": ["string", "null"], "description": "IAB GPP string (usnat), null outside the US"},
            "gpp_sid": {"type": "array", "items": {"type": "integer"}},
            "usp": {"type": "string", "pattern": "^1[YN-]{3}$"},
            "device": {"type": "string", "description": "the device token (also set as the cs_device cookie)"},
            "consent_mode": _CONSENT_MODE,
            "gpp_parsed": {"type": "object", "description": "the GPP sections as __gpp getSection gives them"},
        },
        ["site", "region", "regime", "gpc", "decisions", "gpp", "gpp_sid", "usp"],
    ),
    "ConsentRequest": _obj(
        {
            "site": _ID,
            "action": {"type": "string", "enum": list(CLIENT_ACTIONS)},
            "choices": {"type": "object", "additionalProperties": {"type": "boolean"}, "maxProperties": MAX_PURPOSES},
            "policy_version": _ID,
            "source": _SOURCE,
            "gpc": _GPC_FLAG,
        },
        ["site", "action"],
    )
    | {"if": {"properties": {"action": {"const": "custom"}}}, "then": {"required": ["choices"]}},
    "Purpose": _obj(
        {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": list(PurposeKind)},
            "sale_share": {"type": "boolean"},
            "label": {"type": "string"},
            "description": {"type": "string"},
            "cookies": {"type": "array", "items": {"type": "string"}},
        },
        ["id", "kind", "sale_share", "label", "description", "cookies"],
    ),
    "OptOutRequest": _obj({"site": _ID, "source": _SOURCE, "gpc": _GPC_FLAG}, ["site"]),
    "Error": _obj(
        {"error": {"type": "string", "enum": list(ErrorCode)}, "detail": {"type": "string"}}, ["error", "detail"]
    ),
    "Status": _obj({"status": {"type": "string", "enum": ["ok", "ready"]}}, ["status"]),
    "GpcSupport": _obj(
        {"gpc": {"type": "boolean", "const": True}, "lastUpdate": {"type": "string", "format": "date"}},
        ["gpc", "lastUpdate"],
    ),
}


def _experience_schema() -> Schema:
    answer = SCHEMAS["DecisionAnswer"]
    extra = {
        "language": {"type": "string", "enum": list(LANGUAGES)},
        "show": {"type": "boolean", "description": "whether the banner should ask now"},
        "policy_version": {"type": "string"},
        "gpc_lift": {"type": "boolean", "description": "a later explicit opt-in may lift GPC on this site"},
        "gpp_parsed": {"type": "object", "description": "the GPP sections as __gpp getSection gives them"},
        "texts": {
            "type": "object",
            "properties": {k: {"type": "string"} for k in TEXT_KEYS},
            "required": list(TEXT_KEYS),
            "additionalProperties": False,
        },
        "purposes": {"type": "array", "items": _ref("Purpose")},
        "choices": {"type": "object", "additionalProperties": {"type": "boolean"}},
    }
    return _obj({**answer["properties"], **extra}, [*answer["required"], *extra, "consent_mode"])


SCHEMAS["Experience"] = _experience_schema()

_ACCOUNT_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ACCOUNT_ID_LENGTH,
    "description": "the site's own account id; only a keyed pseudonym of it is stored",
}
_TOKEN = {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_TEXT, "description": "the device's signed token"}
_AGENT_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_AGENT_TEXT, "pattern": "\\S"}


def _tally() -> Schema:
    count = {"type": "integer", "minimum": 0}
    return _obj(
        {"received": count, "complied": count, "denied": count, "median_days": {"type": ["number", "null"]}},
        ["received", "complied", "denied", "median_days"],
    )


def _metrics_schema() -> Schema:
    per_type = {}
    for kind, channels in CHANNELS.items():
        tally = _tally()
        channel_map = _obj({c: _tally() for c in channels}, list(channels))
        per_type[kind.value] = _obj({**tally["properties"], "channels": channel_map}, [*tally["required"], "channels"])
    return _obj(
        {
            "site": {"type": "string"},
            "year": {"type": "integer"},
            "requests": _obj(per_type, list(per_type)),
            "note": {"type": "string"},
        },
        ["site", "year", "requests", "note"],
    )


SCHEMAS |= {
    "LinkRequest": _obj({"site": _ID, "account_id": _ACCOUNT_ID, "device": _TOKEN}, ["site", "account_id", "device"]),
    "LinkAnswer": _obj(
        {
            "site": {"type": "string"},
            "linked": {"type": "boolean"},
            "account_opted_out": {"type": "boolean"},
            "devices": {"type": "integer", "minimum": 0},
        },
        ["site", "linked"],
    ),
    "AgentRequest": _obj(
        {
            "site": _ID,
            "account_id": _ACCOUNT_ID,
            "device": _TOKEN,
            "type": {"type": "string", "enum": list(RequestType)},
            "agent": _AGENT_TEXT | {"description": "the authorized agent's name"},
            "reference": _AGENT_TEXT | {"description": "the agent's own reference for the request"},
            "received": {
                "type": "string",
                "maxLength": MAX_ID_LENGTH,
                "description": "when the business received the request (ISO 8601; default: now), within the past year",
            },
        },
        ["site", "type", "agent", "reference"],
    )
    | {"oneOf": [{"required": ["account_id"]}, {"required": ["device"]}]},
    "AgentAnswer": _obj(
        {
            "site": {"type": "string"},
            "type": {"type": "string", "enum": list(RequestType)},
            "agent": {"type": "string"},
            "reference": {"type": "string"},
            "answer": {"type": "string", "enum": ["complied"]},
            "result": {"type": "object", "description": "the request's own answer (opt-out, access or deletion)"},
        },
        ["site", "type", "agent", "reference", "answer", "result"],
    ),
    "RequestMetrics": _metrics_schema(),
}


def _json(schema: str, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _errors(*codes: int) -> Schema:
    text = {
        400: "invalid JSON or body",
        403: "origin not allowed",
        404: "unknown site",
        413: "body over the limit",
        422: "unknown purpose",
        503: "storage unavailable (retry after Retry-After)",
    }
    return {str(code): _json("Error", text[code]) for code in codes}


_DEVICE_HEADER = {
    "name": "X-Consent-Device",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "device token; wins over the cs_device cookie when valid",
}
_GPC_HEADER = {
    "name": "Sec-GPC",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Global Privacy Control: `1` is an opt-out of sale and sharing",
}


_ADMIN_ERRORS = {
    "401": _json("Error", "no or unknown admin key"),
    "403": _json("Error", "key not for this site"),
}


def _admin_post(summary: str, request: str, answer: str, *codes: int) -> Schema:
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": {"200": _json(answer, "done"), **_ADMIN_ERRORS, **_errors(400, 404, 413, *codes, 503)},
        }
    }


def _admin_paths() -> Schema:
    site_param = {"name": "site", "in": "query", "required": True, "schema": _ID}
    account_param = {"name": "account_id", "in": "path", "required": True, "schema": _ACCOUNT_ID}
    any_json = {
        "description": "the account's data / what was deleted and kept",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    account_op = {"security": [{"bearer": []}], "parameters": [account_param, site_param]}
    return {
        "/v1/admin/request-metrics": {
            "get": {
                "summary": "CCPA §7102 request metrics for a calendar year, from the audit trail",
                "security": [{"bearer": []}],
                "parameters": [
                    site_param,
                    {
                        "name": "year",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[0-9]{4}$"},
                    },
                ],
                "responses": {
                    "200": _json("RequestMetrics", "per request type and channel"),
                    **_ADMIN_ERRORS,
                    **_errors(400, 404, 503),
                },
            }
        },
        "/v1/admin/accounts/link": _admin_post(
            "Link a device to a logged-in account (an opt-out on any linked device covers the account)",
            "LinkRequest",
            "LinkAnswer",
        ),
        "/v1/admin/accounts/unlink": _admin_post("Unlink a device from an account", "LinkRequest", "LinkAnswer"),
        "/v1/admin/accounts/{account_id}": {
            "get": account_op
            | {
                "summary": "Everything held about an account and its linked devices (records an access request)",
                "responses": {"200": any_json, **_ADMIN_ERRORS, **_errors(400, 404, 503)},
            },
            "delete": account_op
            | {
                "summary": "Delete an account and its linked devices' data, keeping opt-outs as tombstones",
                "responses": {"200": any_json, **_ADMIN_ERRORS, **_errors(400, 404, 503)},
            },
        },
        "/v1/admin/agent-requests": _admin_post(
            "An authorized agent's opt-out, access or deletion request for an account or a device",
            "AgentRequest",
            "AgentAnswer",
        ),
    }


def _write_op(summary: str, schema: str) -> Schema:
    return {
        "summary": summary,
        "parameters": [_DEVICE_HEADER, _GPC_HEADER],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(schema)}}},
        "responses": {
            "200": _json("DecisionAnswer", "recorded; the device's decisions"),
            **_errors(400, 403, 404, 413, 422, 503),
        },
    }


@cache
def openapi_document() -> Schema:
    decision_params = [
        {"name": "site", "in": "query", "required": True, "schema": _ID},
        {
            "name": "purpose",
            "in": "query",
            "required": True,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": _ID, "minItems": 1, "maxItems": MAX_PURPOSES},
        },
        {"name": "gpc", "in": "query", "required": False, "schema": {"type": "string", "enum": ["1"]}},
        _DEVICE_HEADER,
        _GPC_HEADER,
    ]
    paths: Schema = {
        "/v1/decision": {
            "get": {
                "summary": "Decide purposes for this device (tag loaders)",
                "parameters": decision_params,
                "responses": {
                    "200": _json("DecisionAnswer", "decisions; never 5xx when Redis is down"),
                    **_errors(400, 404, 422),
                },
            }
        },
        "/v1/consent": {"post": _write_op("Record the visitor's choices", "ConsentRequest")},
        "/v1/admin/audit": {
            "get": {
                "summary": "The audit trail for a time range (admin key), streamed as JSON lines or CSV",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "site", "in": "query", "required": True, "schema": _ID},
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "ISO 8601 or milliseconds (default: the beginning)",
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "ISO 8601 or milliseconds (default: now)",
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["jsonl", "csv"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "one row per entry, oldest first",
                        "content": {
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_ADMIN_ERRORS,
                    **_errors(400, 404),
                },
            }
        },
        **_admin_paths(),
        "/v1/me": {
            "get": {
                "summary": "A copy of everything held about this device (`download=1`: as a file)",
                "parameters": [{"name": "site", "in": "query", "required": True, "schema": _ID}, _DEVICE_HEADER],
                "responses": {
                    "200": {
                        "description": "record, history, account link, note",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(404, 503),
                },
            },
            "delete": {
                "summary": "Delete this device's data, keeping an opt-out as a tombstone",
                "parameters": [{"name": "site", "in": "query", "required": True, "schema": _ID}, _DEVICE_HEADER],
                "responses": {
                    "200": {
                        "description": "what was deleted and what was kept, and why",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(403, 404, 503),
                },
            },
        },
        "/v1/sites/{site}/experience": {
            "get": {
                "summary": "What the banner needs: regime, texts, purposes, choices, decisions, IAB strings",
                "parameters": [
                    {"name": "site", "in": "path", "required": True, "schema": _ID},
                    {"name": "gpc", "in": "query", "required": False, "schema": {"type": "string", "enum": ["1"]}},
                    {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"}},
                    _DEVICE_HEADER,
                    _GPC_HEADER,
                ],
                "responses": {"200": _json("Experience", "the banner's experience"), **_errors(404)},
            }
        },
        "/v1/opt-out": {"post": _write_op("One-click opt-out of every sale/share purpose", "OptOutRequest")},
        "/.well-known/gpc.json": {
            "get": {"summary": "GPC support statement", "responses": {"200": _json("GpcSupport", "GPC is honoured")}}
        },
        "/healthz": {"get": {"summary": "Process is up", "responses": {"200": _json("Status", "up")}}},
        "/readyz": {
            "get": {
                "summary": "Redis is reachable",
                "responses": {"200": _json("Status", "ready"), "503": _json("Error", "Redis unreachable")},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Consent service",
            "version": "1",
            "description": f"Consent and opt-out-of-sale API. Bodies are limited to {MAX_BODY_BYTES} bytes.",
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
