"""The staff console is wholly in the language chosen (issue #14): every admin change list,
add and change form and every console page a superuser or a staff role reaches from /staff/
shows, in Vietnamese, none of the English strings Django's admin, django-celery-beat and
allauth leave untranslated; in English, none of the console's Vietnamese phrases."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tests import po
from tests.conftest import totp_enrol
from tests.factories import PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["superuser", "program_admin", "marketer", "store_manager", "support"]

# English a Vietnamese page must not show (Django's admin, django-celery-beat, allauth).
# Matched case-sensitively as whole words; "Add " is the start of "Add <model>".
ENGLISH_LEFTOVERS = [
    "Show counts",
    "Hide counts",
    "Periodic tasks",
    "Periodic Tasks",
    "Task Name",
    "Logo",
    "Add ",
    "Save and continue editing",
    "Save and add another",
    "Save as new",
    "Filter",
    "Select",
    "Authenticator",
    "Authenticators",
    "Search",
    "Delete",
    "History",
    "View site",
    "Log out",
    "Change password",
    "Welcome",
    "Home",
    "Clear all filters",
    "Action",
    "Run selected",
    "Enabled",
    "Last modified",
    "Any date",
    "Past 7 days",
    "This month",
    "This year",
    "Today",
    "Yes",
    "Unknown",
    "Choose",
    "Remove",
    "Description",
    "Interval Schedule",
    "Crontab Schedule",
    "Solar Schedule",
    "Clocked Schedule",
    "Email address",
    "Email addresses",
    "Verified",
    "Primary",
    "Created at",
    "Last used at",
]
_WORD_END = r"(?![\w])"
_ENGLISH_RE = re.compile(
    "|".join(
        r"(?<![\w])" + re.escape(s.strip()) + ("[ ]" if s.endswith(" ") else _WORD_END)
        for s in ENGLISH_LEFTOVERS
    )
)

_VIETNAMESE_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE
)
# What is data, not the console's words: the personas' and fixtures' names, the language
# button ("Tiếng Việt"), the programme's tier names entered in Vietnamese.
# "Tết Nguyên Đán" is the holiday's own name, kept in the English label too.
_DATA_VI = {"Nguyễn Thị Mai", "Quận 1", "Tiếng Việt", "Tết Nguyên Đán"}


def _console_phrases_vi() -> list[str]:
    """The console's Vietnamese: every translation of ours of two words or more with a letter
    only Vietnamese uses (one word alone may as well be a member's name)."""
    base = Path(settings.BASE_DIR)
    phrases = set()
    for path in [
        base / "locale" / "vi" / "LC_MESSAGES" / "django.po",
        base / "loyalty" / "django_locale" / "vi" / "LC_MESSAGES" / "django.po",
    ]:
        for entry in po.messages(po.read(path)):
            for text in entry.translations:
                text = text.strip()
                if (
                    text
                    and text != entry.msgid
                    and " " in text
                    and "%" not in text
                    and "{" not in text
                    and "<" not in text
                    and "\n" not in text
                    and _VIETNAMESE_LETTERS.search(text)
                ):
                    phrases.add(text)
    return sorted(phrases - _DATA_VI, key=len, reverse=True)


class _VisibleText(HTMLParser):
    """The text a person sees: text outside script/style/template, and the words on buttons
    and in empty inputs (submit values, placeholders). What a field holds (a text input's
    value, a textarea's text: a campaign's message written in Vietnamese) is data, not the
    console's words."""

    _HIDDEN = {"script", "style", "template", "noscript", "textarea"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self._HIDDEN or (
            tag == "div" and (self._hidden or "readonly" in (attrs.get("class") or "").split())
        ):
            # A read-only field's value (a div of class "readonly") is data as well.
            self._hidden += 1
            return
        if tag == "input" and attrs.get("type") in {"submit", "button", "reset"}:
            self.parts.append(attrs.get("value") or "")
        if attrs.get("placeholder"):
            self.parts.append(attrs["placeholder"])

    def handle_endtag(self, tag):
        if (tag in self._HIDDEN or tag == "div") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


@pytest.fixture
def superuser(db):
    user = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    totp_enrol(user)
    return user


@pytest.fixture
def world(member, store):
    """One row in the main tables, so change forms open and change lists show columns."""
    PurchaseFactory(member=member, store=store)
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.DAYS)[0]
    PeriodicTask.objects.get_or_create(
        name="nightly", defaults={"task": "members.tasks.x", "interval": every}
    )
    return member


def _console_urls(member) -> list[str]:
    """Every page of the console's URLconf (console:...) that takes no argument or a member."""
    urls = []
    console = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "console"
    )

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                keys = set(pattern.pattern.converters)
                name = f"console:{pattern.name}"
                try:
                    if not keys:
                        urls.append(reverse(name))
                    elif keys == {"member_id"}:
                        urls.append(reverse(name, kwargs={"member_id": member.pk}))
                except NoReverseMatch:
                    pass

    walk(console.url_patterns)
    return urls


def _admin_urls() -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls.append(reverse("admin:{}_{}_add".format(*info)))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    return urls


def _pages(client, member):
    """(url, visible text) of every HTML page this client may open."""
    for url in [*_admin_urls(), *_console_urls(member)]:
        response = client.get(url)
        if response.status_code != 200:
            assert response.status_code in {302, 400, 403, 404, 405}, (url, response.status_code)
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        yield url, visible_text(response.content.decode())


def _login(client, request, persona, language):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_console_in_vietnamese_has_no_english_left(client, request, world, persona):
    _login(client, request, persona, "vi")
    found: dict[str, set[str]] = {}
    seen = 0
    for url, text in _pages(client, world):
        seen += 1
        for match in _ENGLISH_RE.finditer(text):
            found.setdefault(match.group().strip(), set()).add(url)
    assert seen > 1
    assert not found, "\n".join(f"{s!r}: {sorted(urls)}" for s, urls in sorted(found.items()))


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_console_in_english_has_no_vietnamese_left(client, request, world, persona):
    _login(client, request, persona, "en")
    phrases = _console_phrases_vi()
    pattern = re.compile("|".join(rf"(?<![\w]){re.escape(p)}(?![\w])" for p in phrases))
    found: dict[str, set[str]] = {}
    seen = 0
    for url, text in _pages(client, world):
        seen += 1
        for match in pattern.finditer(text):
            found.setdefault(match.group(), set()).add(url)
    assert seen > 1
    assert not found, "\n".join(f"{s!r}: {sorted(urls)}" for s, urls in sorted(found.items()))


def test_visible_text_skips_scripts_and_reads_buttons():
    html = (
        '<p>Lưu</p><script>var a = "Show counts";</script>'
        '<input type="submit" value="Save"><input placeholder="Tìm">'
    )
    assert visible_text(html).split("\n") == ["Lưu", "Save", "Tìm"]
