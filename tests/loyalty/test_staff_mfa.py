"""Superusers and Program admins sign in with a second factor (loyalty.staff_mfa and allauth's
MFA stage): without an authenticator app they are sent to set one up, and once enrolled the
login asks for the code (or a recovery code)."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth.models import Group
from django.urls import reverse

from members.models import User
from members.roles import PROGRAM_ADMIN
from tests.conftest import totp_enrol
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def mfa_settings(settings):
    # A cache of the test's own (rate limits and used codes live there) and one step of
    # tolerance, so a code computed just before a 30-second boundary is still good.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"staff-mfa-{uuid.uuid4()}",
        }
    }
    settings.MFA_TOTP_TOLERANCE = 1
    # Every test hashes passwords a few times; PBKDF2 would make up most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(email="root@example.com", password=PASSWORD)


@pytest.fixture
def new_program_admin(db):
    """A Program admin who has not set up an authenticator app yet."""
    user = UserFactory(email="newadmin@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=PROGRAM_ADMIN))
    return user


def _reauthenticate(client):
    """allauth asks for the password again before an authenticator is added."""
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content


def _password_login(client, user, next_url="/staff/"):
    return client.post(
        reverse("account_login") + f"?next={next_url}",
        {"login": user.email, "password": PASSWORD},
    )


@pytest.mark.parametrize("who", ["superuser", "new_program_admin"])
@pytest.mark.parametrize("path", ["/staff/", "/staff/members/member/", "/staff/find/"])
def test_staff_who_must_use_mfa_are_sent_to_set_it_up(client, request, who, path):
    client.force_login(request.getfixturevalue(who))
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    page = client.get(response.url, follow=True)  # via allauth's password check
    assert page.status_code == 200
    assert page.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    messages = [str(m) for m in page.context["messages"]]
    assert any("authenticator app" in m or "ứng dụng xác thực" in m for m in messages), messages


def test_enrolled_staff_are_let_through(client, superuser, new_program_admin):
    for user in (superuser, new_program_admin):
        totp_enrol(user)
        client.force_login(user)
        assert client.get("/staff/").status_code == 200  # the console's home: the admin index


def test_other_roles_and_members_are_not_asked(client, support, member_user):
    client.force_login(support)
    assert client.get("/staff/").status_code == 200
    client.force_login(member_user)
    assert client.get(reverse("portal:home")).status_code == 200


def test_staff_not_yet_enrolled_can_still_sign_out(client, superuser):
    client.force_login(superuser)
    response = client.post(reverse("admin:logout"))
    assert response.status_code in (200, 302)
    assert reverse("mfa_activate_totp") not in response.get("Location", "")
    assert "_auth_user_id" not in client.session


def test_enrolment_through_the_real_pages_then_login_asks_for_the_code(client, new_program_admin):
    # First login: password only (nothing enrolled yet), then the admin sends them to set up.
    response = _password_login(client, new_program_admin)
    assert response.status_code == 302 and response.url == "/staff/"
    response = client.get("/staff/")
    assert response.url == reverse("mfa_activate_totp")
    _reauthenticate(client)
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code, drawn by segno
    secret = page.context["form"].secret
    assert secret in html  # shown for typing into an app by hand
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response.url == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(
        user=new_program_admin, type=Authenticator.Type.TOTP
    ).exists()
    codes_page = client.get(response.url)
    assert codes_page.status_code == 200
    assert client.get("/staff/").status_code == 200

    # Next login: the password alone is not enough.
    client.post(reverse("account_logout"))
    response = _password_login(client, new_program_admin)
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    assert client.get("/staff/").status_code == 302
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 200 and response.context["form"].errors
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response.url == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_recovery_code_signs_in_once(client, superuser):
    secret = totp_enrol(superuser)
    codes = RecoveryCodes.activate(superuser).get_unused_codes()
    response = _password_login(client, superuser)
    assert response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302 and response.url == "/staff/"
    assert client.get("/staff/").status_code == 200

    client.post(reverse("account_logout"))
    _password_login(client, superuser)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 200 and response.context["form"].errors
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302 and response.url == "/staff/"


def test_code_guesses_are_rate_limited(client, superuser):
    secret = totp_enrol(superuser)
    _password_login(client, superuser)
    for n in range(10):
        client.post(reverse("mfa_authenticate"), {"code": f"{n:06d}"})
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_mfa_pages_are_the_sites_pages(client, superuser, language):
    """The set-up, recovery-code and code pages render in the site's layout (its stylesheet,
    top bar and phone viewport), not allauth's bare one."""
    client.cookies["django_language"] = language
    _password_login(client, superuser)
    reauthenticate = client.get(reverse("account_reauthenticate"))
    assert 'class="topbar"' in reauthenticate.content.decode()
    _reauthenticate(client)
    pages = [reverse("mfa_activate_totp"), reverse("mfa_index")]
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'class="topbar"' in html, url
        assert "css/app.css" in html, url
        assert 'name="viewport" content="width=device-width' in html, url
        assert f'<html lang="{language}"' in html, url
        # Nothing inline, for the Content-Security-Policy: no script body, style or handler.
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=", html), url

    totp_enrol(superuser)
    client.post(reverse("account_logout"))
    _password_login(client, superuser)
    response = client.get(reverse("mfa_authenticate"))
    assert response.status_code == 200
    assert 'class="topbar"' in response.content.decode()


def test_the_demo_superuser_signs_in_with_the_printed_secret(client, settings):
    from io import StringIO

    from django.core.management import call_command

    from pos.management.commands.seed_demo import demo_password, demo_totp_secret

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", "--quiet", stdout=out)
    secret = demo_totp_secret()
    assert secret in out.getvalue()
    call_command("seed_demo", "--quiet", stdout=StringIO())  # a second run keeps the secret

    for email in ("admin@demo.local", "programadmin@demo.local"):
        client.post(reverse("account_logout"))
        response = client.post(
            reverse("account_login") + "?next=/staff/",
            {"login": email, "password": demo_password()},
        )
        assert response.url == reverse("mfa_authenticate"), email
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert response.status_code == 302, email
        assert client.get("/staff/").status_code == 200, email
