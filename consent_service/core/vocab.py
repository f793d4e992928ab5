"""The closed vocabularies of the service, defined once.

Only add members here, never remove or rename one: the values are part of the public contract
(API answers, stored records, audit entries) and older records keep them.
"""

from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    """How a region treats non-necessary purposes before the visitor chooses."""

    OPT_IN = "opt_in"  # off until the visitor consents (GDPR-style)
    OPT_OUT = "opt_out"  # on until the visitor (or GPC) opts out (US state laws)
    NOTICE = "notice"  # on; a notice only


class Reason(StrEnum):
    """Why a purpose is allowed or denied; one per decision rule."""

    NECESSARY = "necessary"
    CONSENT = "consent"
    OPT_OUT = "opt_out"
    GPC = "gpc"
    ACCOUNT_OPT_OUT = "account_opt_out"
    NO_CONSENT = "no_consent"
    DEFAULT = "default"
    STORE_UNAVAILABLE = "store_unavailable"


class PurposeKind(StrEnum):
    NECESSARY = "necessary"
    ANALYTICS = "analytics"
    ADVERTISING = "advertising"
    FUNCTIONAL = "functional"
    PERSONALIZATION = "personalization"


class Action(StrEnum):
    """What a visitor did in a consent request."""

    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    CUSTOM = "custom"
    OPT_OUT = "opt_out"  # the one-click "Do Not Sell or Share" opt-out
    GPC = "gpc"  # a GPC signal seen for the first time
    ACCESS = "access"  # a request for a copy of the data held
    DELETE = "delete"  # a request to delete the data held
    LINK = "link"  # a device linked to an account by the site's backend
    UNLINK = "unlink"


class RequestType(StrEnum):
    """Privacy requests as the CCPA regulations count them (§7101 records, §7102 metrics)."""

    OPT_OUT = "opt_out"  # opt-out of sale/sharing (any channel: GPC, banner or link, no-JS page, agent)
    ACCESS = "access"
    DELETE = "delete"


class Source(StrEnum):
    """How a change reached us (audit trail)."""

    BANNER = "banner"
    API = "api"
    GPC = "gpc"
    NO_JS_FORM = "no_js_form"
    AGENT = "agent"
    ACCOUNT = "account"


class DeviceClass(StrEnum):
    PC = "pc"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"
    OTHER = "other"


class ErrorCode(StrEnum):
    """The `error` field of every error answer."""

    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNKNOWN_SITE = "unknown_site"
    UNKNOWN_PURPOSE = "unknown_purpose"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    STORE_UNAVAILABLE = "store_unavailable"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL = "internal"  # a bug of ours: never expected, always a 500
    HEADERS_TOO_LARGE = "headers_too_large"  # answered by the protocol (protocol.py), before any endpoint
