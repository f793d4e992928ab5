"""The HTML templates (web/templating.py, web/templates/): autoescape everywhere, one layout, no HTML
built in a Python string, no inline script or style."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import jinja2
import pytest

from consent_service.web.admin.session import LoginProblem, LogoutRefusal, login_page
from consent_service.web.pages.privacy import Problem
from consent_service.web.pages.texts import PAGE_TEXTS
from consent_service.web.templating import ENV, render

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "consent_service"
TEMPLATES = PACKAGE / "web" / "templates"
# Templates that hold macros for others to import: no page of their own, so no layout.
MACRO_FILES = {"macros.html", "pages/links.html", "admin/charts.html"}
# A `<` followed by the name of an HTML or SVG element (or `<!doctype`): markup. (`<code>` is left
# out: it is the error contract's placeholder, `{"error": "<code>", …}`, in the OpenAPI text.)
TAGS = (
    "a|abbr|article|aside|b|body|br|button|caption|circle|dd|desc|details|div|dl|dt|em|fieldset|figcaption|"
    "figure|footer|form|g|h[1-6]|head|header|hr|html|i|iframe|img|input|label|legend|li|line|link|main|meta|"
    "nav|ol|option|p|path|polyline|pre|rect|script|section|select|small|span|strong|style|summary|svg|table|"
    "tbody|td|text|textarea|tfoot|th|thead|time|title|tr|ul"
)
MARKUP = re.compile(rf"<(?:!doctype|/?(?:{TAGS})(?=[\s/>]))", re.IGNORECASE)


def markup_in(source: str) -> list[tuple[int, str]]:
    """Every string literal of a module (docstrings and the literal parts of f-strings included)
    that holds markup: (line, the literal's start)."""
    return [
        (node.lineno, node.value[:60])
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and MARKUP.search(node.value)
    ]


def test_no_module_builds_html_in_a_string() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted(PACKAGE.rglob("*.py"))
        if (hits := markup_in(path.read_text("utf-8")))
    }
    assert found == {}


def test_the_markup_check_finds_markup() -> None:
    """The check above can fail: literals, f-strings and docstrings with a tag are found."""
    source = '''"""A page: <svg> inside."""
x = f'<p class="note">{1}</p>'
y = "<!DOCTYPE html>"
z = '</div>'
ok = ("a < b", "<GPP string>", "<code>", "x<y", "1 <p")
'''
    assert sorted({line for line, _ in markup_in(source)}) == [1, 2, 3, 4]


def page_templates() -> list[str]:
    names = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
    assert "base.html" in names
    return [n for n in names if n not in MACRO_FILES and n != "base.html"]


@pytest.mark.parametrize("name", page_templates())
def test_every_page_extends_the_one_layout(name: str) -> None:
    seen = []
    while name != "base.html":
        source = (TEMPLATES / name).read_text("utf-8")
        match = re.search(r'{%-?\s*extends\s+"([^"]+)"', source)
        assert match, f"{name} extends no layout"
        seen.append(name)
        name = match.group(1)
        assert name not in seen, seen  # no loop
    assert len(seen) <= 2  # a page, at most one layout between it and base.html


def test_the_templates_have_no_inline_style_or_script() -> None:
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text("utf-8")
        assert "<style" not in source and " style=" not in source, path
        assert not re.search(r"\son[a-z]+=", source), path  # no inline event handlers
        for script in re.findall(r"<script[^>]*>", source):  # the demo's scripts: files only, never inline
            assert " src=" in script, (path, script)
        assert not re.search(r"<script[^>]*>[^<]", source), path
        assert "|safe" not in source and "Markup" not in source, path  # nothing is marked safe


def test_autoescape_is_on_and_undefined_names_fail() -> None:
    assert callable(ENV.autoescape) and all(ENV.autoescape(name) for name in ("base.html", "page.txt", None))
    assert ENV.from_string("{{ x }}").render(x='"><script>') == "&#34;&gt;&lt;script&gt;"
    with pytest.raises(jinja2.UndefinedError):
        render("pages/not_found.html", language="en", p={"not_found_title": "Not found"}, missing="nope")


def test_fill_puts_values_in_before_escaping() -> None:
    html = ENV.from_string("{{ text|fill(business=name) }}").render(text="Ask {business} <now>", name="A & <B>")
    assert html == "Ask A &amp; &lt;B&gt; &lt;now&gt;"


def test_every_problem_key_has_its_text() -> None:
    """A problem is passed as a key; each key a page may be given is in its texts (else the page
    would fail to render), in every language for the privacy pages."""
    for problem in get_args(LoginProblem):
        body = login_page("csrf", None, problem=problem).body.decode()
        assert '<p class="problem" role="alert" id="problem">' in body, problem
    for why in get_args(LogoutRefusal):
        assert "Sign out here:" in render("admin/not_signed_out.html", why=why, csrf="c")
    for key in get_args(Problem):
        for lang, texts in PAGE_TEXTS.items():
            assert texts[key].strip(), (lang, key)
