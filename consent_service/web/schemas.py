"""The request bodies of the JSON API, written once: these structs validate every request and generate
the OpenAPI components that describe it (`request_components`), so the two cannot drift.

Strict: required fields, exact types (no bool for an int, no "1" for a bool), no unknown fields, no
null for an optional field (it is left out), bounded sizes, printable text where text is stored.
Whether a site or purpose exists is checked later, against the configuration. A rule that cannot be
a schema constraint stays beside its struct: cross-field rules in `__post_init__` (with the matching
`if`/`oneOf` in CROSS_FIELD_SCHEMAS), rules relative to the clock in validation.py.

A refusal is `ApiError(INVALID_BODY)` with a detail naming the field (FIELD_RULES), never msgspec's
own message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, UnsetType

from consent_service.core.errors import ApiError
from consent_service.core.vocab import ErrorCode

MAX_ID_LENGTH = 64
MAX_PURPOSES = 32
MAX_ACCOUNT_ID_LENGTH = 256  # hashed, never stored: any string the site uses, within reason
MAX_AGENT_TEXT = 128  # an agent's name and reference are stored and exported: short and printable
MAX_TOKEN_TEXT = 256
MAX_PARTNER_NAME = 40  # partners.PARTNER_NAME_RE

# Printable text, for what is stored and exported (a policy version, an agent's name and reference):
# no control characters (Cc), no format characters (Cf: bidi overrides and isolates, zero-width
# characters, the BOM…), no private use (Co), no separator but the space (Zs, Zl, Zp). These are the
# characters `str.isprintable()` refuses that Unicode 14 (Python 3.11) assigns, but for surrogates
# (Cs), which no decoded JSON string holds (msgspec and orjson refuse a lone one) and which Rust's
# regex engines cannot name; an unassigned code point is accepted (a newer Unicode may give it to a
# new emoji or script). One regular expression, checked by msgspec (Python's `re`) and published as
# the field's `pattern` in /openapi.json, written so that ECMA-262 (with the `u` flag) and the Rust
# engines of validators read it the same way: characters past U+FFFF are in it as themselves (ECMA
# has no `\U`), and its end is `(?![\s\S])`, because Python's `$` also matches before a final newline.
_NOT_TEXT: Final = (
    (0x0000, 0x001F), (0x007F, 0x00A0), (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x1680, 0x1680),
    (0x180E, 0x180E), (0x2000, 0x200F), (0x2028, 0x202F), (0x205F, 0x2064), (0x2066, 0x206F),
    (0x3000, 0x3000), (0xE000, 0xF8FF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD),
)  # fmt: skip


def _class_item(first: int, last: int) -> str:
    def one(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return one(first) if first == last else f"{one(first)}-{one(last)}"


_NOT_TEXT_CLASS: Final = "".join(_class_item(first, last) for first, last in _NOT_TEXT)
_END: Final = r"(?![\s\S])"
PRINTABLE_TEXT: Final = f"^[^{_NOT_TEXT_CLASS}]*{_END}"
PRINTABLE_NOT_BLANK: Final = f"^ *[^{_NOT_TEXT_CLASS} ][^{_NOT_TEXT_CLASS}]*{_END}"  # and not only spaces

Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
AccountId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_ACCOUNT_ID_LENGTH,
        description="the site's own account id; only a keyed pseudonym of it is stored",
    ),
]
DeviceToken = Annotated[str, Meta(min_length=1, max_length=MAX_TOKEN_TEXT, description="the device's signed token")]
_STRING: Final = Meta(extra_json_schema={"type": "string"})  # msgspec writes a Literal as `enum` alone
ClientSource = Annotated[Literal["banner", "api"], _STRING, Meta(description="who made the change (default api)")]
GpcFlag = Annotated[bool, Meta(description="the page saw navigator.globalPrivacyControl === true")]
Choices = Annotated[
    dict[Annotated[str, Meta(max_length=MAX_ID_LENGTH)], bool],
    Meta(
        max_length=MAX_PURPOSES,
        description="purpose → allowed; with `custom`, naming at least one optional purpose "
        "(ignored with accept_all and reject_all)",
    ),
]
PartnerName = Annotated[str, Meta(min_length=1, max_length=MAX_PARTNER_NAME)]
AgentText = Annotated[str, Meta(min_length=1, max_length=MAX_AGENT_TEXT, pattern=PRINTABLE_NOT_BLANK)]

CUSTOM_NEEDS_CHOICES: Final = "`choices` is required with action `custom`, naming at least one purpose"
ACCOUNT_OR_DEVICE: Final = "exactly one of `account_id` and `device` is required"


class ConsentRequest(Struct, forbid_unknown_fields=True):
    """The visitor's choices (`custom`) or a choice for every optional purpose."""

    site: Id
    action: Annotated[Literal["accept_all", "reject_all", "custom"], _STRING]
    choices: Choices | UnsetType = UNSET
    policy_version: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=MAX_ID_LENGTH,
                pattern=PRINTABLE_TEXT,
                description="printable text (default: the site's current version)",
            ),
        ]
        | UnsetType
    ) = UNSET
    source: ClientSource = "api"
    gpc: GpcFlag = False

    def __post_init__(self) -> None:
        # Cross-field (CROSS_FIELD_SCHEMAS): `custom` names what it sets. Whether those purposes
        # exist, and whether one is optional, is the site's to say (service.py).
        if self.action == "custom" and not self.choices:
            raise ValueError(CUSTOM_NEEDS_CHOICES)


class OptOutRequest(Struct, forbid_unknown_fields=True):
    """A one-click opt-out of every sale/share purpose."""

    site: Id
    source: ClientSource = "api"
    gpc: GpcFlag = False


class LinkRequest(Struct, forbid_unknown_fields=True):
    """A device and the account it is linked to (or unlinked from)."""

    site: Id
    account_id: AccountId
    device: DeviceToken


class AgentRequest(Struct, forbid_unknown_fields=True):
    """An authorized agent's request, for an account or for a device."""

    site: Id
    type: Annotated[Literal["opt_out", "access", "delete"], _STRING]
    agent: Annotated[AgentText, Meta(description="the authorized agent's name")]
    reference: Annotated[AgentText, Meta(description="the agent's own reference for the request")]
    account_id: AccountId | UnsetType = UNSET
    device: DeviceToken | UnsetType = UNSET
    # Its range (the past year, not the future) is relative to the clock: validation.parse_agent_request.
    received: (
        Annotated[
            str,
            Meta(
                max_length=MAX_ID_LENGTH,
                description="when the business received the request (ISO 8601; default: now), within the past year",
            ),
        ]
        | UnsetType
    ) = UNSET

    def __post_init__(self) -> None:
        # Cross-field (CROSS_FIELD_SCHEMAS): the request is about one account or one device.
        if (self.account_id is UNSET) == (self.device is UNSET):
            raise ValueError(ACCOUNT_OR_DEVICE)


class ReplayRequest(Struct, forbid_unknown_fields=True):
    """Dead-lettered deliveries to put back in the queue: one partner's, or every partner's."""

    site: Id
    partner: PartnerName | UnsetType = UNSET


REQUESTS: Final = (ConsentRequest, OptOutRequest, LinkRequest, AgentRequest, ReplayRequest)

# The cross-field rules of the `__post_init__` methods above, as JSON Schema.
CROSS_FIELD_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "ConsentRequest": {
        "if": {"properties": {"action": {"const": "custom"}}, "required": ["action"]},
        "then": {"required": ["choices"], "properties": {"choices": {"minProperties": 1}}},
    },
    "AgentRequest": {"oneOf": [{"required": ["account_id"]}, {"required": ["device"]}]},
}
_CROSS_FIELD_DETAILS: Final = (CUSTOM_NEEDS_CHOICES, ACCOUNT_OR_DEVICE)

# What a refusal says, per field: the whole rule, in the words of the API's documentation.
FIELD_RULES: Final = {
    "site": f"`site` is required and must be a string of 1–{MAX_ID_LENGTH} characters",
    "action": "`action` must be one of accept_all, reject_all, custom",
    "choices": f"`choices` must be an object of at most {MAX_PURPOSES} purposes (each name at most "
    f"{MAX_ID_LENGTH} characters) → true/false",
    "policy_version": f"`policy_version` must be printable text of 1–{MAX_ID_LENGTH} characters",
    "source": "`source` must be one of banner, api",
    "gpc": "`gpc` must be true or false",
    "account_id": f"`account_id` must be a string of 1–{MAX_ACCOUNT_ID_LENGTH} characters",
    "device": f"`device` must be the device's token (a string of 1–{MAX_TOKEN_TEXT} characters)",
    "type": "`type` must be one of opt_out, access, delete",
    "agent": f"`agent` must be printable text of 1–{MAX_AGENT_TEXT} characters, not blank",
    "reference": f"`reference` must be printable text of 1–{MAX_AGENT_TEXT} characters, not blank",
    "received": "`received` must be an ISO 8601 date or time",
    "partner": f"`partner` must be a partner's name (a string of 1–{MAX_PARTNER_NAME} characters)",
}

R = TypeVar("R", bound=Struct)
_DECODERS: Final[dict[type[Any], msgspec.json.Decoder[Any]]] = {kind: msgspec.json.Decoder(kind) for kind in REQUESTS}


def decode(raw: bytes, kind: type[R]) -> R:
    """A request body (bytes, as read) parsed and validated in one pass, or a 400 ApiError."""
    try:
        return _DECODERS[kind].decode(raw)  # type: ignore[no-any-return]
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
        raise _refusal(raw, kind, exc) from None


def convert(body: dict[str, Any], kind: type[R]) -> R:
    """A request body already read as a JSON object (the admin routes check its site first)."""
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise _invalid(_explain(body, kind, exc)) from None


def _refusal(raw: bytes, kind: type[Struct], exc: msgspec.DecodeError) -> ApiError:
    """Which rule the body broke. Only ever on a refusal, so the body is parsed again, by the rules
    of before (orjson): not JSON is `invalid_json` even where msgspec saw a wrong type first."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ApiError(ErrorCode.INVALID_JSON, "the body is not valid JSON")
    if not isinstance(body, dict):
        return _invalid("the body must be a JSON object")
    return _invalid(_explain(body, kind, exc))


def _explain(body: dict[str, Any], kind: type[Struct], exc: msgspec.DecodeError) -> str:
    """The first rule the body breaks, checked field by field in the struct's order (unknown fields
    and nulls first), so the detail names the field without repeating msgspec's message."""
    fields = _FIELDS[kind]
    unknown = sorted(set(body) - {f.encode_name for f in fields})
    if unknown:
        return f"unknown field {unknown[0][:64]!r} (known: {', '.join(sorted(f.encode_name for f in fields))})"
    nulls = [f.encode_name for f in fields if f.encode_name in body and body[f.encode_name] is None]
    if nulls:
        return f"`{nulls[0]}` must not be null (leave an optional field out)"
    for field in fields:
        if field.encode_name not in body:
            if field.required:
                return FIELD_RULES[field.name]
            continue
        try:
            msgspec.convert({"value": body[field.encode_name]}, field.alone)
        except msgspec.ValidationError:
            return FIELD_RULES[field.name]
    if str(exc) in _CROSS_FIELD_DETAILS:  # every field is valid alone: a __post_init__ rule
        return str(exc)
    return f"the body does not match the {kind.__name__} schema (see /openapi.json)"


@dataclass(frozen=True)
class _Field:
    name: str
    encode_name: str
    required: bool
    # The field alone, as a struct of one field: msgspec keeps a struct's validator, where converting
    # to the bare annotated type builds it anew on every call (about 100 µs).
    alone: type[Struct]


_FIELDS: Final[dict[type[Struct], list[_Field]]] = {
    kind: [
        _Field(f.name, f.encode_name, f.required, msgspec.defstruct(f"{kind.__name__}_{f.name}", [("value", f.type)]))
        for f in msgspec.structs.fields(kind)
    ]
    for kind in REQUESTS
}


def _invalid(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, detail)


def request_components() -> dict[str, dict[str, Any]]:
    """The OpenAPI components of every request body, generated from the structs."""
    _, components = msgspec.json.schema_components(REQUESTS, ref_template="#/components/schemas/{name}")
    for name, extra in CROSS_FIELD_SCHEMAS.items():
        components[name] = {**components[name], **extra}
    return components
