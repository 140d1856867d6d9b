"""A missing object is a 404 in the admin's own pages, never a 500: every custom admin view
that takes an id (found from the admin's URLs, so a new one is checked too), with an id that
does not exist and with one that is not a number, for every staff role."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import URLPattern, reverse

from members.models import User
from tests.conftest import totp_enrol

pytestmark = pytest.mark.django_db

MISSING = 999999
STANDARD = ("changelist", "add", "change", "delete", "history")


def custom_views_with_an_id() -> list[str]:
    """The names of the admin's own URLs that take an object's id."""
    names = []
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        standard = {prefix + suffix for suffix in STANDARD}
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or not pattern.name:
                continue
            if pattern.name in standard or not pattern.pattern.converters:
                continue
            names.append(pattern.name)
    return sorted(names)


CUSTOM = custom_views_with_an_id()


def test_the_custom_views_are_found():
    # The ones known today; a new one joins the checks below by itself.
    assert {"members_member_adjust_points", "rewards_reward_partner_codes"} <= set(CUSTOM)
    assert "tiers_membertier_set" in CUSTOM


@pytest.fixture
def superuser(db):
    user = User.objects.create_superuser(email="root@example.com", password="x-Very-long-9")
    totp_enrol(user)
    return user


ROLES = ["superuser", "program_admin", "marketer", "store_manager", "support"]


def url_with(name: str, value) -> str:
    return reverse(f"admin:{name}", args=[MISSING]).replace(str(MISSING), str(value))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", CUSTOM)
def test_a_missing_id_is_404_or_403_never_500(client, request, role, name):
    user = request.getfixturevalue(role)
    client.force_login(user)
    for method in (client.get, client.post):
        response = method(url_with(name, MISSING))
        # Who may use the page learns there is no such object; who may not is refused.
        assert response.status_code in (403, 404), (name, role, response.status_code)
        if user.is_superuser:
            assert response.status_code == 404, (name, response.status_code)


@pytest.mark.parametrize("name", CUSTOM)
def test_a_non_numeric_id_is_404(client, superuser, name):
    client.force_login(superuser)
    response = client.get(url_with(name, "abc"), follow=True)
    assert response.status_code == 404, (name, response.redirect_chain)


def test_adjust_points_of_a_missing_member_is_404_for_support(client, support):
    client.force_login(support)
    url = reverse("admin:members_member_adjust_points", args=[MISSING])
    assert client.get(url).status_code == 404
    assert client.post(url, {"points": "10", "reason": "sorry"}).status_code == 404


def test_set_tier_of_a_missing_member_is_404(client, program_admin):
    client.force_login(program_admin)
    url = reverse("admin:tiers_membertier_set", args=[MISSING])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "members_member_change",
        "members_member_history",
        "members_purchase_change",
        "members_purchasereturn_change",
        "members_store_change",
        "members_pointentry_change",
        "rewards_reward_change",
        "rewards_voucher_change",
        "tiers_membertier_change",
        "tiers_tierchange_change",
    ],
)
@pytest.mark.parametrize("value", [MISSING, "abc"])
def test_a_missing_object_page_is_404_not_a_redirect(client, superuser, name, value):
    client.force_login(superuser)
    assert client.get(url_with(name, value)).status_code == 404


def test_a_role_that_only_views_members_opens_a_member_page(client, marketer, member):
    # The profile form has no fields for a viewer: it used to fail on ``full_name`` (a 500).
    client.force_login(marketer)
    url = reverse("admin:members_member_change", args=[member.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert member.card_number in response.content.decode()
