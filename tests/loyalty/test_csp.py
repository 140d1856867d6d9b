"""Content-Security-Policy: one strict policy on every kind of response, and templates that
need nothing more (no inline script, style or event handler).

The browser side (no page logs a CSP violation) is tests/browser/test_csp_violations.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# E-mail is not a web page: mail clients need inline styles and ignore CSP.
NOT_WEB_PAGES = (TEMPLATES / "campaigns" / "email",)

EXPECTED = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.status_code} {response!r}"
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice in {header!r}"
        parsed[name] = values
    return parsed


def assert_strict_policy(response) -> None:
    assert directives(response) == EXPECTED
    header = response.headers["Content-Security-Policy"]
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "http:", "https:", "*"):
        assert loose not in header.split(), (loose, header)
    assert "Content-Security-Policy-Report-Only" not in response.headers


def assert_other_security_headers(response) -> None:
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


# --- the header on every kind of response ---------------------------------------------------


def test_portal_page_has_the_strict_policy(client, member_user):
    client.force_login(member_user)
    response = client.get("/me/")
    assert response.status_code == 200
    assert_strict_policy(response)
    assert_other_security_headers(response)


def test_landing_page_for_visitors_has_the_strict_policy(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert_strict_policy(response)
    assert_other_security_headers(response)


def test_admin_page_has_the_strict_policy(client, support):
    client.force_login(support)
    response = client.get("/staff/")
    assert response.status_code == 200
    assert_strict_policy(response)
    assert_other_security_headers(response)


def test_api_response_has_the_strict_policy(client, db):
    response = client.get("/api/v1/pos/members/lookup/?phone=0912345678")
    assert response.status_code in (401, 403)  # no key: refused, with the policy all the same
    assert response["Content-Type"].startswith("application/json")
    assert_strict_policy(response)


def test_api_docs_and_their_init_script_have_the_strict_policy(client, db):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert_strict_policy(page)
    html = page.content.decode()
    # Swagger UI comes from this site (the sidecar package), its init script from a file.
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts), scripts
    assert "cdn." not in html and "//unpkg" not in html
    assert "<style" not in html  # templates/drf_spectacular/swagger_ui.html moved it to a file
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_error_page_has_the_strict_policy(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_strict_policy(response)
    assert_other_security_headers(response)


def test_hsts_is_sent_with_debug_off(client, db, settings):
    # The production settings (DEBUG off) set these; the tests run with DEBUG off too.
    assert settings.DEBUG is False
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = client.get("/", secure=True)
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert_strict_policy(response)


# --- templates need nothing more than the policy allows --------------------------------------

TEMPLATE_TAG = re.compile(
    r"\{%\s*comment\b.*?\{%\s*endcomment\s*%\}|\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S
)
HTML_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
ATTRIBUTE_NAME = re.compile(r"(?:^|\s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?==|\s|$)")


def web_templates() -> list[Path]:
    found = [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if not any(path.is_relative_to(skip) for skip in NOT_WEB_PAGES)
    ]
    assert len(found) > 20, found  # the scan sees the real templates
    return found


def inline_code(source: str) -> list[str]:
    """What in one template CSP would block: `<style>`, a `<script>` without src, a `style`
    attribute, an `on...` event handler, a `javascript:` URL. Template tags are blanked first
    (their contents are not HTML: `{% blocktranslate on=... %}`)."""
    html = TEMPLATE_TAG.sub(" ", source)
    problems = []
    for match in HTML_TAG.finditer(html):
        name, attributes = match.group(1).lower(), match.group(2)
        # Attribute values are blanked so that text inside them is not taken for a name.
        names = [
            found.lower()
            for found in ATTRIBUTE_NAME.findall(re.sub(r"\"[^\"]*\"|'[^']*'", '""', attributes))
        ]
        if name == "style":
            problems.append(f"<style> element: {match.group(0)[:80]}")
        if name == "script" and "src" not in names:
            problems.append(f"inline <script>: {match.group(0)[:80]}")
        if "style" in names:
            problems.append(f"style attribute: {match.group(0)[:80]}")
        handlers = [found for found in names if found.startswith("on") and len(found) > 2]
        if handlers:
            problems.append(f"event handler {handlers}: {match.group(0)[:80]}")
        if re.search(r"""=\s*["']?\s*javascript:""", attributes, re.I):
            problems.append(f"javascript: URL: {match.group(0)[:80]}")
    return problems


@pytest.mark.parametrize(
    "source",
    [
        "<style>p { color: red }</style>",
        "<script>alert(1)</script>",
        '<script type="module">import x from "./x.js"</script>',
        '<p style="color: red">x</p>',
        "<p STYLE='color: red'>x</p>",
        '<select onchange="this.form.submit()">',
        '<input id="a" type="url" readonly onfocus="this.select()">',
        '<a href="javascript:void(0)">x</a>',
        '<div\n  class="x"\n  onclick="go()">',
        '{% if x %}<p style="a">{% endif %}',
        "{% comment %}x{% endcomment %}<style>p {}</style>",
    ],
)
def test_scanner_finds_what_csp_blocks(source):
    assert inline_code(source)


@pytest.mark.parametrize(
    "source",
    [
        "<script src=\"{% static 'js/app.js' %}\" defer></script>",
        '<link rel="stylesheet" href="{% static \'css/app.css\' %}">',
        '<p class="hint">{% blocktranslate on=day %}after {{ on }}{% endblocktranslate %}</p>',
        '<input data-select-on-focus value="on=1" title="style=x">',
        '<p data-reason="online">Mở cửa online</p>',
        "<noscript><button>Change</button></noscript>",
        "{% comment %}The <style> moved to a file.{% endcomment %}<p>x</p>",
    ],
)
def test_scanner_lets_allowed_markup_through(source):
    assert inline_code(source) == []


def test_no_web_template_has_inline_script_style_or_handler():
    problems = {
        str(path.relative_to(TEMPLATES)): found
        for path in web_templates()
        if (found := inline_code(path.read_text(encoding="utf-8")))
    }
    assert problems == {}
