"""IAB TCF in the service's answers, through HTTP against a real Redis: the TC string (`tcf`), GPP's
section 2, the banner's TCData (`tcf_data`), where TCF applies and where it does not, and what the
banner's three buttons make of it; every string read back by IAB's `@iabtechlabtcf/core`."""

from __future__ import annotations

import logging
import time

import pytest
from redis import Redis
from starlette.testclient import TestClient

from consent_service.config.gvl_files import bundled_list
from consent_service.core.gvl import parse_gvl
from consent_service.core.iab import parsed_sections
from tests.conftest import CA, DE, AppFactory
from tests.gvl_server import Answer, GvlServer
from tests.test_gvl_source import gvl_json
from tests.test_tcf import reference_decode
from tests.test_tcf_config import SITE

GB = {"CloudFront-Viewer-Country": "GB"}
CH = {"CloudFront-Viewer-Country": "CH"}
BR = {"CloudFront-Viewer-Country": "BR"}
AD_PURPOSES = [1, 2, 3, 4, 7, 9, 10]  # the demo maps these to `advertising`


CMP_ID = 300  # any id IAB's library accepts (2 and up); a real deployment sets its registered one


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client(tcf_cmp_id=CMP_ID, tcf_cmp_version=7)


def experience(client: TestClient, headers: dict[str, str], **params: str) -> dict:
    r = client.get("/v1/sites/demo/experience", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def choose(client: TestClient, headers: dict[str, str], action: str, **extra: object) -> dict:
    r = client.post("/v1/consent", json={"site": "demo", "action": action, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def read(tc: str) -> dict:
    (got,) = reference_decode([tc])
    assert "error" not in got, got
    return got


def test_first_visit_in_germany_shows_the_banner_with_a_no_consent_string(client: TestClient) -> None:
    exp = experience(client, {**DE, "Accept-Language": "de"})
    assert exp["show"] is True and exp["gpp_sid"] == [2] and exp["gpp"] == "DBABMA~" + exp["tcf"]
    data = exp["tcf_data"]
    assert data["gdprApplies"] is True and data["tcString"] == exp["tcf"]
    got = read(exp["tcf"])
    assert got["purpose_consents"] == got["purpose_legitimate_interests"] == got["vendor_consents"] == []
    assert {32, 755} <= set(got["vendors_disclosed"]) and got["consent_language"] == "DE"
    assert got["policy_version"] == data["tcfPolicyVersion"] and exp["policy_version"].endswith("+tcf5")
    assert (got["cmp_id"], got["cmp_version"], data["cmpId"], data["cmpVersion"]) == (CMP_ID, 7, CMP_ID, 7)
    assert exp["gpp_parsed"]["tcfeuv2"]["VendorsDisclosed"] == got["vendors_disclosed"]


def test_accept_all_then_reject_all(client: TestClient) -> None:
    accepted = choose(client, DE, "accept_all")
    got = read(accepted["tcf"])
    assert got["purpose_consents"] == list(range(1, 12))
    assert 32 in got["vendor_consents"] and 755 in got["vendor_consents"]
    assert accepted["tcf_data"]["tcString"] == accepted["tcf"]  # the write's answer carries the banner's TCData
    assert accepted["tcf_data"]["vendor"]["consents"]["32"] is True
    assert accepted["gpp_parsed"] == parsed_sections(accepted["gpp"])
    # The decision endpoint (server-side callers) says the same.
    decided = client.get("/v1/decision", params={"site": "demo", "purpose": "advertising"}, headers=DE).json()
    assert decided["tcf"] == accepted["tcf"] and "tcf_data" not in decided
    assert experience(client, DE)["show"] is False

    rejected = choose(client, DE, "reject_all")
    got = read(rejected["tcf"])
    assert got["purpose_consents"] == got["purpose_legitimate_interests"] == []  # objects to every LI too
    assert got["vendor_consents"] == got["vendor_legitimate_interests"] == []


def test_customize_advertising_off(client: TestClient) -> None:
    answer = choose(client, DE, "custom", choices={"analytics": True, "personalization": True, "advertising": False})
    got = read(answer["tcf"])
    assert got["purpose_consents"] == [5, 6, 8, 11] and not set(AD_PURPOSES) & set(got["purpose_legitimate_interests"])


def test_gpc_wins_over_accept_all_in_the_tc_string(client: TestClient) -> None:
    answer = choose(client, {**DE, "Sec-GPC": "1"}, "accept_all")
    assert answer["decisions"]["advertising"] == {"allowed": False, "reason": "gpc"}
    got = read(answer["tcf"])
    assert not set(AD_PURPOSES) & set(got["purpose_consents"] + got["purpose_legitimate_interests"])
    assert 8 in got["purpose_consents"]  # analytics, which GPC does not cover
    assert answer["consent_mode"]["ad_storage"] == "denied"


def test_outside_gdpr_territory_no_tc_string_and_gdpr_does_not_apply(client: TestClient) -> None:
    for headers in (CA, BR, CH):  # BR is opt_in but not GDPR territory; CH only where the site says so
        exp = experience(client, headers)
        assert "tcf" not in exp and exp["tcf_data"] == {"gdprApplies": False}, headers
        assert 2 not in exp["gpp_sid"]
    us = experience(client, CA)
    assert us["gpp_sid"] == [7] and us["usp"] == "1YNN"  # the US side is unchanged
    uk = experience(client, GB)
    assert uk["tcf_data"]["gdprApplies"] is True and uk["gpp_sid"] == [2]


# A site of two optional purposes (`stats`: analytics, `ads`: advertising, sale/share), without TCF.
_NO_TCF = SITE.replace('id = "shop"', 'id = "demo"')

_SWISS = (
    _NO_TCF
    + """
[sites.tcf]
vendors = [32]
switzerland = true
publisher_cc = "CH"
"""
)


def test_without_a_registered_cmp_id_the_operator_is_told(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="consent_service.app"):
        client = make_client()  # the demo site, TCF on, CONSENT_TCF_CMP_ID not set
    assert "CONSENT_TCF_CMP_ID is not set" in caplog.text and "site(s) demo" in caplog.text
    assert experience(client, DE)["tcf_data"]["cmpId"] == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="consent_service.app"):
        registered = make_client(tcf_cmp_id=CMP_ID)
    assert "CONSENT_TCF_CMP_ID" not in caplog.text
    assert experience(registered, DE)["tcf_data"]["cmpId"] == CMP_ID


def test_a_site_without_tcf_has_no_tcf_fields(make_client: AppFactory) -> None:
    client = make_client(_NO_TCF)
    exp = experience(client, DE)
    assert "tcf" not in exp and "tcf_data" not in exp and exp["gpp"] is None and exp["gpp_sid"] == []
    assert exp["policy_version"] == "1"  # no TCF policy in it


def test_a_site_may_count_switzerland_and_its_purposes_follow_their_kind(make_client: AppFactory) -> None:
    client = make_client(_SWISS, tcf_cmp_id=CMP_ID)
    exp = experience(client, CH)
    assert exp["tcf_data"]["gdprApplies"] is True and exp["tcf_data"]["publisherCC"] == "CH"
    answer = client.post("/v1/consent", json={"site": "demo", "action": "accept_all"}, headers=CH).json()
    got = read(answer["tcf"])
    # By default the ad purposes follow the advertising kind, and 8 (content measurement) analytics.
    assert got["purpose_consents"] == sorted([*AD_PURPOSES, 8])
    assert got["vendor_consents"] == [32] and got["vendors_disclosed"] == [32]


def test_a_choice_made_under_another_policy_is_asked_again_where_tcf_applies(client: TestClient) -> None:
    choose(client, DE, "accept_all", policy_version="2026-11")  # the site's version, without the TCF policy
    exp = experience(client, DE)
    assert exp["show"] is True and exp["decisions"]["advertising"]["reason"] == "no_consent"
    assert read(exp["tcf"])["purpose_consents"] == []
    assert experience(client, CA)["decisions"]["advertising"]["reason"] == "consent"  # not re-asked elsewhere


def test_the_audit_names_the_vendor_list_a_choice_was_made_under(client: TestClient, redis_client: Redis) -> None:
    choose(client, DE, "accept_all")
    choose(client, CA, "reject_all")
    entries = [e for key in redis_client.scan_iter(match="*:audit") for _, e in redis_client.xrange(key)]
    by_action = {e["a"]: e for e in entries}
    assert by_action["accept_all"]["gvl"] == str(parse_gvl(bundled_list()).vendor_list_version)
    assert by_action["accept_all"]["pv"].endswith("+tcf5")
    assert "gvl" not in by_action["reject_all"]  # California: TCF does not apply


def _fetched(client: TestClient, version: int) -> None:
    for _ in range(300):  # the app's background task fetches the list (bounded: 30 s)
        if client.get("/readyz").json()["gvl"] == {"version": version, "policy_version": 6, "source": "fetched"}:
            return
        time.sleep(0.1)
    raise AssertionError(client.get("/readyz").json())


def test_a_new_tcf_policy_version_from_the_vendor_list_asks_again(make_client: AppFactory) -> None:
    """The list fetched from a (loopback) GVL URL brings TCF policy 6: a consent given under policy 5
    lapses in GDPR territory (the banner asks again, the string grants nothing), not in California."""
    server = GvlServer()
    try:
        server.set("/v3/vendor-list.json", Answer(gvl_json(40, policy=6)))
        before = make_client(tcf_cmp_id=CMP_ID)  # the bundled list: policy 5
        token = choose(before, DE, "accept_all")["device"]
        assert experience(before, {**DE, "X-Consent-Device": token})["show"] is False
        after = make_client(tcf_cmp_id=CMP_ID, gvl_url=server.url("/v3/vendor-list.json"))
        _fetched(after, 40)
        exp = experience(after, {**DE, "X-Consent-Device": token})
        assert exp["show"] is True and exp["policy_version"].endswith("+tcf6")
        assert exp["decisions"]["advertising"]["reason"] == "no_consent"
        got = read(exp["tcf"])
        assert got["purpose_consents"] == [] and (got["policy_version"], got["vendor_list_version"]) == (6, 40)
        assert experience(after, {**CA, "X-Consent-Device": token})["decisions"]["advertising"]["reason"] == "consent"
        again = choose(after, {**DE, "X-Consent-Device": token}, "accept_all", policy_version=exp["policy_version"])
        assert read(again["tcf"])["purpose_consents"] == list(range(1, 12))
    finally:
        server.close()
