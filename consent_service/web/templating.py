"""The service's HTML templates (consent_service/web/templates/), rendered with Jinja2.

Autoescape is on for every template and every string rendered here, so a value is escaped where it
is inserted, whatever it holds: configured texts, site ids, query parameters, report groups. Nothing
is marked safe in Python; the templates build all the markup. An undefined name is an error
(StrictUndefined), never an empty string.

One layout, `base.html` (the document, its head and its one stylesheet), which every page extends:
the privacy pages (`pages/`), the admin pages (`admin/`, through `admin/layout.html`) and the demo.
The pages' texts come from the gettext catalogs (config/catalogs.py, consent_service/locale/) and
reach the templates as data (`t`, `p`, and `plural(key, n)` for a text with a number); `fill` puts
a text's `{placeholders}` in, before the text is escaped.

The admin pages' texts are written in their templates, in English, marked with Jinja2's i18n
extension (`{{ _("…") }}`, `{% trans %}…{% endtrans %}`, `ngettext`), the new style: a text's
`%(placeholders)s` are filled in and escaped by the call. Its catalog (the `admin` domain,
config/admin_catalogs.py) comes with each rendering, as `translations` (web/admin/words.py), not
installed in the environment, which every request shares; a page rendered without one reads English.
"""

from __future__ import annotations

import gettext

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

ENGLISH = gettext.NullTranslations()  # no catalog: the msgids, which are the English


def _fill(text: str, **values: object) -> str:
    """A text with its `{placeholders}` filled in (escaped afterwards, with the text)."""
    return text.format(**values)


def _translations(context: Context) -> gettext.NullTranslations:
    found = context.get("translations")
    return found if isinstance(found, gettext.NullTranslations) else ENGLISH


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _translations(context).gettext(message)


@pass_context
def _ngettext(context: Context, one: str, other: str, n: int) -> str:
    return _translations(context).ngettext(one, other, n)


ENV = Environment(
    extensions=["jinja2.ext.i18n"],
    loader=PackageLoader("consent_service.web", "templates"),
    autoescape=select_autoescape(default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,
)
ENV.filters["fill"] = _fill
ENV.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


def render(template: str, /, **context: object) -> str:
    """The template (a path under templates/) rendered with `context`: a whole HTML document."""
    return ENV.get_template(template).render(context)
