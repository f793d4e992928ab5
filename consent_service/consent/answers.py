"""The answer to a visitor: the decisions, the IAB privacy strings, Consent Mode and the device's
token, shaped once for the decision, the experience and every write.

The answers are TypedDicts: plain dicts at run time (orjson encodes them as it always did, nothing is
converted), checked by mypy wherever they are built or read. Their keys and types are the OpenAPI
document's (web/openapi.py: `DecisionAnswer`, `Experience`, `Decision`, `Purpose`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Literal, NotRequired, TypedDict, TypeVar

from consent_service.core.clock import DAY_MS
from consent_service.core.decision import Context, decide_all, sale_share_denied
from consent_service.core.iab import PrivacyStrings, parsed_sections, privacy_strings, tcf_strings
from consent_service.core.identity import DeviceTokens
from consent_service.core.model import Decision, DeviceRecord
from consent_service.core.partner import OutboxSpecs, SubjectKind
from consent_service.core.presentation import PurposeView, consent_mode
from consent_service.core.regions import is_us
from consent_service.core.signals import negotiate_language
from consent_service.core.tcf_signals import NOT_APPLICABLE, TcfSetup, TcfSignals, signals, tcf_applies
from consent_service.core.texts import LANGUAGES
from consent_service.core.visitor import Visitor
from consent_service.obs import metrics
from consent_service.stats.hooks import StatsHooks


class DecisionView(TypedDict):
    """One purpose's decision (`Decision`)."""

    allowed: bool
    reason: str  # a core.vocab.Reason value


class AnswerBase(TypedDict):
    """What every answer to a visitor holds (Answers.answer builds it), in the order it is built."""

    site: str
    region: str | None
    regime: str  # a core.vocab.Regime value
    gpc: bool  # the device's effective GPC state
    decisions: dict[str, DecisionView]  # purpose id → its decision
    gpp: str | None  # None outside the US and GDPR territory, or for a site without a sale/share purpose
    gpp_sid: list[int]
    usp: str
    consent_mode: dict[str, str]  # Google Consent Mode key → "granted" | "denied" (core.presentation)
    device: NotRequired[str]  # the device's token, when it has one
    partner_ids: NotRequired[dict[str, str]]  # partner → its pseudonym of the device; sites with partners
    # Present (False) only on an opt-out acknowledged while storage was unreachable (service.py).
    # Here rather than in DecisionAnswer: an experience is built from a decision answer's keys.
    stored: NotRequired[Literal[False]]
    tcf: NotRequired[str]  # the TC string, where TCF applies (a TCF site, the visitor in GDPR territory)
    deleted_at: NotRequired[int]  # ms: the device's data was deleted then (the banner tells USP deletion callbacks)


# The GPP sections as the CMP API's `getSection` gives them (core.iab.parsed_sections): each section's
# IAB field names with their values, decoded from the string rather than typed field by field.
GppParsed = dict[str, object]


class DecisionAnswer(AnswerBase):
    """The answer of the decision and of every write (`DecisionAnswer`): a write adds `gpp_parsed`
    and, on a TCF site, `tcf_data` (Answers.for_banner)."""

    gpp_parsed: NotRequired[GppParsed]
    tcf_data: NotRequired[dict[str, object]]


class ExperienceAnswer(AnswerBase):
    """Everything the banner needs (`Experience`): the decision answer, with `gpp_parsed` always, and
    the banner's own fields, in this order after the decision answer's."""

    language: str
    show: bool  # whether the banner should ask now
    policy_version: str
    gpc_lift: bool  # a later explicit opt-in may lift GPC on this site
    gpp_parsed: GppParsed
    tcf_data: NotRequired[dict[str, object]]  # a TCF site's TCData for `__tcfapi` (core/tcf_signals.py)
    texts: dict[str, str]  # core.texts.TEXT_KEYS → the text in `language`
    purposes: list[PurposeView]
    choices: dict[str, bool]  # the explicit choices still in force


# What an Outcome carries: a decision or experience answer, or (for `/v1/me`) a rights answer.
# Covariant: an Outcome is frozen, so an Outcome[DecisionAnswer] is an Outcome[Mapping[str, object]].
Body_co = TypeVar("Body_co", bound=Mapping[str, object], covariant=True)


@dataclass(frozen=True, slots=True)
class Outcome(Generic[Body_co]):
    body: Body_co
    device_token: str | None = None  # set as the site's `cs_device_<site>` cookie when not None
    deferred: Callable[[], Awaitable[None]] | None = None  # to run after the answer is sent
    opted_out: bool = False  # experience only: an opt-out of sale/sharing is in force (not an outage)
    tcf_data: dict[str, object] | None = None  # a TCF site's TCData, for the banner (for_banner)


class Answers:
    """Shapes answers; counts the decisions it answers (in /metrics, and in the statistics when asked)."""

    def __init__(
        self, tokens: DeviceTokens, partners: OutboxSpecs, stats: StatsHooks, tcf: TcfSetup | None = None
    ) -> None:
        self._tokens = tokens
        self._partners = partners
        self._stats = stats
        self._tcf = tcf

    def answer(
        self,
        visitor: Visitor,
        record: DeviceRecord | None,
        purposes: Iterable[str],
        new_token: str | None,
        *,
        unavailable: bool = False,
        deferred: Callable[[], Awaitable[None]] | None = None,
        counted: bool = False,  # a decision or experience answer: its decisions go into the statistics
        language: str | None = None,  # the banner's language (experience); else from Accept-Language
    ) -> Outcome[DecisionAnswer]:
        site = visitor.site
        ctx = Context(site, visitor.regime, record, visitor.gpc_now, visitor.now_ms, unavailable, visitor.policy)
        decisions = decide_all(ctx, purposes)
        metrics.count_decisions(site.id, decisions)
        if counted:
            self._stats.decisions(visitor, decisions)
        tcf = self._tcf_signals(visitor, ctx, decisions, language)
        strings = tcf_strings(tcf.tc_string) if tcf is not None else self._us_strings(visitor, ctx, decisions)
        body: DecisionAnswer = {
            "site": site.id,
            "region": visitor.region,
            "regime": visitor.regime.value,
            "gpc": ctx.gpc,
            "decisions": {pid: {"allowed": d.allowed, "reason": d.reason.value} for pid, d in decisions.items()},
            "gpp": strings.gpp,
            "gpp_sid": list(strings.gpp_sid),
            "usp": strings.usp,
            "consent_mode": consent_mode(site, decisions, ctx),
        }
        if tcf is not None:
            body["tcf"] = tcf.tc_string
        if record is not None and record.deleted_ms is not None:
            body["deleted_at"] = record.deleted_ms
        shown = new_token or visitor.token
        if shown is not None:
            body["device"] = shown
            if site.partners and (ids := self._partner_ids(visitor, shown)):
                body["partner_ids"] = ids
        tcf_data = None if site.tcf is None else tcf.data if tcf is not None else NOT_APPLICABLE
        return Outcome(body=body, device_token=new_token, deferred=deferred, tcf_data=tcf_data)

    @staticmethod
    def for_banner(outcome: Outcome[DecisionAnswer]) -> Outcome[DecisionAnswer]:
        """A write's answer as the banner reads it: the GPP sections decoded, and a TCF site's TCData."""
        outcome.body["gpp_parsed"] = parsed_sections(outcome.body["gpp"])
        if outcome.tcf_data is not None:
            outcome.body["tcf_data"] = dict(outcome.tcf_data)
        return outcome

    def tcf_audit(self, visitor: Visitor) -> dict[str, str]:
        """What a choice's audit entry adds where TCF applies: the vendor list it was made under (which
        vendors were disclosed, with which purposes), so the evidence names what the visitor was shown."""
        site = visitor.site
        if site.tcf is None or self._tcf is None or not tcf_applies(site, visitor.region):
            return {}
        return {"gvl": str(self._tcf.gvl().vendor_list_version)}

    @staticmethod
    def _us_strings(visitor: Visitor, ctx: Context, decisions: dict[str, Decision]) -> PrivacyStrings:
        site = visitor.site
        return privacy_strings(
            us=is_us(visitor.region),
            has_sale_share=site.has_sale_share,
            opted_out=sale_share_denied(ctx, decisions),
            gpc=ctx.gpc,
            mspa_signatory=site.mspa_signatory,
        )

    def _tcf_signals(
        self, visitor: Visitor, ctx: Context, decisions: dict[str, Decision], language: str | None
    ) -> TcfSignals | None:
        """The TC string where TCF applies. It needs the decision of every purpose the site's TCF
        mapping names, asked for or not (a decision for `advertising` alone still yields a whole
        string); its day is the last choice's, else today's."""
        site = visitor.site
        if site.tcf is None or self._tcf is None or not tcf_applies(site, visitor.region):
            return None
        mapped = {*site.tcf.purposes.values(), *site.tcf.special_features.values()} - decisions.keys()
        every = {**decisions, **decide_all(ctx, mapped)} if mapped else decisions
        record = ctx.record
        chosen = max((c.at_ms for c in record.choices.values()), default=None) if record else None
        day = (chosen if chosen is not None else visitor.now_ms) // DAY_MS
        lang = language or negotiate_language(visitor.accept_language, LANGUAGES)
        return signals(site, self._tcf.gvl(), every, cmp=self._tcf.cmp, language=lang, day=day)

    def _partner_ids(self, visitor: Visitor, token: str) -> dict[str, str]:
        """Each partner's pseudonym of this device (the `subject.id` of its events), for the page
        to hand to the partner's tag; never the token or our device id."""
        if visitor.device is not None and token == visitor.token:
            device_id: str | None = visitor.device[0]
        else:
            verified = self._tokens.verify(token, visitor.site.id)
            device_id = verified[0] if verified is not None else None
        return {} if device_id is None else self._partners.subjects(visitor.site.id, SubjectKind.DEVICE, device_id)
