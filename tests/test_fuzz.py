"""Fuzzing: schemathesis against the service's own /openapi.json, in-process, with a real Redis.

Every operation of the document gets generated requests, valid ones (positive) and invalid ones
(negative), and every answer must pass schemathesis's checks: no 5xx, a documented status code, a
documented content type, a body and headers matching the document, and invalid input refused with
a 4xx. At least 1,000 cases run, and the count is asserted.

Reproducible and bounded by counting, never by a clock: Hypothesis is derandomized (the same cases
on every run, no example database) and runs `FUZZ_EXAMPLES` cases per operation and mode (default
45) with no deadline, so a slow or busy machine runs the same cases and only takes longer (a clock
inside a Hypothesis run makes what it generates depend on speed: "Inconsistent data generation").
A hung request still fails: the app times every Redis call out (writes after 2 s). To search
longer locally, raise the count, and try other cases with a seed (`FUZZ_SEED`) or one operation
(`FUZZ_ONLY`, a part of its label):

    FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest -q -s tests/test_fuzz.py
    FUZZ_SEED=7 FUZZ_ONLY=agent-requests .venv/bin/python -m pytest -q -s tests/test_fuzz.py -k every_operation

Generated requests are steered towards what reaches the service's logic: mostly the configured
site `demo` (a random name is only a 404), the admin key on admin calls (some go without one or
with a wrong one: 401 is documented too), real devices' tokens and their accounts, the site's
purposes; the rest stay as generated.

Below: a deterministic table of hostile input (malformed JSON, wrong types, 1 MB bodies, unknown
sites and purposes, forged tokens, NUL, bidi overrides, control characters, emoji and long strings
in every field) that must get a 4xx JSON error and change nothing in Redis; then one regression
test for each bug the fuzzer found, with its input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from consent_service.config.settings import Settings
from consent_service.config.sites import load_sites
from consent_service.core.vocab import ErrorCode
from consent_service.web.app import create_app
from tests.conftest import TEST_KEYS, AppFactory, snapshot, tampered

ADMIN_KEY = "fuzz-admin-key-" + "z" * 32
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
OTHER_SITE_KEY = "fuzz-shop-key-" + "s" * 32  # a key for another site only
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "45"))
SEED = os.environ.get("FUZZ_SEED")
ONLY = os.environ.get("FUZZ_ONLY")  # fuzz only the operations whose label contains this (local debugging)
MIN_CASES = 1000
DEMO_PURPOSES = ["necessary", "analytics", "advertising", "personalization"]
ACCOUNTS = ["user-1", "user-2", "user/3 é"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def fuzz_app(settings: Settings) -> Iterator[Starlette]:
    # Rate limits high enough that generated writes reach the logic (the limiter still runs).
    fuzz_settings = dataclasses.replace(
        settings,
        admin_keys=((ADMIN_KEY, frozenset({"*"})),),
        rate_limit_device="100000/minute",
        rate_limit_client="100000/minute",
    )
    app = create_app(fuzz_settings, load_sites(None), TEST_KEYS)
    yield app
    # schemathesis runs the app's lifespan (and so its Redis clients) on its own event-loop thread.
    asgi.shutdown_lifespans()


def _real_tokens(app: Starlette) -> list[str]:
    """Tokens of devices that exist (opted out, consented, GPC), each linked to one of ACCOUNTS."""
    tokens = []
    with asgi.get_client(app) as client:
        for path, body, headers in [
            ("/v1/opt-out", {"site": "demo"}, {}),
            ("/v1/consent", {"site": "demo", "action": "accept_all"}, {}),
            ("/v1/consent", {"site": "demo", "action": "custom", "choices": {"analytics": True}}, {"Sec-GPC": "1"}),
        ]:
            r = client.post(path, json=body, headers=headers)
            assert r.status_code == 200, r.text
            tokens.append(r.json()["device"])
        for account, token in zip(ACCOUNTS, tokens, strict=True):
            r = client.post(
                "/v1/admin/accounts/link",
                json={"site": "demo", "account_id": account, "device": token},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            assert r.status_code == 200, r.text
    return tokens


def _steer(case: Any, rnd: random.Random, tokens: list[str], negative: bool) -> None:
    """Point most cases at what reaches the logic: the configured site, real devices and accounts, the
    admin key, plain agent names. The rest stay as generated. In a negative case only values that
    are valid as generated are replaced, so the case stays invalid."""

    def swap(where: object, key: str, value: object, share: float, valid: Callable[[Any], bool]) -> None:
        if isinstance(where, dict) and key in where and rnd.random() < share and (not negative or valid(where[key])):
            where[key] = value

    def text(limit: int) -> Callable[[Any], bool]:
        return lambda v: isinstance(v, str) and 0 < len(v) <= limit

    for where in (case.query, case.body, case.path_parameters):
        swap(where, "site", "demo", 0.9, text(64))
    pick = rnd.randrange(len(tokens))  # a device and the account it was linked to (unlink finds them)
    swap(case.path_parameters, "account_id", ACCOUNTS[pick], 0.5, text(256))
    body = case.body
    swap(body, "account_id", ACCOUNTS[pick], 0.5, text(256))
    swap(body, "device", tokens[pick], 0.7, text(256))
    if not negative:
        swap(body, "agent", "Permission Slip", 0.7, bool)
        swap(body, "reference", f"PS-{rnd.randrange(100)}", 0.7, bool)
        swap(body, "received", dt.datetime.now(dt.UTC).date().isoformat(), 0.7, bool)
        swap(case.query, "purpose", rnd.sample(DEMO_PURPOSES, rnd.randint(1, 4)), 0.7, bool)
        choices = {p: rnd.random() < 0.5 for p in rnd.sample(DEMO_PURPOSES, rnd.randint(1, 4))}
        swap(body, "choices", choices, 0.7, bool)
    headers = case.headers if isinstance(case.headers, dict) else {}
    if any(p.name == "X-Consent-Device" for p in case.operation.headers) and rnd.random() < 0.7:
        headers["X-Consent-Device"] = rnd.choice(tokens)
    if case.operation.path.startswith("/v1/admin/"):
        headers.pop("Authorization", None)
        auth = rnd.random()
        if auth < 0.85:
            headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        elif auth < 0.93:
            headers["Authorization"] = "Bearer " + "w" * 40  # a wrong key; the rest go without one
    case.headers = headers


def _takes_input(operation: Any) -> bool:
    parts = (operation.path_parameters, operation.query, operation.headers, list(operation.body))
    return any(len(part) for part in parts)


def _run(operation: Any, mode: GenerationMode, tokens: list[str], seen: Counter[str]) -> int:
    """Fuzz one operation in one mode; the number of requests sent. Raises what the checks found."""
    ran = 0
    negative = mode is GenerationMode.NEGATIVE
    checks = [*CHECKS, negative_data_rejection] if negative else CHECKS

    def test(case: Any, rnd: random.Random) -> None:
        nonlocal ran
        _steer(case, rnd, tokens, negative)
        response = case.call()
        ran += 1
        seen[f"{operation.label} {response.status_code}"] += 1
        case.validate_response(response, checks=checks)

    settings = hypothesis_settings(
        # An operation without parameters has a single request to send: a few are enough.
        max_examples=EXAMPLES if _takes_input(operation) else 3,
        deadline=None,  # no clock in the run: its cases must not depend on the machine's speed
        database=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    run = settings(given(case=operation.as_strategy(mode), rnd=st.randoms(use_true_random=False))(test))
    if SEED is not None:
        run = seed(int(SEED))(run)
    run()
    return ran


@pytest.mark.standalone_only  # the HTTP contract; the cluster runs the rest of the suite
# The app's background upkeep (maintenance.py) draws its jitter from `random` on schemathesis's
# event-loop thread; Hypothesis sees the global state move during a draw and warns (not our strategies).
def test_fuzz_every_operation(fuzz_app: Starlette) -> None:
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)  # starts the app's lifespan
    tokens = _real_tokens(fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {(method.upper(), path) for path, item in schema.raw_schema["paths"].items() for method in item}
    assert {(op.method.upper(), op.path) for op in operations} == documented
    if ONLY:
        operations = [op for op in operations if ONLY in op.label]
    seen: Counter[str] = Counter()
    cases = 0
    failures: list[str] = []
    for operation in operations:
        modes = (
            [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if _takes_input(operation) else [GenerationMode.POSITIVE]
        )
        for mode in modes:
            try:
                cases += _run(operation, mode, tokens, seen)
            except (Exception, BaseExceptionGroup) as exc:  # every operation is fuzzed, failures reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    elapsed = time.monotonic() - started
    print(f"fuzz: {cases} cases over {len(operations)} operations in {elapsed:.1f}s")  # shown with -s
    for key, n in sorted(seen.items()):
        print(f"  {n:5d}  {key}")
    assert not failures, "\n\n".join(failures)
    if not ONLY:
        assert cases >= MIN_CASES, f"only {cases} cases ran"
    assert all(f"{op.label} 200" in seen for op in operations), "every operation answered 200 at least once"


# ---- hostile input, deterministically: a clear 4xx JSON error, and nothing changes ---------------

HOSTILE = {
    "nul": "demo\x00",
    "only nul": "\x00",
    "rtl override": "\u202edemo",
    "bom": "\ufeffdemo",
    "emoji": "demo\U0001f600",
    "long": "x" * 1000,
    "empty": "",
    "control": "demo\x1b[31m",
    "newline": "demo\r\nX-Injected: 1",
}
WRONG_TYPES: list[object] = [None, 1, 1.5, True, [], {}, ["demo"], {"site": "demo"}]
MALFORMED = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"demo"',
    b"1",
    b"\xff\xfe{}",
    b'{"site": NaN}',
    b"[" * 5000,
    b"{'site': 'demo'}",
]
BODIES: dict[str, dict[str, object]] = {  # a valid body of each; "<token>": a real device's token
    "/v1/consent": {"site": "demo", "action": "custom", "choices": {"analytics": True}, "policy_version": "1"},
    "/v1/opt-out": {"site": "demo", "source": "banner"},
    "/v1/admin/accounts/link": {"site": "demo", "account_id": "user-1", "device": "<token>"},
    "/v1/admin/accounts/unlink": {"site": "demo", "account_id": "user-1", "device": "<token>"},
    "/v1/admin/agent-requests": {
        "site": "demo",
        "account_id": "user-1",
        "type": "access",
        "agent": "Permission Slip",
        "reference": "PS-1",
        "received": "2026-01-01",
    },
}
QUERIES: dict[str, dict[str, str]] = {
    "/v1/decision": {"site": "demo", "purpose": "analytics"},
    "/v1/me": {"site": "demo"},
    "/v1/admin/audit": {"site": "demo", "from": "2026-01-01", "to": "2026-02-01", "format": "csv"},
    "/v1/admin/request-metrics": {"site": "demo", "year": "2026"},
}
OPTIONAL = {"policy_version", "source", "received"}
FREE_TEXT = {"policy_version", "agent", "reference"}  # printable text: emoji and every script are valid there
ANY_STRING = {"account_id"}  # only ever hashed: any string is a valid account id (by design)
Request = tuple[str, str, str, dict[str, Any]]  # label, method, url, httpx keyword arguments


@pytest.fixture
def admin_client(make_client: AppFactory) -> TestClient:
    # No rate limits here: their counters are writes too, and this test is about input.
    keys = ((ADMIN_KEY, frozenset({"*"})), (OTHER_SITE_KEY, frozenset({"shop"})))
    return make_client(admin_keys=keys, rate_limit_device=None, rate_limit_client=None)


def _seed(client: TestClient) -> str:
    """State to keep unchanged: an opted-out device linked to an account, and a consent."""
    token: str = client.post("/v1/opt-out", json={"site": "demo"}).json()["device"]
    client.post("/v1/consent", json={"site": "demo", "action": "accept_all"})
    body = {"site": "demo", "account_id": "user-1", "device": token}
    assert client.post("/v1/admin/accounts/link", json=body, headers=ADMIN).status_code == 200
    client.cookies.clear()
    return token


def _refused(token: str) -> Iterator[Request]:
    """Every hostile input the service must refuse with a 4xx."""
    for path, base in BODIES.items():
        auth = ADMIN if "/admin/" in path else {}
        valid = {k: token if v == "<token>" else v for k, v in base.items()}
        for raw in [*MALFORMED, b'{"site": "demo", "pad": "' + b"x" * 1_000_000 + b'"}']:  # and 1 MB
            yield f"body {raw[:12]!r}", "POST", path, {"content": raw, "headers": auth}
        yield "unknown field", "POST", path, {"json": {**valid, "extra": 1}, "headers": auth}
        for field in valid:
            if field not in OPTIONAL:
                body = {k: v for k, v in valid.items() if k != field}
                yield f"without {field}", "POST", path, {"json": body, "headers": auth}
            for wrong in WRONG_TYPES:
                yield f"{field}={wrong!r}", "POST", path, {"json": {**valid, field: wrong}, "headers": auth}
            for name, value in HOSTILE.items():
                if field not in ANY_STRING and not (field in FREE_TEXT and name == "emoji"):
                    yield f"{field} {name}", "POST", path, {"json": {**valid, field: value}, "headers": auth}
    for name, value in HOSTILE.items():
        for key in ("x" + value, value):  # a choice naming no purpose of the site
            body = {"site": "demo", "action": "custom", "choices": {key: True}}
            yield f"choices key {name}", "POST", "/v1/consent", {"json": body}
        for path, params in QUERIES.items():
            for field in params:
                yield f"{field} {name}", "GET", path, {"params": {**params, field: value}, "headers": ADMIN}
        if value:
            yield f"site {name}", "GET", f"/v1/sites/{quote(value, safe='')}/experience", {}
        if not any(c in value for c in "\r\n\x00"):  # no HTTP/1.1 server lets these through in a header
            for method in ("GET", "DELETE"):  # no valid token: nothing is held for this browser
                headers = {"X-Consent-Device": value.encode()}
                yield f"token {name}", method, "/v1/me", {"params": {"site": "demo"}, "headers": headers}
            headers = {"Authorization": f"Bearer {value}".encode()}
            yield (
                f"admin key {name}",
                "GET",
                "/v1/admin/request-metrics",
                {"params": {"site": "demo"}, "headers": headers},
            )
    for forged in (tampered(token), token.replace(".", "!"), "a.b.c", token + "x" * 300):
        for method in ("GET", "DELETE"):
            headers = {"X-Consent-Device": forged}
            yield "forged token", method, "/v1/me", {"params": {"site": "demo"}, "headers": headers}
        for path in ("/v1/admin/accounts/link", "/v1/admin/accounts/unlink"):
            body = {"site": "demo", "account_id": "user-1", "device": forged}
            yield "forged token", "POST", path, {"json": body, "headers": ADMIN}
    for origin in ("https://evil.example", "null"):
        for path, body in [
            ("/v1/consent", {"site": "demo", "action": "accept_all"}),
            ("/v1/opt-out", {"site": "demo"}),
        ]:
            yield f"origin {origin}", "POST", path, {"json": body, "headers": {"Origin": origin}}
        for method in ("GET", "DELETE"):
            headers = {"Origin": origin, "X-Consent-Device": token}
            yield f"origin {origin}", method, "/v1/me", {"params": {"site": "demo"}, "headers": headers}
    for method in ("GET", "DELETE"):
        headers = {"Authorization": f"Bearer {OTHER_SITE_KEY}"}
        yield (
            "another site's key",
            method,
            "/v1/admin/accounts/user-1",
            {"params": {"site": "demo"}, "headers": headers},
        )


def _answered_without_a_write() -> Iterator[Request]:
    """Hostile values where any string is valid: a forged token is a new visitor (no GPC: nothing
    to record), an unknown region header the site's default region, an unknown language English."""
    for name, value in HOSTILE.items():
        if any(c in value for c in "\r\n\x00"):
            continue
        for header in ("X-Consent-Device", "Sec-GPC", "CloudFront-Viewer-Country", "CF-IPCountry", "Accept-Language"):
            headers = {header: value.encode()}
            yield f"{header} {name}", "GET", "/v1/decision", {"params": QUERIES["/v1/decision"], "headers": headers}
            yield (
                f"{header} {name}",
                "GET",
                "/v1/sites/demo/experience",
                {"params": {"lang": value}, "headers": headers},
            )


def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(
    admin_client: TestClient, redis_client: redis.Redis
) -> None:
    token = _seed(admin_client)
    before = snapshot(redis_client)
    assert before  # there is something to keep
    answered: Counter[int] = Counter()
    for label, method, url, kwargs in _refused(token):
        r = admin_client.request(method, url, **kwargs)
        answered[r.status_code] += 1
        assert 400 <= r.status_code < 500, (method, url, label, r.status_code, r.text)
        assert r.headers["content-type"] == "application/json", (url, label)
        body = r.json()
        assert set(body) == {"error", "detail"} and body["error"] in set(ErrorCode) and body["detail"], (label, body)
        assert "set-cookie" not in r.headers, (url, label)
    for label, method, url, kwargs in _answered_without_a_write():
        r = admin_client.request(method, url, **kwargs)
        assert r.status_code == 200 and "device" not in r.json(), (url, label, r.text)
        assert r.json()["gpc"] is False, (url, label)  # no header value but "1" is a GPC signal
    assert snapshot(redis_client) == before
    assert sum(answered.values()) > 400 and {400, 401, 403, 404, 413, 422} <= set(answered), answered


# ---- regressions: each found by the fuzzer, with its exact input ----------------------------------


def test_non_ascii_digits_are_a_400_not_a_500(admin_client: TestClient) -> None:
    """str.isdigit() is true for "²" and "１", which int() refuses or reads: a 500 before."""
    for url, params in [
        ("/v1/admin/audit", {"site": "demo", "from": "²"}),
        ("/v1/admin/audit", {"site": "demo", "to": "１２３"}),
        ("/v1/admin/request-metrics", {"site": "demo", "year": "²⁰²⁶"}),
        ("/v1/admin/request-metrics", {"site": "demo", "year": "２０２６"}),
    ]:
        r = admin_client.get(url, params=params, headers=ADMIN)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), (params, r.text)
    body = {"site": "demo", "account_id": "u", "type": "access", "agent": "a", "reference": "r", "received": "³"}
    r = admin_client.post("/v1/admin/agent-requests", json=body, headers=ADMIN)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), r.text


def test_null_is_not_an_absent_field(admin_client: TestClient, redis_client: redis.Redis) -> None:
    """The document says string (or object); null was taken as absent and the change recorded."""
    for path, body in [
        (
            "/v1/consent",
            {
                "action": "reject_all",
                "policy_version": None,
                "site": "demo",
                "choices": {"gÚ¨": False},
                "source": "api",
            },
        ),
        ("/v1/consent", {"site": "demo", "action": "accept_all", "choices": None}),
        ("/v1/opt-out", {"site": "demo", "source": None}),
    ]:
        r = admin_client.post(path, json=body)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), (body, r.text)
    body = {"site": "demo", "account_id": "u", "device": None, "type": "access", "agent": "a", "reference": "r"}
    r = admin_client.post("/v1/admin/agent-requests", json=body, headers=ADMIN)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), r.text
    assert redis_client.dbsize() == 0


def test_empty_admin_query_values_are_refused_not_defaulted(admin_client: TestClient) -> None:
    """`format=` answered JSON lines although the document allows only jsonl and csv."""
    for url, params in [
        ("/v1/admin/audit", {"site": "demo", "format": ""}),
        ("/v1/admin/audit", {"site": "demo", "from": ""}),
        ("/v1/admin/request-metrics", {"site": "demo", "year": ""}),
    ]:
        r = admin_client.get(url, params=params, headers=ADMIN)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), (params, r.text)
    assert admin_client.get("/v1/admin/audit", params={"site": "demo"}, headers=ADMIN).status_code == 200


def test_audit_to_zero_is_1970_not_now(admin_client: TestClient) -> None:
    admin_client.post("/v1/opt-out", json={"site": "demo"})
    everything = admin_client.get("/v1/admin/audit", params={"site": "demo"}, headers=ADMIN)
    assert everything.status_code == 200 and everything.text.count("\n") == 1
    r = admin_client.get("/v1/admin/audit", params={"site": "demo", "to": "0"}, headers=ADMIN)
    assert r.status_code == 200 and r.text == ""


def test_policy_version_is_printable_text(admin_client: TestClient, redis_client: redis.Redis) -> None:
    """A stored and exported field: a NUL or a bidi override was recorded as sent."""
    for version in ["2026\u202e11", "2026\x0011", "\x1b[31m"]:
        body = {"site": "demo", "action": "accept_all", "policy_version": version}
        r = admin_client.post("/v1/consent", json=body)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_body"), version
    assert redis_client.dbsize() == 0
    ok = admin_client.post("/v1/consent", json={"site": "demo", "action": "accept_all", "policy_version": "v2 ✓"})
    assert ok.status_code == 200


def test_a_deleted_device_can_be_linked_again(admin_client: TestClient) -> None:
    """Its tombstone has no audit reference any more: the link script failed on it, a 503 forever."""
    token = admin_client.post("/v1/opt-out", json={"site": "demo"}).json()["device"]
    admin_client.cookies.clear()
    device = {"X-Consent-Device": token}
    assert admin_client.delete("/v1/me", params={"site": "demo"}, headers=device).status_code == 200
    body = {"site": "demo", "account_id": "user-1", "device": token}
    r = admin_client.post("/v1/admin/accounts/link", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json() == {"site": "demo", "linked": True, "account_opted_out": True, "devices": 1}
    audit = admin_client.get("/v1/admin/audit", params={"site": "demo"}, headers=ADMIN).text.splitlines()
    actions = [orjson.loads(line)["action"] for line in audit]
    assert actions.index("link") > actions.index("delete"), actions  # recorded, after the deletion
