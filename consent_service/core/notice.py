"""The privacy notice a site publishes, as data (`[sites.notice]`; config/notice.py parses it).

The notice holds only what the purposes cannot say: who the business is, which categories of
personal information it collects and from where, which categories of third parties receive them,
retention and contact. Whether anything is sold or shared is never stated here: it is derived from
`Purpose.sale_share`, the same flag the decisions enforce (`site.sold_or_shared`), so the published
notice and the service's behaviour cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class InfoCategory(StrEnum):
    """The categories of personal information named by Cal. Civ. Code §1798.140(v)(1)(A)–(L); the
    regulations (§7011) require a privacy policy to use these terms."""

    IDENTIFIERS = "identifiers"
    CUSTOMER_RECORDS = "customer_records"
    PROTECTED_CHARACTERISTICS = "protected_characteristics"
    COMMERCIAL = "commercial"
    BIOMETRIC = "biometric"
    INTERNET_ACTIVITY = "internet_activity"
    GEOLOCATION = "geolocation"
    SENSORY = "sensory"
    PROFESSIONAL = "professional"
    EDUCATION = "education"
    INFERENCES = "inferences"
    SENSITIVE = "sensitive"


class Source(StrEnum):
    """Categories of sources; a closed list so that every notice is localized without extra work."""

    CONSUMER = "consumer"  # directly from the person
    DEVICE = "device"  # automatically, from the browser or device
    PARTNERS = "partners"  # advertising and analytics partners
    SERVICE_PROVIDERS = "service_providers"
    AFFILIATES = "affiliates"
    PUBLIC = "public"  # publicly available sources
    DATA_BROKERS = "data_brokers"


@dataclass(frozen=True, slots=True)
class Label:
    label: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Collected:
    """One category of personal information the business collects."""

    id: str
    category: InfoCategory
    text: Mapping[str, Label]
    sources: tuple[Source, ...]
    purposes: tuple[str, ...]  # purpose ids of the site
    retention_days: int | None = None  # None: the notice's general retention statement applies


@dataclass(frozen=True, slots=True)
class Recipient:
    """One category of third parties (or service providers) that receive personal information."""

    id: str
    text: Mapping[str, Label]
    purposes: tuple[str, ...]  # they receive data for these purposes of the site


@dataclass(frozen=True, slots=True)
class Contact:
    email: str | None = None
    url: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class NoticeText:
    """The operator's own words for one language; each is optional."""

    intro: str = ""
    retention: str = ""
    extra: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    business: str
    contact: Contact
    last_updated: dt.date
    collected: tuple[Collected, ...]
    recipients: tuple[Recipient, ...] = ()
    text: Mapping[str, NoticeText] = field(default_factory=dict)
    sells_under_16: bool = False  # actual knowledge of selling or sharing data of consumers under 16

    def collected_for(self, purpose_id: str) -> tuple[Collected, ...]:
        return tuple(c for c in self.collected if purpose_id in c.purposes)

    def recipients_for(self, purpose_id: str) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if purpose_id in r.purposes)

    def collected_by(self, recipient: Recipient) -> tuple[Collected, ...]:
        """The categories a recipient receives: those collected for a purpose it receives data for."""
        return tuple(c for c in self.collected if set(c.purposes) & set(recipient.purposes))

    def text_for(self, language: str) -> NoticeText:
        """The operator's texts in `language`, each missing one in English: a paragraph left
        untranslated must not vanish from the notice."""
        own, en = self.text.get(language, NoticeText()), self.text.get("en", NoticeText())
        return NoticeText(own.intro or en.intro, own.retention or en.retention, own.extra or en.extra)
