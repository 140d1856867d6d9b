"""The audit log page: filters by member (accents optional), staff user, action and local
days (inclusive), pagination, bad filters and who may see it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from members.models import AuditEntry

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
URL = "/staff/audit/"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


@pytest.fixture
def entries(member, other_member, support, marketer):
    def make(when, action, who, whom, reason):
        return AuditEntry.objects.create(
            at=when, action=action, actor=who, member=whom, reason=reason
        )

    return {
        "adjust": make(at(2026, 3, 1, 9, 0), "points.adjusted", support, member, "Bù điểm"),
        "late": make(at(2026, 3, 1, 23, 30), "member.blocked", support, other_member, "Gian lận"),
        "next": make(at(2026, 3, 2, 0, 10), "member.unblocked", marketer, other_member, "Nhầm"),
        "key": AuditEntry.objects.create(
            at=at(2026, 2, 20, 8, 0), action="pos.api_key_created", actor_label="key HCM01"
        ),
    }


def rows(response) -> list[int]:
    return [entry.pk for entry in response.context["page"].object_list]


def test_the_unfiltered_log_lists_everything_newest_first(client, support, entries):
    client.force_login(support)
    response = client.get(URL)
    assert response.status_code == 200
    assert rows(response) == [
        entries["next"].pk,
        entries["late"].pk,
        entries["adjust"].pk,
        entries["key"].pk,
    ]
    body = response.content.decode()
    assert "Gian lận" in body
    assert reverse("console:member", args=[entries["late"].member_id]) in body


def test_member_filter_without_accents(client, support, entries):
    client.force_login(support)
    response = client.get(URL, {"member": "nguyen thi mai"})
    assert response.status_code == 200
    assert rows(response) == [entries["adjust"].pk]


def test_member_filter_by_card_number(client, support, entries, other_member):
    client.force_login(support)
    response = client.get(URL, {"member": other_member.card_number})
    assert rows(response) == [entries["next"].pk, entries["late"].pk]


def test_staff_filter_matches_email_part_and_actor_label(client, support, entries):
    client.force_login(support)
    assert rows(client.get(URL, {"staff": "MARKETER@"})) == [entries["next"].pk]
    assert rows(client.get(URL, {"staff": "hcm01"})) == [entries["key"].pk]


def test_action_filter(client, support, entries):
    client.force_login(support)
    assert rows(client.get(URL, {"action": "member.blocked"})) == [entries["late"].pk]


def test_days_are_local_and_inclusive(client, support, entries):
    """23:30 on 1 March in Hồ Chí Minh City is 16:30 UTC, 00:10 on 2 March is 17:10 UTC on
    1 March: the local day decides."""
    client.force_login(support)
    response = client.get(URL, {"start": "2026-03-01", "end": "2026-03-01"})
    assert rows(response) == [entries["late"].pk, entries["adjust"].pk]
    response = client.get(URL, {"start": "2026-03-02"})
    assert rows(response) == [entries["next"].pk]


def test_filters_combine(client, support, entries, other_member):
    client.force_login(support)
    response = client.get(
        URL, {"member": other_member.card_number, "staff": "support", "end": "2026-03-01"}
    )
    assert rows(response) == [entries["late"].pk]


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-03-02", "end": "2026-03-01"},
        {"start": "01/03/2026"},
        {"end": "2026-02-30"},
        {"action": "drop.table"},
        {"member": "x" * 500},
        {"staff": "a\x00b"},
    ],
)
def test_bad_filters_are_400_with_the_form_and_no_entries(client, support, entries, params):
    client.force_login(support)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.context["page"] is None
    assert response.context["form"].errors


def test_pages_of_fifty(client, support, member, django_assert_max_num_queries):
    AuditEntry.objects.bulk_create(
        AuditEntry(at=at(2026, 1, 1 + i // 24, i % 24), action="points.adjusted", member=member)
        for i in range(51)
    )
    client.force_login(support)
    with django_assert_max_num_queries(12):  # session, user, perms, count, one page: no N+1
        first = client.get(URL, {"action": "points.adjusted"})
    assert len(first.context["page"].object_list) == 50
    assert "page=2" in first.content.decode()
    second = client.get(URL, {"action": "points.adjusted", "page": "2"})
    assert len(second.context["page"].object_list) == 1
    assert client.get(URL, {"page": "abc"}).status_code == 200


@pytest.mark.parametrize("role", ["marketer", "store_manager"])
def test_roles_without_the_audit_permission_get_403(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403


def test_the_page_is_translated(client, support, entries):
    client.force_login(support)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="vi")
    body = response.content.decode()
    assert "Nhật ký" in body  # the title, "Audit log" in Vietnamese
    assert "Điểm được điều chỉnh" in body  # the action's label
