"""Staff accounts cannot be taken over: only superusers manage users, roles and permissions,
no role holds a staff-account permission, periodic tasks are read-only below superuser, and
the admin's login is rate limited (it is allauth's)."""

from __future__ import annotations

import uuid

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from members.models import User
from members.roles import PROGRAM_ADMIN, ROLE_PERMISSIONS, SUPPORT, role_may_hold, roles_sync
from tests.conftest import totp_enrol
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """allauth's rate limits count in the cache: each test starts from none, in a cache of its
    own (never the shared one)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"staff-accounts-{uuid.uuid4()}",
        }
    }
    # Every test hashes passwords a few times; PBKDF2 would make up most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    user = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    totp_enrol(user)
    return user


@pytest.fixture
def victim(db):
    """Another staff user, the one a climber would take over."""
    return UserFactory(email="victim@example.com", is_staff=True)


def _user_admin_urls(user) -> dict[str, str]:
    group = Group.objects.get(name=SUPPORT)
    email = EmailAddress.objects.create(user=user, email=user.email, verified=True)
    totp_enrol(user)
    authenticator = Authenticator.objects.get(user=user)
    return {
        "user list": reverse("admin:members_user_changelist"),
        "user add": reverse("admin:members_user_add"),
        "user change": reverse("admin:members_user_change", args=[user.pk]),
        "user password": reverse("admin:auth_user_password_change", args=[user.pk]),
        "user delete": reverse("admin:members_user_delete", args=[user.pk]),
        "user history": reverse("admin:members_user_history", args=[user.pk]),
        "group list": reverse("admin:auth_group_changelist"),
        "group add": reverse("admin:auth_group_add"),
        "group change": reverse("admin:auth_group_change", args=[group.pk]),
        "group delete": reverse("admin:auth_group_delete", args=[group.pk]),
        "email list": reverse("admin:account_emailaddress_changelist"),
        "email change": reverse("admin:account_emailaddress_change", args=[email.pk]),
        "authenticator list": reverse("admin:mfa_authenticator_changelist"),
        "authenticator change": reverse("admin:mfa_authenticator_change", args=[authenticator.pk]),
    }


def test_the_password_form_url_is_the_one_the_user_admin_serves(victim):
    # Django names the password view after the auth app whatever the user model is.
    assert reverse("admin:auth_user_password_change", args=[victim.pk]) == (
        f"/staff/members/user/{victim.pk}/password/"
    )


@pytest.mark.parametrize("role_fixture", ["program_admin", "marketer", "store_manager", "support"])
def test_no_role_opens_any_staff_account_page(client, request, role_fixture, victim):
    staff = request.getfixturevalue(role_fixture)
    client.force_login(staff)
    for name, url in _user_admin_urls(victim).items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {}).status_code == 403, name


def test_the_admin_index_does_not_list_staff_accounts_below_superuser(client, program_admin):
    client.force_login(program_admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert reverse("admin:members_user_changelist") not in response.content.decode()
    assert reverse("admin:auth_group_changelist") not in response.content.decode()
    assert reverse("admin:members_member_changelist") in response.content.decode()


def _change_form(user, **changes) -> dict:
    data = {
        "email": user.email,
        "name": user.name,
        "is_active": "on",
        "is_staff": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }
    data.update(changes)
    return data


def test_a_program_admin_cannot_make_themselves_superuser(client, program_admin):
    client.force_login(program_admin)
    url = reverse("admin:members_user_change", args=[program_admin.pk])
    admins = Group.objects.get(name=PROGRAM_ADMIN)
    response = client.post(url, _change_form(program_admin, is_superuser="on", groups=[admins.pk]))
    assert response.status_code == 403
    program_admin.refresh_from_db()
    assert not program_admin.is_superuser


def test_a_program_admin_cannot_set_another_users_password(client, program_admin, victim):
    client.force_login(program_admin)
    url = reverse("admin:auth_user_password_change", args=[victim.pk])
    response = client.post(url, {"password1": "taken-over-9481", "password2": "taken-over-9481"})
    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)


def test_a_superuser_manages_staff_accounts(client, superuser, victim):
    client.force_login(superuser)
    for name, url in _user_admin_urls(victim).items():
        assert client.get(url).status_code == 200, name

    url = reverse("admin:members_user_change", args=[victim.pk])
    support = Group.objects.get(name=SUPPORT)
    response = client.post(url, _change_form(victim, is_superuser="on", groups=[support.pk]))
    assert response.status_code == 302, response.context and response.context["errors"]
    victim.refresh_from_db()
    assert victim.is_superuser
    assert list(victim.groups.all()) == [support]

    url = reverse("admin:auth_user_password_change", args=[victim.pk])
    response = client.post(url, {"password1": "new-pass-9481x", "password2": "new-pass-9481x"})
    assert response.status_code == 302
    victim.refresh_from_db()
    assert victim.check_password("new-pass-9481x")


def test_no_role_holds_a_staff_account_permission(program_admin, marketer, store_manager, support):
    for role in ROLE_PERMISSIONS:
        held = Permission.objects.filter(group__name=role).select_related("content_type")
        keys = {f"{p.content_type.app_label}.{p.codename}" for p in held}
        assert keys, role
        assert not [key for key in keys if not role_may_hold(key)], role
    for user in (program_admin, marketer, store_manager, support):
        for perm in ("view_user", "change_user", "add_user", "delete_user"):
            assert not user.has_perm(f"members.{perm}"), (user.email, perm)
        assert not user.has_perm("auth.change_group")
        assert not user.has_perm("account.change_emailaddress")
    # A Program admin still manages members and the programme.
    assert program_admin.has_perm("members.change_member")
    assert program_admin.has_perm("members.adjust_points")
    assert program_admin.has_perm("members.change_program")


def test_a_role_list_asking_for_staff_permissions_is_not_given_them(monkeypatch):
    monkeypatch.setitem(
        ROLE_PERMISSIONS, SUPPORT, [*ROLE_PERMISSIONS[SUPPORT], "*auth", "members.change_user"]
    )
    roles_sync()
    codenames = set(Group.objects.get(name=SUPPORT).permissions.values_list("codename", flat=True))
    assert "adjust_points" in codenames
    assert not codenames & {"change_user", "change_group", "add_permission", "change_permission"}


@pytest.fixture
def periodic_task(db):
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    return PeriodicTask.objects.create(
        name="test tick", task="campaigns.tasks.tick", interval=every, enabled=True
    )


def test_a_program_admin_reads_periodic_tasks_but_cannot_write_or_run_them(
    client, program_admin, periodic_task, monkeypatch
):
    ran = []
    monkeypatch.setattr(
        beat_admin.PeriodicTaskAdmin, "run_tasks", lambda self, request, qs: ran.append(qs)
    )
    client.force_login(program_admin)
    changelist = reverse("admin:django_celery_beat_periodictask_changelist")
    response = client.get(changelist)
    assert response.status_code == 200
    assert response.context["action_form"] is None
    change = reverse("admin:django_celery_beat_periodictask_change", args=[periodic_task.pk])
    assert client.get(change).status_code == 200  # read-only form

    response = client.post(
        changelist, {"action": "run_tasks", "_selected_action": [periodic_task.pk], "index": 0}
    )
    assert response.status_code in (200, 302)
    assert ran == []
    assert client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 403
    response = client.post(
        change,
        {"name": "test tick", "task": "members.tasks.anything", "args": "[1]", "kwargs": "{}"},
    )
    assert response.status_code == 403
    delete = reverse("admin:django_celery_beat_periodictask_delete", args=[periodic_task.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    periodic_task.refresh_from_db()
    assert periodic_task.task == "campaigns.tasks.tick"
    for model in ("crontabschedule", "intervalschedule", "solarschedule", "clockedschedule"):
        url = reverse(f"admin:django_celery_beat_{model}_add")
        assert client.get(url).status_code == 403, model


def test_a_superuser_keeps_the_periodic_task_actions(client, superuser, periodic_task):
    client.force_login(superuser)
    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 200
    choices = [value for value, _label in response.context["action_form"].fields["action"].choices]
    assert "run_tasks" in choices
    assert client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 200


# ---------------------------------------------------------------------------------------------
# The admin's login is allauth's, with its rate limits


def test_the_admin_login_page_sends_staff_to_allauth_with_next(client):
    response = client.get(reverse("admin:login"), {"next": "/staff/members/member/"})
    assert response.status_code == 302
    assert response.url == reverse("account_login") + "?next=%2Fstaff%2Fmembers%2Fmember%2F"
    response = client.get(reverse("admin:login"), {"next": "https://evil.example/"})
    assert response.url == reverse("account_login") + "?next=%2Fstaff%2F"
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_signed_in_member_at_the_admin_login_is_refused_not_looped(client, member_user):
    client.force_login(member_user)
    assert client.get(reverse("admin:login"), {"next": "/staff/"}).status_code == 403


def test_a_hundred_wrong_passwords_then_the_right_one_is_refused(client, support):
    login = client.get(reverse("admin:login"), {"next": "/staff/"}).url
    statuses = [
        client.post(login, {"login": support.email, "password": f"wrong-{n}"}).status_code
        for n in range(100)
    ]
    # The form again with an error, then (past the per-IP limit) 429 Too Many Requests.
    assert set(statuses) == {200, 429}
    assert statuses.index(429) <= 30
    response = client.post(login, {"login": support.email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_right_password_signs_staff_in_before_the_limit(client, support):
    login = client.get(reverse("admin:login"), {"next": "/staff/"}).url
    for n in range(3):
        client.post(login, {"login": support.email, "password": f"wrong-{n}"})
    response = client.post(login, {"login": support.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == "/staff/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_per_account_limit_holds_whatever_address_the_guesses_come_from(client, support):
    login = reverse("account_login")
    for n in range(5):
        address = f"203.0.113.{n + 1}"
        client.post(login, {"login": support.email, "password": f"wrong-{n}"}, REMOTE_ADDR=address)
    response = client.post(
        login, {"login": support.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session
