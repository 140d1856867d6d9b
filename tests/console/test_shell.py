"""The staff console's shell: Django's admin at /staff/, its old /admin/ address redirecting."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import Member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_lives_at_staff():
    assert reverse("admin:index") == "/staff/"
    assert reverse("admin:members_member_changelist") == "/staff/members/member/"
    assert reverse("staff_login") == "/staff/login/"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/", "/staff/"),
        ("/admin/members/member/", "/staff/members/member/"),
        ("/admin/members/member/?q=nguyen&o=2", "/staff/members/member/?q=nguyen&o=2"),
        ("/admin/members/member/12/change/", "/staff/members/member/12/change/"),
        ("/admin/login/?next=/admin/rewards/", "/staff/login/?next=/admin/rewards/"),
        # Never another host: slashes after /admin/ stay a path under /staff/.
        ("/admin//evil.example/", "/staff/evil.example/"),
        ("/admin/caf%C3%A9/", "/staff/caf%C3%A9/"),
    ],
)
def test_every_admin_path_moved_permanently_to_the_same_path_under_staff(client, old, new):
    response = client.get(old)
    assert response.status_code == 301
    assert response["Location"] == new


def test_the_old_address_redirects_whoever_asks_and_the_admin_then_decides(client, support):
    client.force_login(support)
    response = client.get("/admin/members/member/", follow=True)
    assert response.redirect_chain == [("/staff/members/member/", 301)]
    assert response.status_code == 200


def test_a_post_to_the_old_address_changes_nothing(client, support):
    client.force_login(support)
    before = Member.objects.count()
    response = client.post("/admin/members/member/add/", {"full_name": "X", "phone": "0901234567"})
    assert response.status_code == 301
    assert response["Location"] == "/staff/members/member/add/"
    assert Member.objects.count() == before


def test_staff_landing_goes_to_the_console_home(client, support):
    client.force_login(support)
    response = client.get(reverse("landing"))
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


def test_the_console_home_has_the_member_search_and_the_console_group(client, support):
    client.force_login(support)
    response = client.get("/staff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/staff/find/"' in html and 'name="q"' in html
    assert 'class="module console-nav' in html  # the sidebar's/menu's "Console" group
    assert 'href="/staff/find/"' in html
    assert "console/console.css" in html
    assert 'class="console-menu"' in html  # the phone's menu


def test_the_console_group_follows_permissions(client):
    # Staff who may see stores but not members: no search box, no "Find a member".
    from django.contrib.auth.models import Permission

    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_store"))
    client.force_login(clerk)
    response = client.get("/staff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/staff/members/store/"' in html
    assert 'action="/staff/find/"' not in html
    assert 'href="/staff/find/"' not in html
    assert "console-nav" not in html  # nothing of the group to show: no empty group


def test_change_lists_carry_no_inline_style(client, support):
    client.force_login(support)
    for url in ("/staff/members/member/", "/staff/members/auditentry/", "/staff/members/store/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<style" not in html, url
        assert "console/console.js" in html, url
