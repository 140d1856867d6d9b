import pytest
from django.urls import reverse

from members.models import AuditEntry, Member

pytestmark = pytest.mark.django_db


def test_staff_log_in_to_the_admin(client, support):
    # The admin's login page is allauth's (rate limited, second factor where required).
    response = client.get(reverse("admin:login"), {"next": "/staff/"})
    assert response.status_code == 302
    assert response.url == reverse("account_login") + "?next=%2Fstaff%2F"
    response = client.post(
        response.url,
        {"login": "support@example.com", "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response.url == "/staff/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_members_cannot_enter_the_admin(client, member_user):
    client.force_login(member_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


@pytest.mark.parametrize(
    "query",
    ["Mai", "0912 345 678", "+84912345678", "mai@example.com", "card"],
)
def test_admin_finds_members_by_name_phone_email_and_card(
    client, program_admin, member, other_member, query
):
    if query == "card":
        query = member.card_number_display
    client.force_login(program_admin)
    response = client.get(reverse("admin:members_member_changelist"), {"q": query})
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert found == [member]


def test_every_model_has_an_admin_page(client, program_admin, member, store_key):
    from django.apps import apps
    from django.contrib import admin

    client.force_login(program_admin)
    for app_label in ("members", "pos", "tiers"):
        for model in apps.get_app_config(app_label).get_models():
            assert model in admin.site._registry, model
            url = reverse(f"admin:{app_label}_{model._meta.model_name}_changelist")
            # Staff accounts are superusers' alone (tests/members/test_staff_accounts.py).
            expected = 403 if model._meta.label == "members.User" else 200
            assert client.get(url).status_code == expected, url


def test_staff_edit_in_admin_goes_through_the_service_and_is_audited(client, support, member):
    client.force_login(support)
    url = reverse("admin:members_member_change", args=[member.pk])
    response = client.post(
        url,
        {
            "full_name": member.full_name,
            "phone": "0977 111 222",
            "email": member.email,
            "birth_date": "",
            "gender": "",
            "province": "hue",
            "occupation": "",
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
            "audit_entries-TOTAL_FORMS": "0",
            "audit_entries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else ""
    )
    member.refresh_from_db()
    assert member.phone == "+84977111222"
    assert member.province == "hue"
    assert AuditEntry.objects.filter(
        member=member, action="member.profile_changed", actor=support
    ).exists()


def test_admin_refuses_an_invalid_phone(client, support, member):
    client.force_login(support)
    url = reverse("admin:members_member_change", args=[member.pk])
    response = client.post(
        url,
        {
            "full_name": member.full_name,
            "phone": "12345",
            "email": member.email,
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
            "audit_entries-TOTAL_FORMS": "0",
            "audit_entries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert Member.objects.get(pk=member.pk).phone == "+84912345678"


def test_block_action_needs_the_block_permission(client, support, marketer, member):
    url = reverse("admin:members_member_changelist")
    client.force_login(marketer)
    client.post(url, {"action": "block_selected", "_selected_action": [member.pk]})
    member.refresh_from_db()
    assert not member.is_blocked
    client.force_login(support)
    client.post(url, {"action": "block_selected", "_selected_action": [member.pk]})
    member.refresh_from_db()
    assert member.is_blocked
    assert AuditEntry.objects.get(member=member, action="member.blocked").actor == support


def test_support_adjusts_points_with_a_reason_in_the_admin(client, support, member):
    client.force_login(support)
    url = reverse("admin:members_member_adjust_points", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"points": "150", "reason": "Goodwill: late delivery"})
    assert response.status_code == 302
    member.account.refresh_from_db()
    assert member.account.available == 150
    entry = AuditEntry.objects.get(member=member, action="points.adjusted")
    assert (entry.actor, entry.reason) == (support, "Goodwill: late delivery")


def test_admin_adjustment_without_reason_or_beyond_balance_changes_nothing(client, support, member):
    client.force_login(support)
    url = reverse("admin:members_member_adjust_points", args=[member.pk])
    assert client.post(url, {"points": "10", "reason": ""}).status_code == 200
    response = client.post(url, {"points": "-10", "reason": "Fix"})
    assert response.status_code == 200
    assert response.context["form"].errors["points"]
    member.account.refresh_from_db()
    assert member.account.available == 0
    assert not AuditEntry.objects.filter(member=member, action="points.adjusted").exists()


def test_marketer_cannot_adjust_points(client, marketer, member):
    client.force_login(marketer)
    url = reverse("admin:members_member_adjust_points", args=[member.pk])
    assert client.post(url, {"points": "10", "reason": "x"}).status_code == 403
