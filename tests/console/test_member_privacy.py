"""The member's personal-data requests from the member page: export (a download recorded as
the member's request) and erase (after the card number is typed); refusals change nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from members.models import AuditEntry, DataRequest, Member

pytestmark = pytest.mark.django_db


def test_support_exports_a_zip_of_the_members_data(client, support, member):
    client.force_login(support)
    url = reverse("console:member_export", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"format": "csv", "reason": "Thư yêu cầu số 12"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert any(name.endswith(".csv") for name in names)
    everything = b"".join(archive.read(name) for name in names).decode("utf-8-sig")
    assert "Nguyễn Thị Mai" in everything
    request = DataRequest.objects.get(member=member)
    assert (request.kind, request.channel, request.acting_user_id, request.note) == (
        DataRequest.Kind.EXPORT,
        DataRequest.Channel.STAFF,
        support.pk,
        "Thư yêu cầu số 12",
    )
    assert AuditEntry.objects.filter(member=member, action="member.data_request.export").exists()


def test_export_as_json(client, support, member):
    client.force_login(support)
    response = client.post(
        reverse("console:member_export", args=[member.pk]), {"format": "json", "reason": "x"}
    )
    assert response.status_code == 200
    assert response.json()  # the member's data as one document


@pytest.mark.parametrize("body", [{"format": "csv"}, {"format": "xml", "reason": "x"}])
def test_export_bad_input_is_400_and_records_nothing(client, support, member, body):
    client.force_login(support)
    response = client.post(reverse("console:member_export", args=[member.pk]), body)
    assert response.status_code == 400
    assert not DataRequest.objects.exists()


def test_erase_needs_the_card_number(client, support, member):
    client.force_login(support)
    url = reverse("console:member_erase", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "Gọi điện yêu cầu", "confirm": "123"})
    assert response.status_code == 400
    member.refresh_from_db()
    assert not member.is_erased
    assert not DataRequest.objects.exists()


def test_erase_with_the_card_number(client, support, member):
    client.force_login(support)
    card = member.card_number
    spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    response = client.post(
        reverse("console:member_erase", args=[member.pk]),
        {"reason": "Gọi điện yêu cầu", "confirm": spaced},
    )
    assert response.status_code == 302
    erased = Member.objects.get(pk=member.pk)
    assert erased.is_erased
    assert (erased.full_name, erased.phone, erased.email) == ("", None, None)
    assert erased.card_number != card
    request = DataRequest.objects.get(member=member, kind=DataRequest.Kind.ERASE)
    assert (request.channel, request.acting_user_id) == (DataRequest.Channel.STAFF, support.pk)
    # An erased member: both requests refuse, and the page offers neither.
    again = client.post(
        reverse("console:member_erase", args=[member.pk]),
        {"reason": "x", "confirm": erased.card_number},
    )
    assert again.status_code == 400
    export = client.post(
        reverse("console:member_export", args=[member.pk]), {"format": "csv", "reason": "x"}
    )
    assert export.status_code == 400
    assert DataRequest.objects.filter(member=member).count() == 1
    page = client.get(reverse("console:member", args=[member.pk])).content.decode()
    assert reverse("console:member_erase", args=[member.pk]) not in page


@pytest.mark.parametrize("role", ["marketer", "store_manager"])
def test_roles_without_the_permission_get_403(client, request, member, role):
    client.force_login(request.getfixturevalue(role))
    for name in ("console:member_export", "console:member_erase"):
        response = client.post(reverse(name, args=[member.pk]), {"reason": "x", "format": "csv"})
        assert response.status_code == 403
    assert not DataRequest.objects.exists()


def test_the_member_page_offers_both_to_support(client, support, member):
    client.force_login(support)
    page = client.get(reverse("console:member", args=[member.pk])).content.decode()
    assert reverse("console:member_export", args=[member.pk]) in page
    assert reverse("console:member_erase", args=[member.pk]) in page
