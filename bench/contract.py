"""Micro-benchmark: the CPU cost of validating a request body, by hand or with a schema library.

    .venv/bin/python -m bench.contract [--number 50000] [--repeat 7]

What chose msgspec for the request structs (consent_service/web/schemas.py). From the bytes of a typical
`POST /v1/consent` body and of a `POST /v1/opt-out` body, as the route reads them, to the command the
service takes:

- hand: the parser before the structs (commit be7e579, copied below: orjson, then checks written by
  hand);
- msgspec: `consent_service.web.validation.parse_consent`, what the service runs now (one msgspec pass from
  bytes to the struct, then the command);
- msgspec, decode only: the struct alone, without building the command;
- pydantic: the same rules as a pydantic v2 model (`strict`, `extra="forbid"`), validated from the
  bytes by `model_validate_json`, with Python's `re` (the pattern's lookahead needs it) and with its
  default Rust regex engine (the same rule written with `$`, the end in that engine). The models do a
  little less than the struct (an explicit null is accepted), so their figures are a lower bound.

Then a refused body (the error path: the body is read again to name the field), and the decision
query, which stays hand-written: a query string is no JSON, and it is memoized by its bytes.
pydantic is not a dependency of the service (schemathesis brings it into the test environment); without
it, its lines are skipped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import orjson
from starlette.datastructures import QueryParams

try:
    import pydantic
except ImportError:  # not a dependency of the service
    pydantic = None

from bench.micro import cpu_time_per_call
from consent_service.core.errors import ApiError
from consent_service.core.vocab import Action, ErrorCode, Source
from consent_service.web.schemas import (
    MAX_ID_LENGTH,
    MAX_PURPOSES,
    PRINTABLE_TEXT,
    ConsentRequest,
    OptOutRequest,
    decode,
)
from consent_service.web.validation import (
    ConsentBody,
    OptOutBody,
    _parse_decision_query,
    parse_consent,
    parse_decision_query,
    parse_opt_out,
)

CONSENT = orjson.dumps(
    {
        "site": "demo",
        "action": "custom",
        "choices": {"analytics": True, "advertising": False, "personalization": True},
        "policy_version": "2026-01",
        "source": "banner",
        "gpc": False,
    }
)
OPT_OUT = orjson.dumps({"site": "demo", "source": "banner"})
REFUSED = orjson.dumps({"site": "demo", "action": "custom", "choices": {"analytics": "yes"}})
QUERY = b"site=demo&purpose=advertising&purpose=analytics"


# ---- the hand parser of before (commit be7e579: http.read_json_object + validation.parse_*) ------

_CLIENT_ACTIONS = (Action.ACCEPT_ALL, Action.REJECT_ALL, Action.CUSTOM)
_CLIENT_SOURCES = (Source.BANNER, Source.API)


def hand_consent(raw: bytes) -> ConsentBody:
    body = _hand_object(raw)
    _no_unknown(body, {"site", "action", "choices", "policy_version", "source", "gpc"})
    action = Action(_member(body.get("action"), "action", _CLIENT_ACTIONS))
    choices = body.get("choices")
    if action is Action.CUSTOM and choices is None:
        raise _invalid("`choices` is required with action `custom`")
    if choices is not None and not (isinstance(choices, dict) and all(isinstance(v, bool) for v in choices.values())):
        raise _invalid("`choices` must be an object of purpose → true/false")
    if choices is not None and (len(choices) > MAX_PURPOSES or any(len(k) > MAX_ID_LENGTH for k in choices)):
        raise _invalid(f"`choices` may name at most {MAX_PURPOSES} purposes")
    version = body.get("policy_version")
    if version is not None and (
        not isinstance(version, str) or not 0 < len(version) <= MAX_ID_LENGTH or not version.isprintable()
    ):
        raise _invalid(f"`policy_version` must be printable text of 1–{MAX_ID_LENGTH} characters")
    return ConsentBody(
        site=_site(body),
        action=action,
        choices=choices if action is Action.CUSTOM and choices is not None else {},
        policy_version=version,
        source=Source(_enum(body, "source", _CLIENT_SOURCES) or Source.API),
        gpc=_bool(body, "gpc"),
    )


def hand_opt_out(raw: bytes) -> OptOutBody:
    body = _hand_object(raw)
    _no_unknown(body, {"site", "source", "gpc"})
    return OptOutBody(
        site=_site(body), source=Source(_enum(body, "source", _CLIENT_SOURCES) or Source.API), gpc=_bool(body, "gpc")
    )


def _hand_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(ErrorCode.INVALID_JSON, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.INVALID_BODY, "the body must be a JSON object")
    return body


def _site(body: dict[str, Any]) -> str:
    site = body.get("site")
    if not isinstance(site, str) or not site:
        raise _invalid("`site` is required and must be a string")
    if len(site) > MAX_ID_LENGTH:
        raise _invalid(f"`site` must be at most {MAX_ID_LENGTH} characters")
    return site


def _enum(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(name)
    return None if value is None else _member(value, name, allowed)


def _member(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _invalid(f"`{name}` must be one of {', '.join(allowed)}")
    return str(value)


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise _invalid(f"`{name}` must be true or false")
    return value


def _no_unknown(body: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise _invalid(f"unknown field {unknown[0][:64]!r} (known: {', '.join(sorted(known))})")
    nulls = sorted(name for name, value in body.items() if value is None)
    if nulls:
        raise _invalid(f"`{nulls[0]}` must not be null (leave an optional field out)")


def _invalid(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_BODY, detail)


# ---- the same rules in pydantic v2 ------------------------------------------------------------


def pydantic_models() -> dict[str, Callable[[bytes], object]]:
    """name → a function validating a consent body from bytes (empty without pydantic)."""
    if pydantic is None:
        return {}
    purpose_name = Annotated[str, pydantic.StringConstraints(max_length=MAX_ID_LENGTH)]
    site_id = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]

    def model(engine: Literal["python-re", "rust-regex"], pattern: str) -> type[pydantic.BaseModel]:
        class Consent(pydantic.BaseModel):
            model_config = pydantic.ConfigDict(strict=True, extra="forbid", regex_engine=engine)
            site: site_id
            action: Literal["accept_all", "reject_all", "custom"]
            choices: Annotated[dict[purpose_name, bool], pydantic.Field(max_length=MAX_PURPOSES)] | None = None
            policy_version: (
                Annotated[str, pydantic.StringConstraints(min_length=1, max_length=64, pattern=pattern)] | None
            ) = None
            source: Literal["banner", "api"] = "api"
            gpc: bool = False

            @pydantic.model_validator(mode="after")
            def custom_names_purposes(self) -> Consent:
                if self.action == "custom" and not self.choices:
                    raise ValueError("`choices` is required with action `custom`")
                return self

        return Consent

    python_re = model("python-re", PRINTABLE_TEXT)
    # Rust's regex has no lookaround (its `$` is the very end) and no surrogates (never in its strings).
    rust = model("rust-regex", PRINTABLE_TEXT.replace(r"(?![\s\S])", "$").replace(r"\ud800-", r"\ue000-"))
    assert python_re.model_validate_json(CONSENT).policy_version == "2026-01"
    assert rust.model_validate_json(CONSENT).policy_version == "2026-01"
    return {
        "pydantic, model_validate_json (python-re)": python_re.model_validate_json,
        "pydantic, model_validate_json (rust-regex)": rust.model_validate_json,
    }


# ---- the decision query as a struct (for comparison only) ----------------------------------------


class DecisionQueryStruct(msgspec.Struct, forbid_unknown_fields=True):
    site: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
    purpose: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]], msgspec.Meta(
        min_length=1, max_length=MAX_PURPOSES
    )]  # fmt: skip
    gpc: list[str] = []


def struct_query(raw: bytes) -> DecisionQueryStruct:
    query = QueryParams(raw.decode("latin-1"))
    return msgspec.convert(
        {key: query.getlist(key) if key != "site" else query[key] for key in query}, DecisionQueryStruct
    )


# ---- timing --------------------------------------------------------------------------------------


_time = cpu_time_per_call  # one timing loop for the benchmarks (bench/micro.py)


def _refused(parse: Callable[[bytes], object]) -> Callable[[], object]:
    def run() -> None:
        try:
            parse(REFUSED)
        except ApiError:
            return
        raise AssertionError("the body was accepted")

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--number", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    assert hand_consent(CONSENT) == parse_consent(CONSENT), "the two parsers disagree"
    assert hand_opt_out(OPT_OUT) == parse_opt_out(OPT_OUT)
    assert _parse_decision_query(QUERY).purposes == tuple(struct_query(QUERY).purpose)
    steps: list[tuple[str, Callable[[], object]]] = [
        (f"POST /v1/consent body ({len(CONSENT)} bytes)", lambda: None),
        ("  hand: orjson + checks (before)", lambda: hand_consent(CONSENT)),
        ("  msgspec: parse_consent (now)", lambda: parse_consent(CONSENT)),
        ("  msgspec: decode only", lambda: decode(CONSENT, ConsentRequest)),
        *((f"  {name}", lambda f=f: f(CONSENT)) for name, f in pydantic_models().items()),
        (f"POST /v1/opt-out body ({len(OPT_OUT)} bytes)", lambda: None),
        ("  hand: orjson + checks (before)", lambda: hand_opt_out(OPT_OUT)),
        ("  msgspec: parse_opt_out (now)", lambda: parse_opt_out(OPT_OUT)),
        ("  msgspec: decode only", lambda: decode(OPT_OUT, OptOutRequest)),
        ("a refused consent body (`choices` not booleans)", lambda: None),
        ("  hand (before)", _refused(hand_consent)),
        ("  msgspec + naming the field (now)", _refused(parse_consent)),
        (f"GET /v1/decision query ({len(QUERY)} bytes)", lambda: None),
        ("  hand, memoized (what runs)", lambda: parse_decision_query(QUERY)),
        ("  hand, not memoized", lambda: _parse_decision_query(QUERY)),
        ("  QueryParams + msgspec.convert, not memoized", lambda: struct_query(QUERY)),
    ]
    versions = f"msgspec {msgspec.__version__}, orjson {orjson.__version__}"
    if pydantic is not None:
        versions += f", pydantic {pydantic.VERSION}"
    print(f"Python {sys.version.split()[0]}, {versions}; CPU µs per call, median of {args.repeat} x {args.number}")
    for name, func in steps:
        if not name.startswith(" "):
            print(name)
            continue
        print(f"{name:<52} {_time(func, args.number, args.repeat):>7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
