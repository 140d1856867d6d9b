"""The staff console's shell: Django's admin at /staff/, its old /admin/ address redirecting."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import Member

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
