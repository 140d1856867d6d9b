"""The translation catalogues: complete in Vietnamese, compiled, placeholder-safe, and used.

Three catalogues are ours: ``locale/`` (made by ``makemessages`` from the project's own
strings), ``loyalty/allauth_locale/`` (kept by hand: django-allauth ships no Vietnamese) and
``loyalty/django_locale/`` (kept by hand: what Django's own Vietnamese lacks, and
django-celery-beat's admin labels). The .mo files are committed, so these tests read .po and
.mo files in Python and need no GNU gettext.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from pathlib import Path

import allauth
import django
import django_celery_beat
import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from tests import po

BASE_DIR = Path(settings.BASE_DIR)
PROJECT_LOCALE = BASE_DIR / "locale"
ALLAUTH_LOCALE = BASE_DIR / "loyalty" / "allauth_locale"
DJANGO_LOCALE = BASE_DIR / "loyalty" / "django_locale"
VI_CATALOGUES = {
    "project": PROJECT_LOCALE / "vi" / "LC_MESSAGES" / "django.po",
    "allauth": ALLAUTH_LOCALE / "vi" / "LC_MESSAGES" / "django.po",
    "django": DJANGO_LOCALE / "vi" / "LC_MESSAGES" / "django.po",
    "django-js": DJANGO_LOCALE / "vi" / "LC_MESSAGES" / "djangojs.po",
}
ALL_CATALOGUES = sorted(
    [
        *PROJECT_LOCALE.glob("*/LC_MESSAGES/*.po"),
        *ALLAUTH_LOCALE.glob("*/LC_MESSAGES/*.po"),
        *DJANGO_LOCALE.glob("*/LC_MESSAGES/*.po"),
    ]
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


# django-celery-beat fills "{0} task{1} {2} successfully run" with str.format: {1} is the
# English plural "s" and {2} "was"/"were", which Vietnamese has no use for (format ignores
# the arguments a text leaves out).
_PLACEHOLDERS_LEFT_OUT = {"{0} task{1} {2} successfully run": {"{1}", "{2}"}}


@pytest.mark.parametrize("name", VI_CATALOGUES)
def test_placeholders_are_preserved(name):
    wrong = []
    for entry in po.messages(po.read(VI_CATALOGUES[name])):
        source = entry.msgid_plural if entry.is_plural else entry.msgid
        left_out = _PLACEHOLDERS_LEFT_OUT.get(entry.msgid, set())
        expected = (_placeholders(source)[0] - left_out, _placeholders(source)[1])
        for text in entry.translations:
            if text and _placeholders(text) != expected:
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
# The Django catalogue: what Django's own Vietnamese lacks, and django-celery-beat's labels

DJANGO_DIR = Path(django.__file__).parent
DJANGO_CATALOGUES = [
    ("conf", "django"),
    ("contrib/auth", "django"),
    ("contrib/admin", "django"),
    ("contrib/admin", "djangojs"),
    ("contrib/contenttypes", "django"),
    ("contrib/sessions", "django"),
    ("contrib/sites", "django"),
]
BEAT_DIR = Path(django_celery_beat.__file__).parent


def _django_lacks(package: str, domain: str) -> list[po.PoEntry]:
    """The English entries of one of Django's catalogues that its Vietnamese one does not
    translate: missing, empty, fuzzy, or singular where Django asks for a plural (Django's
    vi has "Please correct the error below." only as a singular, so the admin showed it in
    English)."""
    english = po.messages(po.read(DJANGO_DIR / package / "locale/en/LC_MESSAGES" / f"{domain}.po"))
    vi_path = DJANGO_DIR / package / "locale/vi/LC_MESSAGES" / f"{domain}.po"
    vietnamese = {e.key: e for e in po.messages(po.read(vi_path))} if vi_path.exists() else {}

    def translated(entry: po.PoEntry) -> bool:
        ours = vietnamese.get(entry.key)
        return bool(
            ours and ours.translated and not ours.fuzzy and ours.is_plural == entry.is_plural
        )

    return [e for e in english if not translated(e)]


@pytest.mark.parametrize("package,domain", DJANGO_CATALOGUES, ids="/".join)
def test_django_catalogue_covers_what_djangos_vietnamese_lacks(package, domain):
    """After a Django upgrade, its new strings that have no Vietnamese yet need ours."""
    ours = {
        e.key: e
        for e in po.messages(
            po.read(VI_CATALOGUES["django-js" if domain == "djangojs" else "django"])
        )
    }
    lacking = _django_lacks(package, domain)
    missing = [
        f"{e.msgid!r} ({', '.join(e.references[:1])})"
        for e in lacking
        if e.key not in ours or ours[e.key].is_plural != e.is_plural
    ]
    assert missing == []


def _beat_sources() -> set[str]:
    """Every string literal in django-celery-beat's code (adjacent literals joined)."""
    return {
        node.value
        for path in BEAT_DIR.rglob("*.py")
        if "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_django_catalogue_msgids_exist_upstream():
    """A msgid that neither Django nor django-celery-beat has is a typo or old wording."""
    known = set()
    for package, domain in DJANGO_CATALOGUES:
        path = DJANGO_DIR / package / "locale/en/LC_MESSAGES" / f"{domain}.po"
        known |= {e.key for e in po.messages(po.read(path))}
    sources = _beat_sources()
    unknown = [
        str(e)
        for name in ("django", "django-js")
        for e in po.messages(po.read(VI_CATALOGUES[name]))
        if e.key not in known and e.msgid not in sources
    ]
    assert unknown == []


def test_celery_beat_labels_are_vietnamese():
    """Every label django-celery-beat's own catalogues list, and its code still uses, reads
    in Vietnamese in the admin (ours or Django's catalogue)."""
    sources = _beat_sources()
    reference = po.messages(po.read(BEAT_DIR / "locale/de/LC_MESSAGES/django.po"))
    in_use = [e for e in reference if e.msgid in sources and not e.is_plural]
    assert len(in_use) > 80
    with translation.override("vi"):
        english = [e.msgid for e in in_use if translation.gettext(e.msgid) == e.msgid]
    # Names that are the same in Vietnamese (an AMQP term).
    assert [m for m in english if m not in {"Exchange"}] == []


def test_django_strings_members_and_staff_meet_are_vietnamese():
    with translation.override("vi"):
        assert (
            translation.ngettext(
                "This password is too short. It must contain at least %d character.",
                "This password is too short. It must contain at least %d characters.",
                8,
            )
            % 8
            == "Mật khẩu này quá ngắn. Mật khẩu phải có ít nhất 8 ký tự."
        )
        for count in (1, 3):
            assert (
                translation.ngettext(
                    "Please correct the error below.", "Please correct the errors below.", count
                )
                == "Vui lòng sửa các lỗi bên dưới."
            )
        assert translation.gettext("Periodic Tasks") == "Tác vụ định kỳ"


def _form_errors(response) -> list[str]:
    html = _main(response)
    errors = _texts(r'<p class="error">(.*?)</p>', html)
    errors += _texts(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html)
    errors += _texts(r'<span class="helptext"[^>]*>(.*?)</span>', html)
    return [e for e in errors if e]


# What members can get wrong on the portal's and allauth's forms: every message they see
# differs from the English one (so none is left untranslated), and the password rules are
# the ones people meet.
BAD_FORMS = [
    (
        "/accounts/signup/",
        {"full_name": "", "email": "not-an-email", "phone": "12", "password1": "abc"},
        False,
    ),
    (
        "/accounts/signup/",
        {"full_name": "A", "email": "a@example.com", "password1": "12345678", "password2": "1"},
        False,
    ),
    ("/accounts/login/", {"login": "nobody@example.com", "password": "wrong-password"}, False),
    ("/accounts/password/reset/", {"email": "not-an-email"}, False),
    ("/accounts/login/code/", {"login": "12"}, False),
    ("/accounts/phone/change/", {"phone": "12", "action_add": ""}, True),
    ("/accounts/password/change/", {"oldpassword": "x", "password1": "a", "password2": "b"}, True),
    ("/accounts/email/", {"email": "not-an-email", "action_add": ""}, True),
    (
        "/me/profile/",
        {"full_name": "", "phone": "", "birth_date": "31/02/2020", "email": "x"},
        True,
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("path,data,logged_in", BAD_FORMS, ids=[f[0] for f in BAD_FORMS])
def test_form_errors_are_vietnamese(client, member_user, path, data, logged_in, settings):
    settings.ACCOUNT_RATE_LIMITS = False  # the same form is sent twice, once per language
    if logged_in:
        client.force_login(member_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _form_errors(client.post(path, data))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    response = client.post(path, data)
    assert response.status_code == 200
    vietnamese = _form_errors(response)
    assert vietnamese, f"{path}: no error shown"
    assert len(vietnamese) == len(english)
    assert [v for v, e in zip(vietnamese, english, strict=True) if v == e] == []


# ---------------------------------------------------------------------------------------------
# (d) Behaviour: the catalogues are the ones Django uses


def test_allauth_catalogue_is_on_locale_paths():
    paths = [Path(p) for p in settings.LOCALE_PATHS]
    assert paths[:3] == [PROJECT_LOCALE, ALLAUTH_LOCALE, DJANGO_LOCALE], (
        'LOCALE_PATHS must be [BASE_DIR / "locale", BASE_DIR / "loyalty" / "allauth_locale", '
        'BASE_DIR / "loyalty" / "django_locale"]'
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
