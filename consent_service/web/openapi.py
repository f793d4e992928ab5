"""The OpenAPI 3.1 document of every JSON endpoint, strict enough for a fuzzer to hold us to it.

Built from the same vocabularies the code uses, so reasons, regimes and error codes cannot drift.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from consent_service.core.partner import EventType
from consent_service.core.texts import LANGUAGES, TEXT_KEYS
from consent_service.core.vocab import ErrorCode, PurposeKind, Reason, Regime, RequestType
from consent_service.rights.request_metrics import CHANNELS
from consent_service.stats.model import BROWSERS, DEVICE_CLASSES, OPT_OUT_CHANNELS, OVER_LIMIT_KINDS
from consent_service.store.outbox import STATUSES
from consent_service.web.admin.routes import MAX_YEAR, MIN_YEAR, STATS_DEFAULT_DAYS, STATS_MAX_DAYS
from consent_service.web.http import MAX_BODY_BYTES
from consent_service.web.validation import (
    CLIENT_ACTIONS,
    CLIENT_SOURCES,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_AGENT_TEXT,
    MAX_ID_LENGTH,
    MAX_PURPOSES,
    MAX_TOKEN_TEXT,
)

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
            "gpp_sid": {"type": "array", "items": {"type": "integer", "enum": [7]}},
            "usp": {"type": "string", "pattern": "^1[YN-]{3}$"},
            "device": {
                "type": "string",
                "description": "the device token, bound to its site (also set as the site's cs_device_<site> cookie)",
            },
            "partner_ids": {
                "type": "object",
                "description": "partner → its pseudonymous id of this device (the subject of its webhooks), for "
                "the page to hand to that partner's tag; only on sites with partners",
                "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            },
            "consent_mode": _CONSENT_MODE,
            "gpp_parsed": {"type": "object", "description": "the GPP sections as __gpp getSection gives them"},
            "stored": {
                "type": "boolean",
                "const": False,
                "description": "present (false) only on an opt-out acknowledged while storage was unreachable: the "
                "signed device token (cookie and `device`) carries it until it is written",
            },
        },
        ["site", "region", "regime", "gpc", "decisions", "gpp", "gpp_sid", "usp", "consent_mode"],
    ),
    "ConsentRequest": _obj(
        {
            "site": _ID,
            "action": {"type": "string", "enum": list(CLIENT_ACTIONS)},
            "choices": {
                "type": "object",
                "description": "purpose → allowed; with `custom`, naming at least one optional purpose "
                "(ignored with accept_all and reject_all)",
                "additionalProperties": {"type": "boolean"},
                "propertyNames": {"maxLength": MAX_ID_LENGTH},
                "maxProperties": MAX_PURPOSES,
            },
            "policy_version": _ID | {"description": "printable text (default: the site's current version)"},
            "source": _SOURCE,
            "gpc": _GPC_FLAG,
        },
        ["site", "action"],
    )
    | {
        "if": {"properties": {"action": {"const": "custom"}}, "required": ["action"]},
        "then": {"required": ["choices"], "properties": {"choices": {"minProperties": 1}}},
    },
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
    return _obj({**answer["properties"], **extra}, [*answer["required"], *extra])


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
    count = {"type": "integer", "minimum": 0}
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
            "partners": {
                "type": "object",
                "description": "partner → events delivered in the year, and business days from event to delivery",
                "additionalProperties": _obj(
                    {
                        "notified": count,
                        "by_type": {"type": "object", "additionalProperties": count},
                        "median_business_days": {"type": ["number", "null"]},
                        "max_business_days": {"type": ["integer", "null"]},
                        "over_15_business_days": count,
                        "failed": count | {"description": "events given up (dead letters) in the year"},
                    },
                    [
                        "notified",
                        "by_type",
                        "median_business_days",
                        "max_business_days",
                        "over_15_business_days",
                        "failed",
                    ],
                ),
            },
            "over_limit": _obj(dict.fromkeys(OVER_LIMIT_KINDS, count), list(OVER_LIMIT_KINDS))
            | {
                "description": "one-click opt-outs and first GPC signals without a device token over the per-client "
                "rate limit: honoured but not recorded then, so not in `requests` (see the note)"
            },
            "note": {"type": "string"},
        },
        ["site", "year", "requests", "partners", "over_limit", "note"],
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
    )
    | {
        "description": "a link answers whether the account opted out and how many devices it has",
        "if": {"properties": {"linked": {"const": True}}},
        "then": {"required": ["account_opted_out", "devices"]},
        "else": {"maxProperties": 2},
    },
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
            "result": {
                "description": "the request's own answer: for an account its opt-out, data or deletion; "
                "for a device its decisions, data or deletion",
                "anyOf": [
                    _ref("AccountOptOut"),
                    _ref("AccountData"),
                    _ref("AccountErasure"),
                    _ref("DecisionAnswer"),
                    _ref("DeviceData"),
                    _ref("DeviceErasure"),
                ],
            },
        },
        ["site", "type", "agent", "reference", "answer", "result"],
    ),
    "RequestMetrics": _metrics_schema(),
}


def _stats_schemas() -> Schema:
    """The statistics report (stats_model.py, as stats_report.report_json shapes it)."""
    count = {"type": "integer", "minimum": 0}
    rate = {"type": ["number", "null"], "minimum": 0, "description": "null when its denominator is 0"}
    counts = _obj(
        {
            "visits": count | {"description": "page views: experience answers"},
            "gpc_visits": count | {"description": "page views whose browser sent GPC"},
            "banners_shown": count,
            "accept_all": count,
            "reject_all": count,
            "custom": count,
            "opt_outs": _obj(dict.fromkeys(OPT_OUT_CHANNELS, count), list(OPT_OUT_CHANNELS)),
            "opt_outs_total": count,
            "choices": count | {"description": "accept_all + reject_all + custom + opt_outs_total"},
            "devices": count | {"description": "unique devices (in a split: device-days)"},
            "gpc_devices": count | {"description": "unique devices with GPC (in a split: device-days)"},
            "decisions": {
                "type": "object",
                "description": "purpose → decisions answered",
                "additionalProperties": _obj({"allowed": count, "denied": count}, ["allowed", "denied"]),
            },
            "consent_rate": rate | {"description": "accept_all / choices (null without choices)", "maximum": 1},
            "opt_out_rate": rate
            | {"description": "(reject_all + opt-outs) / choices (null without choices)", "maximum": 1},
            "gpc_share": rate | {"description": "gpc_visits / visits (null without page views)", "maximum": 1},
            "over_limit": _obj(dict.fromkeys(OVER_LIMIT_KINDS, count), list(OVER_LIMIT_KINDS))
            | {"description": "anonymous opt-outs and GPC signals over the client's limit: honoured, not recorded"},
        },
        [],
    )
    counts["required"] = list(counts["properties"])

    def by(names: tuple[str, ...] | list[str] | None) -> Schema:
        split: Schema = {"type": "object", "additionalProperties": _ref("StatsCounts")}
        if names is not None:
            split |= {"propertyNames": {"enum": list(names)}, "required": list(names)}
        return split

    day = _obj({"day": _DAY, "humans": _ref("StatsCounts"), "bot_requests": count}, ["day", "humans", "bot_requests"])
    report = _obj(
        {
            "site": {"type": "string"},
            "first_day": _DAY,
            "last_day": _DAY,
            "days": {"type": "array", "items": day, "description": "every day of the range, oldest first"},
            "totals": _ref("StatsCounts"),
            "by_region": by(None) | {"description": "CC or CC-RR, `none` (unknown), `other` (past the cap)"},
            "by_regime": by([r.value for r in Regime]),
            "by_device_class": by(DEVICE_CLASSES),
            "by_browser": by(BROWSERS),
            "bot_requests": count,
            "note": {"type": "string"},
        },
        [],
    )
    report["required"] = list(report["properties"])
    return {"StatsCounts": counts, "StatsReport": report}


# ---- what access and deletion answer (rights.py, accounts.py) ----------------------------------

_TIME = {"type": ["string", "null"], "description": "ISO 8601 (UTC)"}
_DAY = {"type": "string", "format": "date"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
SCHEMAS |= _stats_schemas()
_PARTNER = {"type": "string", "minLength": 1, "maxLength": 40}
SCHEMAS |= {
    "DeviceRecord": _obj(
        {
            "choices": {
                "type": "object",
                "additionalProperties": _obj(
                    {"allowed": {"type": "boolean"}, "at": _TIME, "policy_version": {"type": "string"}},
                    ["allowed", "at", "policy_version"],
                ),
            },
            "created": _TIME,
            "updated": _TIME,
            "gpc_first_seen": _TIME,
            "deleted": _TIME,
            "linked_to_account": _TIME,
            "gpc_last_seen_on": _DAY,
            "last_visit_on": _DAY,
            "policy_version": {"type": "string"},
            "source": {"type": "string"},
            "regime": {"type": "string", "enum": list(Regime)},
            "region": {"type": "string"},
            "device_class": {"type": "string"},
            "account_opted_out": {"type": "boolean"},
        },
        ["choices"],
    ),
    "HistoryEntry": _obj(
        {
            "at": _TIME,
            "action": _TEXT_OR_NULL,
            "source": _TEXT_OR_NULL,
            "regime": _TEXT_OR_NULL,
            "region": _TEXT_OR_NULL,
            "policy_version": _TEXT_OR_NULL,
            "choices_after": _TEXT_OR_NULL,
            "device_class": _TEXT_OR_NULL,
            "agent": {"type": "string"},
        },
        ["at", "action", "source", "regime", "region", "policy_version", "choices_after", "device_class"],
    ),
    "DeviceData": _obj(
        {
            "site": {"type": "string"},
            "record": {"anyOf": [_ref("DeviceRecord"), {"type": "null"}]},
            "history": {"type": "array", "items": _ref("HistoryEntry")},
            "account": {
                "anyOf": [
                    _obj(
                        {"linked": {"const": True}, "account_opted_out": {"type": "boolean"}},
                        ["linked", "account_opted_out"],
                    ),
                    {"type": "null"},
                ]
            },
            "note": {"type": "string"},
        },
        ["site", "record", "history", "account", "note"],
    ),
    "DeviceErasure": _obj(
        {
            "site": {"type": "string"},
            "deleted": {"type": "boolean"},
            "kept": {"anyOf": [_ref("DeviceRecord"), {"type": "null"}], "description": "the opt-out tombstone"},
            "note": {"type": "string"},
        },
        ["site", "deleted", "kept", "note"],
    ),
    "AccountOptOut": _obj(
        {"site": {"type": "string"}, "account_opted_out": {"const": True}}, ["site", "account_opted_out"]
    ),
    "AccountData": _obj(
        {
            "site": {"type": "string"},
            "account": {
                "anyOf": [
                    _obj(
                        {
                            "created": _TIME,
                            "opted_out": {"type": "boolean"},
                            "linked_devices": {"type": "integer", "minimum": 0},
                            "opted_out_at": _TIME,
                            "opt_out_source": _TEXT_OR_NULL,
                            "deleted": _TIME,
                        },
                        ["created", "opted_out", "linked_devices"],
                    ),
                    {"type": "null"},
                ],
                "description": "null when nothing is held about the account",
            },
            "devices": {
                "type": "array",
                "items": _obj(
                    {
                        "linked_at": _TIME,
                        "record": {"anyOf": [_ref("DeviceRecord"), {"type": "null"}]},
                        "history": {"type": "array", "items": _ref("HistoryEntry")},
                    },
                    ["linked_at", "record", "history"],
                ),
            },
            "note": {"type": "string"},
        },
        ["site", "account", "devices", "note"],
    ),
    "AccountErasure": _obj(
        {
            "site": {"type": "string"},
            "deleted": {"type": "boolean"},
            "devices_deleted": {"type": "integer", "minimum": 0},
            "kept": {
                "anyOf": [_obj({"account_opted_out": {"const": True}}, ["account_opted_out"]), {"type": "null"}],
                "description": "the opt-out tombstone",
            },
            "note": {"type": "string"},
        },
        ["site", "deleted", "devices_deleted", "kept", "note"],
    ),
}

# ---- responses, headers, parameters -------------------------------------------------------------

_NO_STORE_HEADERS = {
    "Cache-Control": {
        "required": True,
        "schema": {"type": "string", "const": "no-store"},
        "description": "per-device and admin answers, and every error, are never cached",
    },
    "X-Content-Type-Options": {"required": True, "schema": {"type": "string", "const": "nosniff"}},
}
_SET_COOKIE = {
    "Set-Cookie": {
        "required": False,
        "schema": {"type": "string", "pattern": "^cs_device_[a-z0-9][a-z0-9_-]*="},
        "description": "the device token as the site's `cs_device_<site>` cookie (HttpOnly), when one is issued or "
        "re-signed",
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "description": "seconds to wait before retrying",
    }
}
_ERROR_TEXT = {
    400: "invalid JSON, body or query (`invalid_json`, `invalid_body`)",
    401: "no or unknown admin key (`unauthorized`)",
    403: "a foreign origin (`forbidden_origin`), or an admin key not for this site (`forbidden`)",
    404: "unknown site (`unknown_site`), or nothing found (`not_found`)",
    413: f"body over {MAX_BODY_BYTES} bytes (`payload_too_large`)",
    422: "unknown purpose (`unknown_purpose`)",
    429: "too many writes from this device or client (`rate_limited`; never for an opt-out): retry after Retry-After",
    503: "storage unavailable, nothing was changed (`store_unavailable`): retry after Retry-After",
}


def _json(schema: str, description: str, headers: Schema | None = None) -> Schema:
    answer: Schema = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        answer["headers"] = headers
    return answer


def _ok(schema: str, description: str, *, cookie: bool = False) -> Schema:
    """A 200 JSON answer that is never cached (per device or admin), maybe setting the device cookie."""
    return _json(schema, description, _NO_STORE_HEADERS | (_SET_COOKIE if cookie else {}))


def _errors(*codes: int) -> Schema:
    return {
        str(code): _json("Error", _ERROR_TEXT[code], _NO_STORE_HEADERS | (_RETRY_AFTER if code in (429, 503) else {}))
        for code in codes
    }


def _header(name: str, description: str) -> Schema:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


_DEVICE_HEADER = _header("X-Consent-Device", "the site's device token; wins over its cs_device_<site> cookie if valid")
_GPC_HEADER = _header(
    "Sec-GPC",
    "Global Privacy Control: an element exactly `1` (comma-separated, trimmed) is an opt-out of sale and "
    "sharing; any other value is no signal",
)
# The trusted CDN region headers (CONSENT_REGION_HEADERS); without a valid one, the site's default region.
_REGION_HEADERS = [
    _header(name, "visitor's country or subdivision, from a trusted CDN (ISO 3166)")
    for name in (
        "CloudFront-Viewer-Country",
        "CloudFront-Viewer-Country-Region",
        "CF-IPCountry",
        "CF-Region-Code",
        "X-Vercel-IP-Country",
        "X-Vercel-IP-Country-Region",
    )
]
_VISITOR_HEADERS = [_DEVICE_HEADER, _GPC_HEADER, *_REGION_HEADERS]
_GPC_QUERY = {
    "name": "gpc",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "`1` when the page sees navigator.globalPrivacyControl === true (the header's rule: "
    "any other value is no signal)",
}
_SITE_QUERY = {"name": "site", "in": "query", "required": True, "schema": _ID}
_BEARER: list[Schema] = [{"bearer": []}]


def _admin_post(summary: str, request: str, answer: str) -> Schema:
    return {
        "post": {
            "summary": summary,
            "security": _BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": {"200": _ok(answer, "done"), **_errors(400, 401, 403, 404, 413, 503)},
        }
    }


def _admin_paths() -> Schema:
    account_param = {"name": "account_id", "in": "path", "required": True, "schema": _ACCOUNT_ID}
    account_op = {"security": _BEARER, "parameters": [account_param, _SITE_QUERY]}
    return {
        "/v1/admin/audit": {
            "get": {
                "summary": "The audit trail for a time range (admin key), streamed as JSON lines or CSV",
                "security": _BEARER,
                "parameters": [
                    _SITE_QUERY,
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
                        "headers": _NO_STORE_HEADERS
                        | {"Content-Disposition": {"required": True, "schema": {"type": "string"}}},
                        "content": {
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/v1/admin/request-metrics": {
            "get": {
                "summary": "CCPA §7102 request metrics for a calendar year, from the audit trail",
                "security": _BEARER,
                "parameters": [
                    _SITE_QUERY,
                    {
                        "name": "year",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
                        "description": "default: the current year",
                    },
                ],
                "responses": {
                    "200": _ok("RequestMetrics", "per request type and channel"),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/v1/admin/stats": {
            "get": {
                "summary": "Consent statistics per UTC day: banners, choices, opt-outs, GPC, decisions, by region, "
                "regime, device class and browser (bots apart)",
                "security": _BEARER,
                "parameters": [
                    _SITE_QUERY,
                    *(
                        {
                            "name": name,
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                            "description": f"first/last UTC day, inclusive (YYYY-MM-DD, {MIN_YEAR}–{MAX_YEAR}); "
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
                        "headers": _NO_STORE_HEADERS
                        | {"Content-Disposition": {"required": False, "schema": {"type": "string"}}},
                        "content": {
                            "application/json": {"schema": _ref("StatsReport")},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403, 404, 503),
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
                    "200": _ok("AccountData", "the account's data"),
                    **_errors(400, 401, 403, 404, 503),
                },
            },
            "delete": account_op
            | {
                "summary": "Delete an account and its linked devices' data, keeping opt-outs as tombstones",
                "responses": {
                    "200": _ok("AccountErasure", "what was deleted and what was kept"),
                    **_errors(400, 401, 403, 404, 503),
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
    """The partner deliveries (delivery_routes.py)."""
    query = [
        _SITE_QUERY,
        {"name": "partner", "in": "query", "required": False, "schema": _PARTNER},
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
                "security": _BEARER,
                "parameters": query,
                "responses": {"200": _ok("Deliveries", "the deliveries"), **_errors(400, 401, 403, 404, 503)},
            }
        },
        "/v1/admin/deliveries/replay": _admin_post(
            "Put dead-lettered deliveries (of one partner, or all) back in the queue", "ReplayRequest", "ReplayAnswer"
        ),
    }


def _delivery_schemas() -> Schema:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    delivery = _obj(
        {
            "event_id": {"type": "string"},
            "type": {"type": "string", "enum": [e.value for e in EventType]},
            "partner": _PARTNER,
            "status": {"type": "string", "enum": list(STATUSES)},
            "created": {"type": "string", "format": "date-time"},
            "attempts": {"type": "integer", "minimum": 0},
            "last_attempt": nullable_time,
            "last_result": {"type": ["string", "null"]},
            "delivered": nullable_time,
        },
        ["event_id", "type", "partner", "status", "created", "attempts", "last_attempt", "last_result", "delivered"],
    )
    listing = _obj(
        {
            "site": _ID,
            "partner": {"type": ["string", "null"]},
            "status": {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
            "deliveries": {"type": "array", "items": _ref("Delivery")},
        },
        ["site", "partner", "status", "deliveries"],
    )
    request = _obj({"site": _ID, "partner": _PARTNER}, ["site"])
    answer = _obj(
        {"site": _ID, "partner": {"type": ["string", "null"]}, "replayed": {"type": "integer", "minimum": 0}},
        ["site", "partner", "replayed"],
    )
    return {"Delivery": delivery, "Deliveries": listing, "ReplayRequest": request, "ReplayAnswer": answer}


def _write_op(summary: str, schema: str, *codes: int) -> Schema:
    return {
        "summary": summary,
        "parameters": _VISITOR_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(schema)}}},
        "responses": {
            "200": _ok("DecisionAnswer", "recorded; the device's decisions", cookie=True),
            **_errors(*codes),
        },
    }


def _me_op(summary: str, answer: str, description: str, download: bool = False) -> Schema:
    parameters = [_SITE_QUERY, _DEVICE_HEADER]
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
        "responses": {"200": _ok(answer, description), **_errors(403, 404, 429, 503)},
    }


SCHEMAS |= _delivery_schemas()


@cache
def openapi_document() -> Schema:
    decision_params = [
        _SITE_QUERY,
        {
            "name": "purpose",
            "in": "query",
            "required": True,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": _ID, "minItems": 1, "maxItems": MAX_PURPOSES},
        },
        _GPC_QUERY,
        *_VISITOR_HEADERS,
    ]
    paths: Schema = {
        "/v1/decision": {
            "get": {
                "summary": "Decide purposes for this device (tag loaders)",
                "parameters": decision_params,
                "responses": {
                    "200": _ok("DecisionAnswer", "decisions; never 5xx when Redis is down", cookie=True),
                    **_errors(400, 404, 422),
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
                    {"name": "site", "in": "path", "required": True, "schema": _ID},
                    _GPC_QUERY,
                    {
                        "name": "lang",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": f"preferred language (else Accept-Language); one of {', '.join(LANGUAGES)} "
                        "is chosen",
                    },
                    *_VISITOR_HEADERS,
                ],
                "responses": {"200": _ok("Experience", "the banner's experience", cookie=True), **_errors(404)},
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
        **_admin_paths(),
        "/.well-known/gpc.json": {
            "get": {"summary": "GPC support statement", "responses": {"200": _json("GpcSupport", "GPC is honoured")}}
        },
        "/healthz": {"get": {"summary": "Process is up", "responses": {"200": _json("Status", "up")}}},
        "/readyz": {
            "get": {
                "summary": "Redis is reachable",
                "responses": {"200": _json("Status", "ready"), **_errors(503)},
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
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
