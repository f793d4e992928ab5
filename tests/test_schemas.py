"""The request structs (consent_service/web/schemas.py): what they refuse, what a refusal says, and the
printable-text pattern, which the server runs with Python's `re` and /openapi.json publishes for
ECMA-262 readers: both must read it the same way."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from typing import Any

import jsonschema_rs
import msgspec
import orjson
import pytest

from consent_service.core.errors import ApiError
from consent_service.core.vocab import Action, RequestType, Source
from consent_service.web.openapi import openapi_document
from consent_service.web.schemas import (
    ACCOUNT_OR_DEVICE,
    CUSTOM_NEEDS_CHOICES,
    FIELD_RULES,
    PRINTABLE_NOT_BLANK,
    PRINTABLE_TEXT,
    REQUESTS,
    AgentRequest,
    ConsentRequest,
    LinkRequest,
    OptOutRequest,
    ReplayRequest,
    convert,
    decode,
)
from consent_service.web.validation import parse_agent_request, parse_consent

VALID = {"site": "demo", "action": "accept_all"}


def refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code.value, caught.value.detail


def test_printable_text_is_what_isprintable_allows_plus_unassigned_code_points() -> None:
    """Every code point, alone: the pattern takes exactly the printable ones (str.isprintable) and the
    ones Unicode has not assigned yet (category Cn). Exact on Python 3.11 (Unicode 14); a newer Python
    that fails here names the code points its Unicode made non-printable, to add to _NOT_TEXT.
    Surrogates aside: no decoded body holds one (below)."""
    printable = re.compile(PRINTABLE_TEXT)
    wrong = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF
        and bool(printable.search(chr(code))) != (chr(code).isprintable() or unicodedata.category(chr(code)) == "Cn")
    ]
    assert not wrong, wrong[:20]
    for surrogate in (b'"\\ud800"', b'"\\udfff"', b'"\\udc00x"', b'"\xed\xa0\x80"'):
        raw = b'{"site": "demo", "action": "accept_all", "policy_version": ' + surrogate + b"}"
        assert refusal(lambda r=raw: parse_consent(r))[0] == "invalid_json", raw


def test_rust_regex_validators_read_the_pattern_as_python_does() -> None:
    """schemathesis draws strings through jsonschema-rs (Rust's regex engines): a pattern it cannot
    compile is left out, and then any string is drawn as valid. That was the drift: it must compile."""
    samples = _samples()
    for pattern in (PRINTABLE_TEXT, PRINTABLE_NOT_BLANK):
        validator = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
        differ = [ascii(s) for s in samples if validator.is_valid(s) != bool(re.search(pattern, s))]
        assert not differ, differ[:20]


def test_the_end_of_the_pattern_is_the_end_of_the_text() -> None:
    # Python's `$` matches before a final newline: "v1\n" would pass a pattern ending in `$`.
    for text in ("v1\n", "v1\r\n", "\n", "v1\u2028", "v1\x00"):
        assert not re.search(PRINTABLE_TEXT, text), repr(text)
        assert not re.search(PRINTABLE_NOT_BLANK, text), repr(text)
    for text in ("", "v1", "2026-01 (EU)", "＝1+1", "\u0378", "😀", "\U000e0100"):
        assert re.search(PRINTABLE_TEXT, text), repr(text)
    for blank in ("", " ", "   "):
        assert not re.search(PRINTABLE_NOT_BLANK, blank), repr(blank)
    for text in ("a", "  Permission Slip  ", "PS-1"):
        assert re.search(PRINTABLE_NOT_BLANK, text), repr(text)


def _samples() -> list[str]:
    """Each non-text range's bounds and their neighbours, alone and inside text, and line ends (no
    surrogate: no decoded body holds one)."""
    codes = {0x20, 0x41, 0xE9, 0xFFFD, 0x1F600, 0x10FFFF}
    for match in re.finditer(r"\\u([0-9a-f]{4})", PRINTABLE_TEXT):
        code = int(match.group(1), 16)
        codes |= {code - 1, code, code + 1}
    for char in PRINTABLE_TEXT:
        if ord(char) > 0xFFFF:
            codes |= {ord(char) - 1, ord(char), ord(char) + 1}
    texts = [chr(c) for c in sorted(codes) if 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF]  # none decoded
    return [*texts, *(f"v{t}1" for t in texts), "v1\n", "\nv1", "v1\r\n", "", " ", "  x  "]


def test_ecma_262_reads_the_pattern_as_python_does() -> None:
    """/openapi.json is read by JavaScript validators too: Node runs the published patterns with the
    `u` flag (as JSON Schema tools do) on the same samples."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH (the project's test command installs it)", pytrace=False)
    samples = _samples()
    script = (
        "const {patterns, samples} = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(patterns.map(p => samples.map(s => new RegExp(p, 'u').test(s)))));"
    )
    patterns = [PRINTABLE_TEXT, PRINTABLE_NOT_BLANK]
    run = subprocess.run(
        [node, "-e", script],
        input=json.dumps({"patterns": patterns, "samples": samples}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    in_ecma = json.loads(run.stdout)
    for pattern, results in zip(patterns, in_ecma, strict=True):
        in_python = [bool(re.search(pattern, s)) for s in samples]
        differ = [repr(s) for s, py, js in zip(samples, in_python, results, strict=True) if py != js]
        assert not differ, differ[:20]
    assert "\\U" not in PRINTABLE_TEXT and "$" not in PRINTABLE_TEXT and "\\Z" not in PRINTABLE_TEXT


@pytest.mark.parametrize(
    ("raw", "code", "detail"),
    [
        (b"{not json", "invalid_json", "the body is not valid JSON"),
        (b"", "invalid_json", "the body is not valid JSON"),
        (b'{"site": 7, "action": ', "invalid_json", "the body is not valid JSON"),  # msgspec sees the 7 first
        (b"[" * 5000, "invalid_json", "the body is not valid JSON"),
        (b"[1, 2]", "invalid_body", "the body must be a JSON object"),
        (b"null", "invalid_body", "the body must be a JSON object"),
        (
            b'{"site": "demo", "action": "accept_all", "x": 1}',
            "invalid_body",
            "unknown field 'x' (known: action, choices, gpc, policy_version, site, source)",
        ),
        (
            b'{"site": "demo", "action": "accept_all", "policy_version": null}',
            "invalid_body",
            "`policy_version` must not be null (leave an optional field out)",
        ),
        (b'{"action": "accept_all"}', "invalid_body", FIELD_RULES["site"]),
        (b'{"site": 7, "action": "accept_all"}', "invalid_body", FIELD_RULES["site"]),
        (b'{"site": "", "action": "accept_all"}', "invalid_body", FIELD_RULES["site"]),
        (b'{"site": "demo", "action": "opt_out"}', "invalid_body", FIELD_RULES["action"]),
        (b'{"site": "demo", "action": "accept_all", "gpc": 1}', "invalid_body", FIELD_RULES["gpc"]),
        (b'{"site": "demo", "action": "accept_all", "gpc": "true"}', "invalid_body", FIELD_RULES["gpc"]),
        (b'{"site": "demo", "action": "accept_all", "source": "gpc"}', "invalid_body", FIELD_RULES["source"]),
        (b'{"site": "demo", "action": "custom", "choices": {"a": 1}}', "invalid_body", FIELD_RULES["choices"]),
        (b'{"site": "demo", "action": "custom", "choices": []}', "invalid_body", FIELD_RULES["choices"]),
        (
            orjson.dumps({"site": "demo", "action": "custom", "choices": {"x" * 65: True}}),
            "invalid_body",
            FIELD_RULES["choices"],
        ),
        (
            orjson.dumps({"site": "demo", "action": "custom", "choices": {f"p{i}": True for i in range(33)}}),
            "invalid_body",
            FIELD_RULES["choices"],
        ),
        (
            b'{"site": "demo", "action": "accept_all", "gpc": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            "invalid_body",
            FIELD_RULES["gpc"],
        ),
        (
            b'{"site": "demo", "action": "custom", "choices": ' + b'{"a": ' * 1000 + b"true" + b"}" * 1000 + b"}",
            "invalid_body",
            FIELD_RULES["choices"],
        ),
        (b'{"site": "demo", "action": "custom"}', "invalid_body", CUSTOM_NEEDS_CHOICES),
        (b'{"site": "demo", "action": "custom", "choices": {}}', "invalid_body", CUSTOM_NEEDS_CHOICES),
        (
            b'{"site": "demo", "action": "accept_all", "policy_version": "v1\\n"}',
            "invalid_body",
            FIELD_RULES["policy_version"],
        ),
        (
            b'{"site": "demo", "action": "accept_all", "policy_version": "\\u202ev1"}',
            "invalid_body",
            FIELD_RULES["policy_version"],
        ),
    ],
)
def test_a_refused_consent_body_names_its_field(raw: bytes, code: str, detail: str) -> None:
    assert refusal(lambda: parse_consent(raw)) == (code, detail)


def test_admin_bodies_are_refused_by_the_same_rules() -> None:
    link = {"site": "demo", "account_id": "u1", "device": "t"}
    assert refusal(lambda: convert({**link, "device": 7}, LinkRequest))[1] == FIELD_RULES["device"]
    assert refusal(lambda: convert({**link, "account_id": ""}, LinkRequest))[1] == FIELD_RULES["account_id"]
    assert refusal(lambda: convert({**link, "account_id": "x" * 257}, LinkRequest))[1] == FIELD_RULES["account_id"]
    agent = {"site": "demo", "type": "access", "agent": "Permission Slip", "reference": "PS-1"}
    assert refusal(lambda: convert(agent, AgentRequest))[1] == ACCOUNT_OR_DEVICE
    assert refusal(lambda: convert({**agent, "account_id": "a", "device": "t"}, AgentRequest))[1] == ACCOUNT_OR_DEVICE
    for blank in ("", "   ", "a\tb", "x" * 129):
        detail = refusal(lambda b=blank: convert({**agent, "account_id": "a", "agent": b}, AgentRequest))[1]
        assert detail == FIELD_RULES["agent"], repr(blank)
    assert refusal(lambda: convert({"site": "demo", "partner": 7}, ReplayRequest))[1] == FIELD_RULES["partner"]
    assert convert({"site": "demo"}, ReplayRequest).partner is msgspec.UNSET
    parsed = parse_agent_request({**agent, "account_id": "a", "agent": "  Permission Slip "}, 0)
    assert (parsed.agent, parsed.account_id, parsed.device, parsed.received_ms) == ("Permission Slip", "a", None, None)


def test_a_refusal_never_repeats_the_librarys_message() -> None:
    bodies: list[dict[str, object]] = [
        {**VALID, "policy_version": "\x00"},
        {**VALID, "policy_version": 7},
        {**VALID, "choices": {"a": "yes"}},
        {**VALID, "gpc": None},
        {"site": ["demo"], "action": "accept_all"},
        {"site": "demo", "action": {"nested": True}},
    ]
    for body in bodies:
        code, detail = refusal(lambda b=body: parse_consent(orjson.dumps(b)))
        assert code == "invalid_body"
        assert "Expected" not in detail and "$." not in detail and "regex" not in detail, detail


def test_every_field_has_its_rule_and_every_request_body_comes_from_a_struct() -> None:
    for kind in REQUESTS:
        for field in msgspec.structs.fields(kind):
            assert field.name in FIELD_RULES, (kind.__name__, field.name)
    doc = openapi_document()
    named = {
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for item in doc["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    }
    assert named == {kind.__name__ for kind in REQUESTS}
    generated = msgspec.json.schema_components(REQUESTS, ref_template="#/components/schemas/{name}")[1]
    for name, schema in generated.items():
        published = doc["components"]["schemas"][name]
        assert {k: v for k, v in published.items() if k in schema} == schema, name
        assert published["additionalProperties"] is False


def test_decoding_is_exact_about_types_and_defaults() -> None:
    body = decode(b'{"site": "demo", "action": "accept_all"}', ConsentRequest)
    assert (body.source, body.gpc, body.choices, body.policy_version) == ("api", False, msgspec.UNSET, msgspec.UNSET)
    assert decode(b'{"site": "demo", "gpc": true, "source": "banner"}', OptOutRequest) == OptOutRequest(
        site="demo", source="banner", gpc=True
    )
    for wrong in (b'{"site": "demo", "gpc": 0}', b'{"site": "demo", "gpc": "1"}', b'{"site": true}'):
        assert refusal(lambda w=wrong: decode(w, OptOutRequest))[0] == "invalid_body"


def test_the_structs_closed_sets_are_the_vocabularies() -> None:
    """The Literal values of the structs are members of vocab.py's enums, which the commands take."""
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["ConsentRequest"]["properties"]["action"]["enum"] == sorted(
        a.value for a in (Action.ACCEPT_ALL, Action.REJECT_ALL, Action.CUSTOM)
    )
    assert schemas["AgentRequest"]["properties"]["type"]["enum"] == sorted(RequestType)
    for name in ("ConsentRequest", "OptOutRequest"):
        assert schemas[name]["properties"]["source"]["enum"] == sorted((Source.API, Source.BANNER))
        assert schemas[name]["properties"]["source"]["type"] == "string"
