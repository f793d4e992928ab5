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
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def _fill(text: str, **values: object) -> str:
    """A text with its `{placeholders}` filled in (escaped afterwards, with the text)."""
    return text.format(**values)


ENV = Environment(
    loader=PackageLoader("consent_service.web", "templates"),
    autoescape=select_autoescape(default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,
)
ENV.filters["fill"] = _fill


def render(template: str, /, **context: object) -> str:
    """The template (a path under templates/) rendered with `context`: a whole HTML document."""
    return ENV.get_template(template).render(context)
