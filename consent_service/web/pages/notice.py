"""The privacy notice page (`GET /privacy/{site}/notice`), rendered from the site's configuration.

Everything the decisions depend on comes from the same objects the decisions use: the list of
purposes, their labels and whether each is sold or shared (`Purpose.sale_share`), the consent
lifetime, and the retention settings. The notice's own table adds only categories, sources,
recipients, contact and dates. So what the page says and what the service does cannot drift apart.

Every purpose row carries `data-purpose` and `data-sold-shared`, and every category and recipient
row `data-category` / `data-recipient` with `data-sold-shared`, so tests (and auditors' tools) can
check the page against the configuration and the decisions by machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Protocol

from consent_service.core.notice import Collected, InfoCategory, Notice, Recipient
from consent_service.core.site import Site, sold_or_shared
from consent_service.core.texts import texts_for
from consent_service.web.pages.privacy import document
from consent_service.web.pages.texts import LANGUAGE_NAMES, page_texts_for


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
class _Page:
    """What every section needs: the site, its notice, the language and its texts."""

    site: Site
    notice: Notice
    language: str
    texts: Mapping[str, str]  # this page's texts, unescaped
    banner: Mapping[str, str]  # the banner's texts (with the site's overrides), for shared wording

    def t(self, key: str, **values: object) -> str:
        """A text, escaped, with its placeholders filled by escaped values."""
        return escape(self.texts[key]).format(**{k: escape(str(v)) for k, v in values.items()})

    def link(self, page: str) -> str:
        """A link to one of this site's privacy pages, keeping the reader's language."""
        return f"/privacy/{escape(self.site.id)}/{page}?lang={escape(self.language)}"

    def text(self, texts: Mapping[str, _Text]) -> _Text:
        """The configured text in the reader's language, else English (which the config requires)."""
        return texts.get(self.language) or texts["en"]

    def labels(self, items: Iterable[Collected | Recipient]) -> list[str]:
        return [self.text(item.text).label for item in items]

    def purposes(self, ids: Iterable[str]) -> list[str]:
        return [self.text(self.site.purposes[pid].text).label for pid in ids]

    def yes_no(self, sold: bool) -> str:
        return f'<td class="{"yes" if sold else "no"}">{self.t("sold_yes" if sold else "sold_no")}</td>'


def render_notice(site: Site, notice: Notice, language: str, retention: Retention) -> str:
    """The whole notice as an HTML document, every configured string escaped."""
    page = _Page(site, notice, language, page_texts_for(language), texts_for(language, site.texts))
    sections = [
        _header(page),
        _collected(page),
        _purposes(page),
        _recipients(page),
        _sale(page),
        _retention(page, retention),
        _rights(page),
        _gpc(page),
        _agents(page),
        _contact(page),
        _more(page),
    ]
    title = f"{page.t('notice_title')}: {escape(notice.business)}"
    return document(language, title, "\n".join(s for s in sections if s), wide=True)


def _header(page: _Page) -> str:
    notice = page.notice
    updated = notice.last_updated.isoformat()
    intro = notice.text_for(page.language).intro
    actions = [f'<a id="data-link" href="{page.link("data")}">{page.t("data_link")}</a>']
    if page.site.has_sale_share:
        actions.insert(0, _opt_out_link(page, "opt-out-link"))
    return f"""{_languages(page)}
<h1>{page.t("notice_title")}: {escape(notice.business)}</h1>
<p class="meta">{page.t("last_updated")} <time id="last-updated" datetime="{updated}">{updated}</time></p>
{_paragraphs(intro)}
<p>{page.t("notice_intro", business=notice.business)}</p>
<nav class="actions">{" ".join(actions)}</nav>"""


def _languages(page: _Page) -> str:
    links = []
    for code, name in LANGUAGE_NAMES.items():
        current = ' aria-current="page"' if code == page.language else ""
        href = f"/privacy/{escape(page.site.id)}/notice?lang={code}"
        links.append(f'<a href="{href}" hreflang="{code}" lang="{code}"{current}>{escape(name)}</a>')
    return f'<nav class="langs" aria-label="{page.t("languages")}">{" · ".join(links)}</nav>'


def _collected(page: _Page) -> str:
    rows = [_collected_row(page, c) for c in page.notice.collected]
    head = _head(page, "col_category", "col_sources", "col_used_for", "col_sold", "col_kept")
    return _section("collected", page.t("h_collected"), _table(head, rows))


def _collected_row(page: _Page, c: Collected) -> str:
    sold = sold_or_shared(c.purposes, page.site.purposes)
    kept = page.t("days", days=c.retention_days) if c.retention_days else page.t("see_retention")
    sources = [page.texts[f"source_{s.value}"] for s in c.sources]
    statutory = f'<span class="statutory">{page.t(f"category_{c.category.value}")}</span>'
    return f"""<tr data-category="{escape(c.id)}" data-sold-shared="{_bool(sold)}">
{_row_head(page.text(c.text), statutory)}
<td>{_list(sources, page)}</td>
<td>{_list(page.purposes(c.purposes), page)}</td>
{page.yes_no(sold)}
<td>{kept}</td>
</tr>"""


def _purposes(page: _Page) -> str:
    """Every purpose of the site, in its configured order, sold/shared exactly when `sale_share` is."""
    rows = []
    for pid, purpose in page.site.purposes.items():
        categories = page.labels(page.notice.collected_for(pid))
        recipients = page.labels(page.notice.recipients_for(pid))
        rows.append(f"""<tr data-purpose="{escape(pid)}" data-sold-shared="{_bool(purpose.sale_share)}">
{_row_head(page.text(purpose.text))}
<td>{_list(categories, page)}</td>
<td>{_list(recipients, page)}</td>
{page.yes_no(purpose.sale_share)}
</tr>""")
    head = _head(page, "col_purpose", "col_information", "col_recipients", "col_sold")
    return _section("purposes", page.t("h_purposes"), _table(head, rows))


def _recipients(page: _Page) -> str:
    if not page.notice.recipients:
        return ""
    rows = [_recipient_row(page, r) for r in page.notice.recipients]
    head = _head(page, "col_recipient", "col_used_for", "col_information", "col_sold")
    return _section("recipients", page.t("h_recipients"), _table(head, rows))


def _recipient_row(page: _Page, r: Recipient) -> str:
    sold = sold_or_shared(r.purposes, page.site.purposes)
    return f"""<tr data-recipient="{escape(r.id)}" data-sold-shared="{_bool(sold)}">
{_row_head(page.text(r.text))}
<td>{_list(page.purposes(r.purposes), page)}</td>
<td>{_list(page.labels(page.notice.collected_by(r)), page)}</td>
{page.yes_no(sold)}
</tr>"""


def _sale(page: _Page) -> str:
    """The sale/share statement, derived: which purposes, which categories, to whom."""
    site, notice = page.site, page.notice
    minors = page.t("under_16_yes" if notice.sells_under_16 else "under_16_no")
    sold = [pid for pid, p in site.purposes.items() if p.sale_share]
    if not sold:
        return _section("sale", page.t("h_sale"), f'<p id="sale-none">{page.t("sale_no")}</p>\n<p>{minors}</p>')
    categories = page.labels(c for c in notice.collected if sold_or_shared(c.purposes, site.purposes))
    recipients = page.labels(r for r in notice.recipients if sold_or_shared(r.purposes, site.purposes))
    body = f"""<p id="sale-yes">{page.t("sale_yes", purposes=", ".join(page.purposes(sold)))}</p>
<ul>
<li id="sale-categories">{page.t("sale_categories", categories=", ".join(categories))}</li>
<li id="sale-recipients">{page.t("sale_recipients", recipients=", ".join(recipients))}</li>
</ul>
<p>{_opt_out_link(page, "sale-opt-out")}</p>
<p>{minors}</p>"""
    return _section("sale", page.t("h_sale"), body)


def _retention(page: _Page, retention: Retention) -> str:
    own = _paragraphs(page.notice.text_for(page.language).retention)
    items = []
    if page.site.has_sale_share:
        items.append(("keep-opt-out", page.t("keep_opt_out", days=retention.opt_out_days)))
    items += [
        ("keep-consent", page.t("keep_consent", days=page.site.consent_lifetime_days)),
        ("keep-record", page.t("keep_record", days=retention.record_days)),
        ("keep-history", page.t("keep_history", days=retention.opt_out_days)),
    ]
    listed = "\n".join(f'<li id="{key}">{text}</li>' for key, text in items)
    body = "\n".join(part for part in (own, f"<p>{page.t('retention_service')}</p>", f"<ul>\n{listed}\n</ul>") if part)
    return _section("retention", page.t("h_retention"), body)


def _rights(page: _Page) -> str:
    data = f'<a href="{page.link("data")}">{page.t("data_link")}</a>'
    rights = []
    if page.site.has_sale_share:
        link = _opt_out_link(page, "rights-opt-out", button=False)
        detail = f"{page.t('right_opt_out_detail')} {link}. {page.t('account_wide')}"
        rights.append(("right-opt-out", "right_opt_out", detail))
    rights += [
        ("right-know", "right_know", f"{page.t('right_know_detail')} {data}"),
        ("right-delete", "right_delete", page.t("right_delete_detail")),
        ("right-correct", "right_correct", page.t("right_correct_detail")),
    ]
    if any(c.category is InfoCategory.SENSITIVE for c in page.notice.collected):
        rights.append(("right-limit", "right_limit", page.t("right_limit_detail")))
    rights.append(("right-equal", "right_equal", page.t("right_equal_detail")))
    items = "\n".join(f'<li id="{rid}"><strong>{page.t(head)}</strong> {detail}</li>' for rid, head, detail in rights)
    return _section("rights", page.t("h_rights"), f'<ul class="rights">\n{items}\n</ul>\n<p>{page.t("verify")}</p>')


def _gpc(page: _Page) -> str:
    after = page.t("gpc_lift" if page.site.gpc_lift_by_opt_in else "gpc_final")
    body = f"<p>{page.t('gpc_text', honored=page.banner['gpc_honored'])} {after}</p>"
    return _section("gpc", page.t("h_gpc"), body)


def _agents(page: _Page) -> str:
    return _section("agents", page.t("h_agents"), f"<p>{page.t('agents_text')}</p>")


def _contact(page: _Page) -> str:
    contact = page.notice.contact
    items = []
    if contact.email:
        items.append(("email", page.t("contact_email"), f"mailto:{contact.email}", contact.email))
    if contact.url:
        items.append(("url", page.t("contact_url"), contact.url, contact.url))
    if contact.phone:
        items.append(("phone", page.t("contact_phone"), "tel:" + "".join(contact.phone.split()), contact.phone))
    listed = "\n".join(
        f'<li>{label}: <a id="contact-{kind}" href="{escape(href)}">{escape(text)}</a></li>'
        for kind, label, href, text in items
    )
    body = f"<p>{page.t('contact_text', business=page.notice.business)}</p>\n<ul>\n{listed}\n</ul>"
    return _section("contact", page.t("h_contact"), body)


def _more(page: _Page) -> str:
    extra = page.notice.text_for(page.language).extra
    return _section("more", page.t("h_more"), _paragraphs(extra)) if extra else ""


# ---- small pieces ------------------------------------------------------------------------------


def _opt_out_link(page: _Page, element_id: str, *, button: bool = True) -> str:
    """The link to the opt-out page, worded as the banner and the opt-out page word it."""
    label = escape(page.banner["do_not_sell"])
    css = ' class="button"' if button else ""
    return f'<a{css} id="{element_id}" href="{page.link("opt-out")}">{label}</a>'


def _section(section_id: str, heading: str, body: str) -> str:
    return (
        f'<section id="{section_id}" aria-labelledby="h-{section_id}">\n'
        f'<h2 id="h-{section_id}">{heading}</h2>\n{body}\n</section>'
    )


def _row_head(text: _Text, extra: str = "") -> str:
    """A row's first cell: the configured label, then `extra` (already HTML), then the description."""
    description = f'<span class="desc">{escape(text.description)}</span>' if text.description else ""
    return f'<th scope="row"><strong>{escape(text.label)}</strong>{extra}{description}</th>'


def _table(head: str, rows: list[str]) -> str:
    return f'<div class="scroll"><table>\n<thead>{head}</thead>\n<tbody>\n{"".join(rows)}\n</tbody>\n</table></div>'


def _head(page: _Page, *keys: str) -> str:
    return "<tr>" + "".join(f'<th scope="col">{page.t(k)}</th>' for k in keys) + "</tr>"


def _list(items: list[str], page: _Page) -> str:
    """Plain-text items, escaped, as a list; "None" when there are none, so no cell is left blank."""
    if not items:
        return f'<span class="none">{page.t("none")}</span>'
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _paragraphs(text: str) -> str:
    """The operator's text, escaped, a paragraph per blank-line-separated block (never raw HTML)."""
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    return "\n".join(f"<p>{escape(b)}</p>" for b in blocks)


def _bool(value: bool) -> str:
    return "true" if value else "false"
