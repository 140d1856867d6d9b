"""The translation catalogues: complete in Vietnamese, compiled, placeholder-safe, and used.

Two catalogues are ours: ``locale/`` (made by ``makemessages`` from the project's own strings)
and ``loyalty/allauth_locale/`` (kept by hand: django-allauth ships no Vietnamese). The .mo
files are committed, so these tests read .po and .mo files in Python and need no GNU gettext.
"""

from __future__ import annotations

import gettext
import re
from collections import Counter
from pathlib import Path

import allauth
import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from tests import po

BASE_DIR = Path(settings.BASE_DIR)
PROJECT_LOCALE = BASE_DIR / "locale"
ALLAUTH_LOCALE = BASE_DIR / "loyalty" / "allauth_locale"
VI_CATALOGUES = {
    "project": PROJECT_LOCALE / "vi" / "LC_MESSAGES" / "django.po",
    "allauth": ALLAUTH_LOCALE / "vi" / "LC_MESSAGES" / "django.po",
}
ALL_CATALOGUES = sorted(
    [*PROJECT_LOCALE.glob("*/LC_MESSAGES/*.po"), *ALLAUTH_LOCALE.glob("*/LC_MESSAGES/*.po")]
)
ALLAUTH_EN = Path(allauth.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
# What a member sees of allauth: the account app's forms, adapter and models, its page,
# snippet, email and message templates, and the layouts (references in allauth's catalogue);
# and what staff see of it: allauth.mfa's adapter, models and forms and its two-factor pages,
# emails and messages (TOTP, recovery codes, security keys, trusting a browser).
ALLAUTH_MEMBER_SOURCES = (
    "account/",
    "templates/account/",
    "templates/allauth/",
    "mfa/",
    "templates/mfa/",
)


def _id(path: Path) -> str:
    return str(path.relative_to(BASE_DIR))


# ---------------------------------------------------------------------------------------------
# The .po reader itself


def test_po_reader_handles_context_plurals_continuations_and_escapes():
    text = r"""# translator comment
#
msgid ""
msgstr ""
"Language: vi\n"
"Plural-Forms: nplurals=1; plural=0;\n"

#: a.py:1 b.html:2
#, python-format
msgctxt "field label"
msgid "Login"
msgstr "Tài khoản"

#, fuzzy
msgid ""
"first line\n"
"say \"hi\"\t\\ "
"end"
msgstr "dòng\n"
"hai"

msgid "%(count)s item"
msgid_plural "%(count)s items"
msgstr[0] "%(count)s món"

msgid "untranslated"
msgstr ""

#~ msgid "obsolete"
#~ msgstr "cũ"
msgid "octal \101 hex \x42"
msgstr "x"
"""
    entries = po.parse(text)
    assert po.header(entries) == {"Language": "vi", "Plural-Forms": "nplurals=1; plural=0;"}
    login, multi, plural, empty, escapes = po.messages(entries)
    assert (login.msgctxt, login.msgid, login.msgstr) == ("field label", "Login", "Tài khoản")
    assert login.key == "field label\x04Login"
    assert login.references == ["a.py:1", "b.html:2"] and login.flags == {"python-format"}
    assert multi.msgid == 'first line\nsay "hi"\t\\ end'
    assert multi.msgstr == "dòng\nhai" and multi.fuzzy
    assert plural.is_plural and plural.msgid_plural == "%(count)s items"
    assert plural.msgstr_plural == {0: "%(count)s món"} and plural.translated
    assert not empty.translated
    assert escapes.msgid == "octal A hex B"


@pytest.mark.parametrize(
    "text",
    [
        'msgid "no msgstr"\n',
        'msgid "a"\nmsgstr "b" "c"\n',
        'msgid "a"\nmsgstr[0] "b"\n',
        '"orphan"\n',
        'msgid "a"\nmsgid "b"\nmsgstr ""\n',
    ],
)
def test_po_reader_rejects_malformed_files(text):
    with pytest.raises(po.PoSyntaxError):
        po.parse(text)


# ---------------------------------------------------------------------------------------------
# (a) Every Vietnamese entry is translated and none is fuzzy


@pytest.mark.parametrize("name", VI_CATALOGUES)
def test_vietnamese_catalogue_is_complete(name):
    entries = po.read(VI_CATALOGUES[name])
    messages = po.messages(entries)
    assert messages, f"{name}: no messages"
    assert [str(e) for e in messages if not e.translated] == []
    assert [str(e) for e in entries if e.fuzzy] == []
    header = po.header(entries)
    assert header["Language"] == "vi"
    assert header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in header["Content-Type"]


def test_no_msgid_appears_twice():
    for path in VI_CATALOGUES.values():
        keys = Counter(e.key for e in po.messages(po.read(path)))
        assert [k for k, n in keys.items() if n > 1] == [], path


# ---------------------------------------------------------------------------------------------
# (b) Each compiled .mo is what its .po says (someone edited a .po and did not compile)


def _expected_catalog(entries: list[po.PoEntry]) -> dict:
    """What msgfmt puts in the .mo: translated, non-fuzzy entries, keyed like GNUTranslations."""
    catalog: dict = {}
    for entry in po.messages(entries):
        if entry.fuzzy or not entry.translated:
            continue
        if entry.is_plural:
            for n, text in entry.msgstr_plural.items():
                catalog[(entry.key, n)] = text
        else:
            catalog[entry.key] = entry.msgstr
    return catalog


@pytest.mark.parametrize("po_path", ALL_CATALOGUES, ids=_id)
def test_compiled_catalogue_matches_po(po_path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{_id(mo_path)} is missing: run manage.py compilemessages"
    entries = po.read(po_path)
    with mo_path.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    # GNUTranslations keeps the messages in ``_catalog``; reading it is the only way to tell
    # a missing entry from one whose translation equals its msgid (e.g. "Email", "SMS").
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}
    expected = _expected_catalog(entries)
    stale = {k: (actual.get(k), v) for k, v in expected.items() if actual.get(k) != v}
    extra = sorted(map(str, actual.keys() - expected.keys()))
    hint = f"{_id(mo_path)} is out of date: run manage.py compilemessages"
    assert stale == {}, hint
    assert extra == [], hint
    if not next(e for e in entries if e.msgid == "" and e.msgctxt is None).fuzzy:
        # msgfmt leaves POT-Creation-Date out of the .mo, so that it builds reproducibly.
        header = {k.lower(): v for k, v in po.header(entries).items()}
        header.pop("pot-creation-date", None)
        assert compiled.info() == header, hint


# ---------------------------------------------------------------------------------------------
# (c) Placeholders survive translation

_NAMED = re.compile(r"%\(\w+\)[-+#0]*\d*(?:\.\d+)?[sdifrx]|\{\w*\}")
_POSITIONAL = re.compile(r"%[-+#0]*\d*(?:\.\d+)?[sdifrx]")


def _placeholders(text: str) -> tuple[set[str], list[str]]:
    """Named (``%(name)s``, ``{name}``) as a set; positional (``%s``, ``%d``) in order."""
    text = text.replace("%%", "")
    named = set(_NAMED.findall(text))
    return named, _POSITIONAL.findall(_NAMED.sub("", text))


@pytest.mark.parametrize("name", VI_CATALOGUES)
def test_placeholders_are_preserved(name):
    wrong = []
    for entry in po.messages(po.read(VI_CATALOGUES[name])):
        source = entry.msgid_plural if entry.is_plural else entry.msgid
        for text in entry.translations:
            if text and _placeholders(text) != _placeholders(source):
                wrong.append(f"{entry}: {_placeholders(source)} -> {_placeholders(text)}")
    assert wrong == []


def test_placeholder_reader():
    assert _placeholders("%(n)d of %(total)s, {email} at 100%% and %s") == (
        {"%(n)d", "%(total)s", "{email}"},
        ["%s"],
    )
    assert _placeholders("50% off") == (set(), [])


# ---------------------------------------------------------------------------------------------
# The allauth catalogue follows allauth's own msgids


def _allauth_english() -> list[po.PoEntry]:
    return po.messages(po.read(ALLAUTH_EN))


def test_allauth_catalogue_msgids_exist_in_allauth():
    """A msgid that allauth does not have is a typo, or allauth changed its wording."""
    known = {e.key for e in _allauth_english()}
    ours = po.messages(po.read(VI_CATALOGUES["allauth"]))
    assert [str(e) for e in ours if e.key not in known] == []


def test_allauth_catalogue_covers_what_members_see():
    """After an allauth upgrade, new strings of the account pages and emails need Vietnamese."""
    ours = {e.key for e in po.messages(po.read(VI_CATALOGUES["allauth"]))}
    needed = [
        e
        for e in _allauth_english()
        if any(ref.startswith(ALLAUTH_MEMBER_SOURCES) for ref in e.references)
    ]
    assert needed
    assert [f"{e.msgid!r} ({', '.join(e.references)})" for e in needed if e.key not in ours] == []


# ---------------------------------------------------------------------------------------------
# (d) Behaviour: the catalogues are the ones Django uses


def test_allauth_catalogue_is_on_locale_paths():
    paths = [Path(p) for p in settings.LOCALE_PATHS]
    assert paths[:2] == [PROJECT_LOCALE, ALLAUTH_LOCALE], (
        'LOCALE_PATHS must be [BASE_DIR / "locale", BASE_DIR / "loyalty" / "allauth_locale"]'
    )


def test_gettext_uses_the_vietnamese_catalogues():
    with translation.override("vi"):
        assert translation.gettext("Log in") == "Đăng nhập"
        assert translation.gettext("My card") == "Thẻ của tôi"
        assert translation.gettext("Forgot your password?") == "Quên mật khẩu?"
        assert translation.pgettext("field label", "Login") == "Tài khoản"
    with translation.override("en"):
        assert translation.gettext("Log in") == "Log in"
        assert translation.gettext("Forgot your password?") == "Forgot your password?"


def _main(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def _texts(pattern: str, html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", m).split()) for m in re.findall(pattern, html, re.S)]


def _heading_and_buttons(response) -> tuple[list[str], list[str]]:
    main = _main(response)
    return _texts(r"<h1[^>]*>(.*?)</h1>", main), _texts(r"<button[^>]*>(.*?)</button>", main)


@pytest.mark.django_db
def test_login_page_is_vietnamese_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "vi"
    assert _heading_and_buttons(response) == (["Đăng nhập"], ["Đăng nhập"])
    main = _main(response)
    assert "Nếu bạn chưa có tài khoản, vui lòng" in main
    assert "Quên mật khẩu?" in main
    assert 'placeholder="Mật khẩu"' in main
    assert "Sign In" not in response.content.decode()


@pytest.mark.django_db
def test_pages_stay_vietnamese_for_a_browser_set_to_english(client):
    """Vietnamese first: a phone set to English still gets the shop's site in Vietnamese
    until its owner picks English in the footer."""
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "vi"
    assert _heading_and_buttons(response) == (["Đăng nhập"], ["Đăng nhập"])


@pytest.mark.django_db
def test_api_errors_follow_accept_language(client):
    response = client.get("/api/v1/pos/no-such-endpoint/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.headers["Content-Language"] == "en"
    vi = client.get("/api/v1/pos/no-such-endpoint/", HTTP_ACCEPT_LANGUAGE="vi")
    assert vi.json()["error"]["message"] != response.json()["error"]["message"]


@pytest.mark.django_db
def test_login_page_is_english_once_chosen(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    response = client.get("/accounts/login/")
    assert response.headers["Content-Language"] == "en"
    assert _heading_and_buttons(response) == (["Sign In"], ["Sign In"])
    assert "Forgot your password?" in _main(response)
    assert "Đăng nhập" not in response.content.decode()


@pytest.mark.django_db
def test_login_page_is_english_with_the_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.headers["Content-Language"] == "en"
    assert _heading_and_buttons(response) == (["Sign In"], ["Sign In"])


@pytest.mark.django_db
def test_signup_page_is_vietnamese(client):
    response = client.get("/accounts/signup/")
    heading, buttons = _heading_and_buttons(response)
    assert (heading, buttons) == (["Đăng ký"], ["Đăng ký"])
    main = _main(response)
    for text in ("Họ và tên", "Nhập lại mật khẩu", "Tỉnh/thành phố", "Bạn đã có tài khoản?"):
        assert text in main


@pytest.mark.django_db
def test_password_reset_email_is_vietnamese(client, django_user_model):
    user = django_user_model.objects.create_user(email="lan@example.com", password="x-9Tq!vA")
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Email đặt lại mật khẩu" in message.subject
    assert "Bạn nhận được email này vì bạn hoặc ai đó đã yêu cầu đặt lại mật khẩu" in message.body
    assert "xin chào bạn!" in message.body
