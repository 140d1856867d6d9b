"""The member page's staff actions: adjust points, block, unblock."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import AuditEntry, Member, PointAccount
from members.selectors import program_get
from members.services.points import points_grant

pytestmark = pytest.mark.django_db


def _balance(member) -> int:
    return PointAccount.objects.get(pk=member.pk).available


@pytest.fixture
def rich(member):
    points_grant(
        member=member, points=100, idempotency_key="seed", reason="seed", program=program_get()
    )
    return member


def test_adjust_adds_points_and_audits_once(client, support, rich):
    client.force_login(support)
    url = reverse("console:member_adjust", args=[rich.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"points": "25", "reason": "Bù điểm"})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:member", args=[rich.pk])
    assert _balance(rich) == 125
    entries = AuditEntry.objects.filter(member=rich, action="points.adjusted")
    assert [(e.reason, e.actor_id) for e in entries] == [("Bù điểm", support.pk)]


def test_adjust_without_reason_is_400_and_changes_nothing(client, support, rich):
    client.force_login(support)
    response = client.post(reverse("console:member_adjust", args=[rich.pk]), {"points": "25"})
    assert response.status_code == 400
    assert _balance(rich) == 100
    assert not AuditEntry.objects.filter(member=rich).exists()


@pytest.mark.parametrize("points", ["0", "abc", "99999999"])
def test_adjust_rejects_bad_points(client, support, rich, points):
    client.force_login(support)
    response = client.post(
        reverse("console:member_adjust", args=[rich.pk]), {"points": points, "reason": "x"}
    )
    assert response.status_code == 400
    assert _balance(rich) == 100


def test_deduction_beyond_balance_is_400_with_message(client, support, rich):
    client.force_login(support)
    response = client.post(
        reverse("console:member_adjust", args=[rich.pk]), {"points": "-500", "reason": "x"}
    )
    assert response.status_code == 400
    assert "500" in response.content.decode()
    assert _balance(rich) == 100
    assert not AuditEntry.objects.filter(member=rich).exists()


def test_without_permission_403(client, marketer, store_manager, rich):
    for user in (marketer, store_manager):
        client.force_login(user)
        url = reverse("console:member_adjust", args=[rich.pk])
        assert client.post(url, {"points": "5", "reason": "x"}).status_code == 403
        assert (
            client.post(
                reverse("console:member_block", args=[rich.pk]), {"reason": "x"}
            ).status_code
            == 403
        )
    assert _balance(rich) == 100
    assert Member.objects.get(pk=rich.pk).status == Member.Status.ACTIVE


def test_unknown_member_404(client, support):
    client.force_login(support)
    assert client.get(reverse("console:member_adjust", args=[999999])).status_code == 404


def test_block_then_unblock_audited_once_each(client, support, member):
    client.force_login(support)
    response = client.post(
        reverse("console:member_block", args=[member.pk]), {"reason": "Gian lận"}
    )
    assert response.status_code == 302
    assert Member.objects.get(pk=member.pk).is_blocked
    response = client.post(reverse("console:member_unblock", args=[member.pk]), {"reason": "Đã rõ"})
    assert response.status_code == 302
    assert not Member.objects.get(pk=member.pk).is_blocked
    actions = list(
        AuditEntry.objects.filter(member=member).order_by("pk").values_list("action", "reason")
    )
    assert actions == [("member.blocked", "Gian lận"), ("member.unblocked", "Đã rõ")]


def test_block_without_reason_400(client, support, member):
    client.force_login(support)
    response = client.post(reverse("console:member_block", args=[member.pk]), {"reason": " "})
    assert response.status_code == 400
    assert not Member.objects.get(pk=member.pk).is_blocked


def test_member_page_shows_only_allowed_actions(client, support, marketer, member):
    client.force_login(support)
    page = client.get(reverse("console:member", args=[member.pk])).content.decode()
    assert reverse("console:member_adjust", args=[member.pk]) in page
    client.force_login(marketer)
    page = client.get(reverse("console:member", args=[member.pk])).content.decode()
    assert reverse("console:member_adjust", args=[member.pk]) not in page
