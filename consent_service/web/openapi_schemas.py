"""The JSON Schemas of the answers (response bodies) in /openapi.json, written by hand.

Built from the same vocabularies the code uses, so reasons, regimes and error codes cannot drift.
The request bodies' schemas are not here: schemas.py generates them from the structs that validate
the requests.
"""

from __future__ import annotations

from typing import Any

import msgspec

from consent_service.core.partner import EventType
from consent_service.core.texts import LANGUAGES, TEXT_KEYS
from consent_service.core.vocab import ErrorCode, PurposeKind, Reason, Regime, RequestType
from consent_service.rights.request_metrics import CHANNELS
from consent_service.stats.model import BROWSERS, DEVICE_CLASSES, OPT_OUT_CHANNELS, OVER_LIMIT_KINDS
from consent_service.store.outbox import STATUSES
from consent_service.tcf.gvl_source import SOURCES as GVL_SOURCES
from consent_service.web.schemas import Id, PartnerName

Schema = dict[str, Any]


def obj(properties: Schema, required: list[str]) -> Schema:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# The request structs' own constraints, where an answer or a parameter holds the same value.
ID: Schema = msgspec.json.schema(Id)
PARTNER: Schema = msgspec.json.schema(PartnerName)
_DAY = {"type": "string", "format": "date"}
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

_TCF_VECTOR: Schema = {"type": "object", "additionalProperties": {"type": "boolean"}}  # id → signal
_TCF_VECTORS: Schema = obj(
    {"consents": _TCF_VECTOR, "legitimateInterests": _TCF_VECTOR}, ["consents", "legitimateInterests"]
)
_GVL = obj(
    {
        "version": {"type": "integer", "minimum": 1, "description": "its vendorListVersion"},
        "policy_version": {"type": "integer", "minimum": 1, "description": "its tcfPolicyVersion"},
        "source": {"type": "string", "enum": list(GVL_SOURCES)},
        "error": {"type": "string", "description": "why the last fetch failed (the last good copy is in use)"},
    },
    ["version", "policy_version", "source"],
)

ANSWER_SCHEMAS: Schema = {
    "Decision": obj(
        {"allowed": {"type": "boolean"}, "reason": {"type": "string", "enum": list(Reason)}}, ["allowed", "reason"]
    ),
    "DecisionAnswer": obj(
        {
            "site": {"type": "string"},
            "region": {"type": ["string", "null"], "pattern": "^[A-Z]{2}(-[A-Z0-9]{1,3})?$"},
            "regime": {"type": "string", "enum": list(Regime)},
            "gpc": {"type": "boolean", "description": "the device's effective GPC state"},
            "decisions": {"type": "object", "additionalProperties": ref("Decision")},
            "gpp": {
                "type": ["string", "null"],
                "description": "IAB GPP string: `usnat` in the US; `tcfeuv2` (the TC string) in GDPR territory on a "
                "site with TCF on; null elsewhere",
            },
            "gpp_sid": {"type": "array", "items": {"type": "integer", "enum": [2, 7]}},
            "tcf": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$",
                "description": "the IAB TCF v2.3 TC string (core, disclosed vendors, publisher segments); only in "
                "GDPR territory (EEA, GB; CH where the site says so) on a site with TCF on",
            },
            "tcf_data": ref("TcfData"),
            "deleted_at": {
                "type": "integer",
                "description": "ms since the epoch: this device's data was deleted then (on the service's data "
                "page or through an agent); the banner calls the page's USP `registerDeletion` callbacks once for it",
            },
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
    "TcfData": {
        "type": "object",
        "description": "what `__tcfapi` answers (IAB CMP API v2.3 TCData, without eventStatus, cmpStatus and "
        "listenerId, which the page API adds); on a site with TCF on, in the banner's answers (experience and "
        'writes). Outside GDPR territory only `{"gdprApplies": false}`',
        "properties": {
            "gdprApplies": {"type": "boolean"},
            "tcString": {"type": "string"},
            "tcfPolicyVersion": {"type": "integer"},
            "cmpId": {"type": "integer", "minimum": 0, "maximum": 4095},
            "cmpVersion": {"type": "integer", "minimum": 1, "maximum": 4095},
            "isServiceSpecific": {"type": "boolean"},
            "useNonStandardTexts": {"type": "boolean"},
            "publisherCC": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "purposeOneTreatment": {"type": "boolean"},
            "purpose": _TCF_VECTORS,
            "vendor": _TCF_VECTORS,
            "specialFeatureOptins": _TCF_VECTOR,
            "publisher": {"type": "object"},
        },
        "required": ["gdprApplies"],
        "additionalProperties": False,
    },
    "Purpose": obj(
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
    "Error": obj(
        {"error": {"type": "string", "enum": list(ErrorCode)}, "detail": {"type": "string"}}, ["error", "detail"]
    ),
    "Status": {
        **obj({"status": {"type": "string", "enum": ["ok", "ready"]}, "gvl": _GVL}, ["status"]),
        "description": "`gvl` (in /readyz only): the IAB Global Vendor List in use",
    },
    "GpcSupport": obj(
        {"gpc": {"type": "boolean", "const": True}, "lastUpdate": {"type": "string", "format": "date"}},
        ["gpc", "lastUpdate"],
    ),
}


def _experience_schema() -> Schema:
    answer = ANSWER_SCHEMAS["DecisionAnswer"]
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
        "purposes": {"type": "array", "items": ref("Purpose")},
        "choices": {"type": "object", "additionalProperties": {"type": "boolean"}},
    }
    return obj({**answer["properties"], **extra}, [*answer["required"], *extra])


ANSWER_SCHEMAS["Experience"] = _experience_schema()


def _tally() -> Schema:
    count = {"type": "integer", "minimum": 0}
    return obj(
        {"received": count, "complied": count, "denied": count, "median_days": {"type": ["number", "null"]}},
        ["received", "complied", "denied", "median_days"],
    )


def _metrics_schema() -> Schema:
    count = {"type": "integer", "minimum": 0}
    per_type = {}
    for kind, channels in CHANNELS.items():
        tally = _tally()
        channel_map = obj({c: _tally() for c in channels}, list(channels))
        per_type[kind.value] = obj({**tally["properties"], "channels": channel_map}, [*tally["required"], "channels"])
    return obj(
        {
            "site": {"type": "string"},
            "year": {"type": "integer"},
            "requests": obj(per_type, list(per_type)),
            "partners": {
                "type": "object",
                "description": "partner → events delivered in the year, and business days from event to delivery",
                "additionalProperties": obj(
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
            "over_limit": obj(dict.fromkeys(OVER_LIMIT_KINDS, count), list(OVER_LIMIT_KINDS))
            | {
                "description": "one-click opt-outs and first GPC signals without a device token over the per-client "
                "rate limit: honoured but not recorded then, so not in `requests` (see the note)"
            },
            "note": {"type": "string"},
        },
        ["site", "year", "requests", "partners", "over_limit", "note"],
    )


ANSWER_SCHEMAS |= {
    "LinkAnswer": obj(
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
    "AgentAnswer": obj(
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
                    ref("AccountOptOut"),
                    ref("AccountData"),
                    ref("AccountErasure"),
                    ref("DecisionAnswer"),
                    ref("DeviceData"),
                    ref("DeviceErasure"),
                ],
            },
        },
        ["site", "type", "agent", "reference", "answer", "result"],
    ),
    "RequestMetrics": _metrics_schema(),
}


def _stats_schemas() -> Schema:
    """The statistics report (stats/model.py, as stats.report.report_json shapes it)."""
    count = {"type": "integer", "minimum": 0}
    rate = {"type": ["number", "null"], "minimum": 0, "description": "null when its denominator is 0"}
    counts = obj(
        {
            "visits": count | {"description": "page views: experience answers"},
            "gpc_visits": count | {"description": "page views whose browser sent GPC"},
            "banners_shown": count,
            "accept_all": count,
            "reject_all": count,
            "custom": count,
            "opt_outs": obj(dict.fromkeys(OPT_OUT_CHANNELS, count), list(OPT_OUT_CHANNELS)),
            "opt_outs_total": count,
            "choices": count | {"description": "accept_all + reject_all + custom + opt_outs_total"},
            "devices": count | {"description": "unique devices (in a split: device-days)"},
            "gpc_devices": count | {"description": "unique devices with GPC (in a split: device-days)"},
            "decisions": {
                "type": "object",
                "description": "purpose → decisions answered",
                "additionalProperties": obj({"allowed": count, "denied": count}, ["allowed", "denied"]),
            },
            "consent_rate": rate | {"description": "accept_all / choices (null without choices)", "maximum": 1},
            "opt_out_rate": rate
            | {"description": "(reject_all + opt-outs) / choices (null without choices)", "maximum": 1},
            "gpc_share": rate | {"description": "gpc_visits / visits (null without page views)", "maximum": 1},
            "over_limit": obj(dict.fromkeys(OVER_LIMIT_KINDS, count), list(OVER_LIMIT_KINDS))
            | {"description": "anonymous opt-outs and GPC signals over the client's limit: honoured, not recorded"},
        },
        [],
    )
    counts["required"] = list(counts["properties"])

    def by(names: tuple[str, ...] | list[str] | None) -> Schema:
        split: Schema = {"type": "object", "additionalProperties": ref("StatsCounts")}
        if names is not None:
            split |= {"propertyNames": {"enum": list(names)}, "required": list(names)}
        return split

    day = obj({"day": _DAY, "humans": ref("StatsCounts"), "bot_requests": count}, ["day", "humans", "bot_requests"])
    report = obj(
        {
            "site": {"type": "string"},
            "first_day": _DAY,
            "last_day": _DAY,
            "days": {"type": "array", "items": day, "description": "every day of the range, oldest first"},
            "totals": ref("StatsCounts"),
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


ANSWER_SCHEMAS |= _stats_schemas()


def _delivery_schemas() -> Schema:
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    delivery = obj(
        {
            "event_id": {"type": "string"},
            "type": {"type": "string", "enum": [e.value for e in EventType]},
            "partner": PARTNER,
            "status": {"type": "string", "enum": list(STATUSES)},
            "created": {"type": "string", "format": "date-time"},
            "attempts": {"type": "integer", "minimum": 0},
            "last_attempt": nullable_time,
            "last_result": {"type": ["string", "null"]},
            "delivered": nullable_time,
        },
        ["event_id", "type", "partner", "status", "created", "attempts", "last_attempt", "last_result", "delivered"],
    )
    listing = obj(
        {
            "site": ID,
            "partner": {"type": ["string", "null"]},
            "status": {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
            "deliveries": {"type": "array", "items": ref("Delivery")},
        },
        ["site", "partner", "status", "deliveries"],
    )
    answer = obj(
        {"site": ID, "partner": {"type": ["string", "null"]}, "replayed": {"type": "integer", "minimum": 0}},
        ["site", "partner", "replayed"],
    )
    return {"Delivery": delivery, "Deliveries": listing, "ReplayAnswer": answer}


ANSWER_SCHEMAS |= _delivery_schemas()
