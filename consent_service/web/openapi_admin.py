"""The `/v1/admin/…` paths of /openapi.json (web/admin/routes.py, web/admin/deliveries.py)."""

from __future__ import annotations

import msgspec

from consent_service.store.outbox import STATUSES
from consent_service.web.openapi_responses import BEARER, NO_STORE_HEADERS, SITE_QUERY, error_answers, ok_answer
from consent_service.web.openapi_schemas import PARTNER, Schema, ref
from consent_service.web.schemas import AccountId
from consent_service.web.validation import FIRST_YEAR, LAST_YEAR, STATS_DEFAULT_DAYS, STATS_MAX_DAYS


def _admin_post(summary: str, request: str, answer: str) -> Schema:
    return {
        "post": {
            "summary": summary,
            "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref(request)}}},
            "responses": {"200": ok_answer(answer, "done"), **error_answers(400, 401, 403, 404, 413, 503)},
        }
    }


def admin_paths() -> Schema:
    account_param = {"name": "account_id", "in": "path", "required": True, "schema": msgspec.json.schema(AccountId)}
    account_op = {"security": BEARER, "parameters": [account_param, SITE_QUERY]}
    return {
        "/v1/admin/audit": {
            "get": {
                "summary": "The audit trail for a time range (admin key), streamed as JSON lines or CSV",
                "security": BEARER,
                "parameters": [
                    SITE_QUERY,
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
                        "headers": NO_STORE_HEADERS
                        | {"Content-Disposition": {"required": True, "schema": {"type": "string"}}},
                        "content": {
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **error_answers(400, 401, 403, 404, 503),
                },
            }
        },
        "/v1/admin/request-metrics": {
            "get": {
                "summary": "CCPA §7102 request metrics for a calendar year, from the audit trail",
                "security": BEARER,
                "parameters": [
                    SITE_QUERY,
                    {
                        "name": "year",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR},
                        "description": "default: the current year",
                    },
                ],
                "responses": {
                    "200": ok_answer("RequestMetrics", "per request type and channel"),
                    **error_answers(400, 401, 403, 404, 503),
                },
            }
        },
        "/v1/admin/stats": {
            "get": {
                "summary": "Consent statistics per UTC day: banners, choices, opt-outs, GPC, decisions, by region, "
                "regime, device class and browser (bots apart)",
                "security": BEARER,
                "parameters": [
                    SITE_QUERY,
                    *(
                        {
                            "name": name,
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                            "description": f"first/last UTC day, inclusive (YYYY-MM-DD, {FIRST_YEAR}–{LAST_YEAR}); "
                            f"default: the last {STATS_DEFAULT_DAYS} days up to today; at most {STATS_MAX_DAYS} days",
                        }
                        for name in ("from", "to")
                    ),
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                        "description": "json (default) or csv (one row per day)",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "the report (JSON), or one row per day (CSV)",
                        "headers": NO_STORE_HEADERS
                        | {"Content-Disposition": {"required": False, "schema": {"type": "string"}}},
                        "content": {
                            "application/json": {"schema": ref("StatsReport")},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **error_answers(400, 401, 403, 404, 503),
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
                "responses": {
                    "200": ok_answer("AccountData", "the account's data"),
                    **error_answers(400, 401, 403, 404, 503),
                },
            },
            "delete": account_op
            | {
                "summary": "Delete an account and its linked devices' data, keeping opt-outs as tombstones",
                "responses": {
                    "200": ok_answer("AccountErasure", "what was deleted and what was kept"),
                    **error_answers(400, 401, 403, 404, 503),
                },
            },
        },
        **_delivery_paths(),
        "/v1/admin/agent-requests": _admin_post(
            "An authorized agent's opt-out, access or deletion request for an account or a device",
            "AgentRequest",
            "AgentAnswer",
        ),
    }


def _delivery_paths() -> Schema:
    """The partner deliveries (web/admin/deliveries.py)."""
    query = [
        SITE_QUERY,
        {"name": "partner", "in": "query", "required": False, "schema": PARTNER},
        {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": list(STATUSES)}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
    ]
    return {
        "/v1/admin/deliveries": {
            "get": {
                "summary": "What was told to which partner and when: deliveries with their attempts, newest first",
                "security": BEARER,
                "parameters": query,
                "responses": {
                    "200": ok_answer("Deliveries", "the deliveries"),
                    **error_answers(400, 401, 403, 404, 503),
                },
            }
        },
        "/v1/admin/deliveries/replay": _admin_post(
            "Put dead-lettered deliveries (of one partner, or all) back in the queue", "ReplayRequest", "ReplayAnswer"
        ),
    }
