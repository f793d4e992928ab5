"""The privacy notice page (`GET /privacy/{site}/notice`), rendered from the site's configuration.

Everything the decisions depend on comes from the same objects the decisions use: the list of
purposes, their labels and whether each is sold or shared (`Purpose.sale_share`), the consent
lifetime, and the retention settings. The notice's own table adds only categories, sources,
recipients, contact and dates. So what the page says and what the service does cannot drift apart.

Every purpose row carries `data-purpose` and `data-sold-shared`, and every category and recipient
row `data-category` / `data-recipient` with `data-sold-shared`, so tests (and auditors' tools) can
check the page against the configuration and the decisions by machine.

This module derives what the page says (plain data: rows, lists, flags); the template,
web/templates/pages/notice.html, words and marks it up, every string escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from consent_service.config.catalogs import texts_for
from consent_service.core.notice import Collected, InfoCategory, Notice, Recipient
from consent_service.core.site import Site, sold_or_shared
from consent_service.web.pages.texts import LANGUAGE_NAMES, page_texts_for, plurals_for
from consent_service.web.templating import render


@dataclass(frozen=True, slots=True)
class Retention:
    """How long the service keeps its own records (from Settings), so the notice states the periods
    that are enforced rather than a copy that could go stale."""

    opt_out_days: int  # opt-outs, history and audit entries (CONSENT_RETENTION_DAYS)
    record_days: int  # other records after the last visit (CONSENT_RECORD_TTL_DAYS)


class _Text(Protocol):
    """A label and description in one language: the purposes' texts and the notice's alike."""

    @property
    def label(self) -> str: ...

    @property
    def description(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CollectedRow:
    """A category of personal information: its statutory category, sources, purposes and retention."""

    id: str
    label: str
    description: str
    category: str  # the statutory category's text
    sources: list[str]  # the sources' texts
    used_for: list[str]  # purpose labels
    sold: bool
    retention_days: int | None


@dataclass(frozen=True, slots=True)
class PurposeRow:
    id: str
    label: str
    description: str
    information: list[str]  # category labels
    recipients: list[str]  # recipient labels
    sold: bool


@dataclass(frozen=True, slots=True)
class RecipientRow:
    id: str
    label: str
    description: str
    used_for: list[str]  # purpose labels
    information: list[str]  # category labels
    sold: bool


@dataclass(frozen=True, slots=True)
class Sale:
    """What is sold or shared: the purposes, the categories and the recipients (labels)."""

    purposes: list[str]
    categories: list[str]
    recipients: list[str]


@dataclass(frozen=True, slots=True)
class _Labels:
    """The configured texts in the reader's language, else English (which the config requires)."""

    site: Site
    language: str

    def text(self, texts: Mapping[str, _Text]) -> _Text:
        return texts.get(self.language) or texts["en"]

    def of(self, items: Iterable[Collected | Recipient]) -> list[str]:
        return [self.text(item.text).label for item in items]

    def purposes(self, ids: Iterable[str]) -> list[str]:
        return [self.text(self.site.purposes[pid].text).label for pid in ids]


def render_notice(site: Site, notice: Notice, language: str, retention: Retention) -> str:
    """The whole notice as an HTML document, every configured string escaped."""
    labels, own = _Labels(site, language), notice.text_for(language)
    p = page_texts_for(language)
    return render(
        "pages/notice.html",
        language=language,
        site=site.id,
        p=p,
        plural=plurals_for(language),
        t=texts_for(language, site.texts),
        languages=LANGUAGE_NAMES,
        business=notice.business,
        updated=notice.last_updated.isoformat(),
        intro=_paragraphs(own.intro),
        has_sale_share=site.has_sale_share,
        collected=[_collected(labels, c, p) for c in notice.collected],
        purposes=_purposes(labels, notice),
        recipients=[_recipient(labels, notice, r) for r in notice.recipients],
        sale=_sale(labels, notice),
        sells_under_16=notice.sells_under_16,
        own_retention=_paragraphs(own.retention),
        kept=_kept(site, retention),
        has_sensitive=any(c.category is InfoCategory.SENSITIVE for c in notice.collected),
        gpc_lift=site.gpc_lift_by_opt_in,
        contact=_contact(notice),
        more=_paragraphs(own.extra) if own.extra else None,
    )


def _collected(labels: _Labels, c: Collected, p: Mapping[str, str]) -> CollectedRow:
    text = labels.text(c.text)
    return CollectedRow(
        id=c.id,
        label=text.label,
        description=text.description,
        category=p[f"category_{c.category.value}"],
        sources=[p[f"source_{s.value}"] for s in c.sources],
        used_for=labels.purposes(c.purposes),
        sold=sold_or_shared(c.purposes, labels.site.purposes),
        retention_days=c.retention_days or None,
    )


def _purposes(labels: _Labels, notice: Notice) -> list[PurposeRow]:
    """Every purpose of the site, in its configured order, sold/shared exactly when `sale_share` is."""
    rows = []
    for pid, purpose in labels.site.purposes.items():
        text = labels.text(purpose.text)
        categories, recipients = labels.of(notice.collected_for(pid)), labels.of(notice.recipients_for(pid))
        rows.append(PurposeRow(pid, text.label, text.description, categories, recipients, purpose.sale_share))
    return rows


def _recipient(labels: _Labels, notice: Notice, r: Recipient) -> RecipientRow:
    text = labels.text(r.text)
    return RecipientRow(
        id=r.id,
        label=text.label,
        description=text.description,
        used_for=labels.purposes(r.purposes),
        information=labels.of(notice.collected_by(r)),
        sold=sold_or_shared(r.purposes, labels.site.purposes),
    )


def _sale(labels: _Labels, notice: Notice) -> Sale | None:
    """The sale/share statement, derived: which purposes, which categories, to whom (None: no sale)."""
    site = labels.site
    sold = [pid for pid, p in site.purposes.items() if p.sale_share]
    if not sold:
        return None
    return Sale(
        purposes=labels.purposes(sold),
        categories=labels.of(c for c in notice.collected if sold_or_shared(c.purposes, site.purposes)),
        recipients=labels.of(r for r in notice.recipients if sold_or_shared(r.purposes, site.purposes)),
    )


def _kept(site: Site, retention: Retention) -> list[tuple[str, str, int]]:
    """The service's own retention periods: (element id, page text, days)."""
    items = [("keep-opt-out", "keep_opt_out", retention.opt_out_days)] if site.has_sale_share else []
    return [
        *items,
        ("keep-consent", "keep_consent", site.consent_lifetime_days),
        ("keep-record", "keep_record", retention.record_days),
        ("keep-history", "keep_history", retention.opt_out_days),
    ]


def _contact(notice: Notice) -> list[tuple[str, str, str, str]]:
    """The ways to make a request: (kind, page text of its label, link, what the link shows)."""
    contact = notice.contact
    items = []
    if contact.email:
        items.append(("email", "contact_email", f"mailto:{contact.email}", contact.email))
    if contact.url:
        items.append(("url", "contact_url", contact.url, contact.url))
    if contact.phone:
        items.append(("phone", "contact_phone", "tel:" + "".join(contact.phone.split()), contact.phone))
    return items


def _paragraphs(text: str) -> list[str]:
    """The operator's text, a paragraph per blank-line-separated block (plain text, never HTML)."""
    return [b.strip() for b in text.split("\n\n") if b.strip()]
