"""Personal-data rights (Decree 13/2023): download my data, withdraw consents, delete my
account; the staff actions that carry them out for a member; the record of each request."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Notification, Send, SmsLog
from members.models import (
    AuditEntry,
    ConsentEvent,
    DataRequest,
    Member,
    PointEntry,
    Purchase,
    User,
)
from members.roles import MARKETER, PROGRAM_ADMIN, STORE_MANAGER, SUPPORT
from members.services import member_set_consent, member_update_profile
from members.services.privacy import (
    RELATIONS,
    SECTIONS,
    data_request_record,
    erased_identifier,
    member_data_export,
    member_data_export_csv,
    member_erase,
    member_withdraw_consents,
)
from promotions.models import KnownContact, PurchaseReview, Referral
from promotions.services.activity import purchase_review_submit
from tests.campaigns.campaign_helpers import make_campaign
from tests.factories import MemberFactory, UserFactory
from tests.pos.helpers import PosClient, assert_error
from tests.rewards.conftest import give_points, make_reward, redeem

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


# ---------------------------------------------------------------------------------------------
# A member with something in every table


@pytest.fixture
def pos(client, store_key):
    return PosClient(client, store_key[1])


@pytest.fixture
def rich(member_user, pos, store):
    """The portal member with consents, purchases (items, a return), vouchers (one used),
    a referral each way, a review, a campaign send and its notification, staff actions."""
    member = member_user.member
    for channel in ("email", "sms"):
        member_set_consent(member=member, channel=channel, granted=True, source="portal")
    response = pos.purchase(
        {
            "external_id": "R-1",
            "member": member.card_number,
            "total_amount": "300000",
            "items": [
                {"sku": "CF-1", "name": "Cà phê sữa đá", "quantity": 2, "unit_price": "100000"},
                {"sku": "BM-1", "name": "Bánh mì", "quantity": 1, "unit_price": "100000"},
            ],
        }
    )
    assert response.status_code == 201, response.content
    response = pos.give_back(
        "R-1", {"external_id": "RET-1", "items": [{"sku": "BM-1", "quantity": 1}]}
    )
    assert response.status_code == 201, response.content
    give_points(member, 1000)
    reward = make_reward(points_cost=100)
    unused = redeem(member, reward)
    used_reward = make_reward(points_cost=100)
    used = redeem(member, used_reward)
    response = pos.purchase(
        {
            "external_id": "R-2",
            "member": member.card_number,
            "total_amount": "200000",
            "voucher_codes": [used.code],
        }
    )
    assert response.status_code == 201, response.content
    referee = MemberFactory(
        full_name="Võ Thị Hoa", referred_by=member, ip="10.0.0.9", device_id="dev-hoa"
    )
    referrer = MemberFactory(full_name="Hồ Văn Nam")
    # The portal member joined without a code; as a referee they have this row (as the
    # referral checks write it when a code is given).
    Referral.objects.create(
        referrer=referrer,
        referee=member,
        channel="portal",
        ip="10.1.2.3",
        device_id="dev-lan",
        joined_at=member.joined_at,
        joined_on=timezone.localdate(member.joined_at),
        window_ends_at=member.joined_at + timedelta(days=30),
    )
    purchase = Purchase.objects.get(external_id="R-1")
    purchase_review_submit(member=member, purchase=purchase, rating=5, comment="Ngon, phục vụ tốt")
    campaign = make_campaign("privacy-test", name="Ưu đãi tháng 12")
    send = Send.objects.create(
        campaign=campaign, member=member, occurrence="once", status="sent", in_app_status="sent"
    )
    Notification.objects.create(member=member, send=send, title="Chào Lan", body="Quà cho Lan")
    Send.objects.create(
        campaign=campaign, member=member, occurrence="later", status="queued", sms_status="pending"
    )
    SmsLog.objects.create(key="send:x", phone=member.phone, text="Chào Lan, ưu đãi")
    staff = UserFactory(email="staff@example.com", is_staff=True)
    member_update_profile(member=member, acting_user=staff, occupation="Kỹ sư")
    member.refresh_from_db()
    return {
        "member": member,
        "unused": unused,
        "used": used,
        "referee": referee,
        "referrer": referrer,
    }


def _login(client, email="lan@example.com"):
    """Log in, then confirm the password again (what the download and the deletion ask)."""
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content


# ---------------------------------------------------------------------------------------------
# Completeness: every relation to the member or their login is exported or excluded


def _relations(model):
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and rel.related_model is not None:
            yield f"{rel.related_model._meta.label}.{rel.field.name}"


def test_every_relation_to_member_and_login_is_exported_or_excluded_with_a_reason():
    missing = [
        key
        for key in [*_relations(Member), *_relations(User)]
        if key not in RELATIONS or not RELATIONS[key].strip()
    ]
    assert missing == [], (
        "Add these relations to members.services.privacy (a section of the export, or "
        f"'excluded: <why>' in RELATIONS): {missing}"
    )
    sections = {section.name for section in SECTIONS} | {
        "profile",
        "login",
        "point_account",
        "tier",
        "segment_score",
    }
    for key, target in RELATIONS.items():
        assert target.startswith("excluded: ") or target in sections, key


def test_export_has_every_table_with_the_members_rows(rich):
    member = rich["member"]
    data = member_data_export(member)
    json.dumps(data)  # JSON-serialisable as it is
    assert data["profile"]["full_name"] == "Lê Thị Lan"
    assert data["profile"]["phone"] == "+84903123456"
    assert data["profile"]["card_number"] == member.card_number
    assert data["profile"]["occupation"] == "Kỹ sư"
    assert data["profile"]["enrolled_via"] == "portal"
    assert data["login"]["email"] == "lan@example.com"
    assert data["login"]["second_factor"] is False
    assert data["login_email_addresses"] == [] or data["login_email_addresses"][0]["email"]
    assert {(c["channel"], c["granted"]) for c in data["consent_history"]} == {
        ("email", True),
        ("sms", True),
    }
    entries = data["point_entries"]
    assert len(entries) == PointEntry.objects.filter(member=member).count()
    assert sum(e["available_delta"] for e in entries) == data["point_account"]["available"]
    receipts = {p["receipt"]: p for p in data["purchases"]}
    assert set(receipts) == {"R-1", "R-2"}
    r1 = receipts["R-1"]
    assert r1["total_amount"] == "300000.00"
    assert [i["name"] for i in r1["items"]] == ["Cà phê sữa đá", "Bánh mì"]
    assert [r["return_id"] for r in r1["returns"]] == ["RET-1"]
    assert r1["occurred_at"][:4].isdigit() and "T" in r1["occurred_at"]
    statuses = {v["code"]: v["status"] for v in data["vouchers"]}
    assert statuses == {rich["unused"].code: "issued", rich["used"].code: "used"}
    assert [r["role"] for r in data["referrals_made"]] == ["referrer"]
    assert [r["role"] for r in data["referred_by"]] == ["referee"]
    assert data["reviews"][0]["comment"] == "Ngon, phục vụ tốt"
    assert {s["occurrence"] for s in data["campaign_sends"]} == {"once", "later"}
    assert data["notifications"][0]["body"] == "Quà cho Lan"
    assert [a["action"] for a in data["staff_actions"]] == ["member.profile_changed"]
    assert {c["kind"] for c in data["known_contacts"]} == {"phone", "email"}
    assert data["tier"] is None or data["tier"]["tier"]


def test_export_holds_no_other_members_personal_data(rich):
    text = json.dumps(member_data_export(rich["member"]), ensure_ascii=False)
    for other in (rich["referee"], rich["referrer"]):
        assert other.full_name not in text
        assert other.phone not in text
        assert other.email not in text
        assert other.card_number not in text
    assert "dev-hoa" not in text and "10.0.0.9" not in text
    assert "staff@example.com" not in text


def test_csv_is_a_zip_of_utf8_bom_tables_excel_reads(rich):
    content, content_type, filename = member_data_export_csv(rich["member"])
    assert content_type == "application/zip"
    assert filename.endswith(".zip") and rich["member"].card_number in filename
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = set(archive.namelist())
    assert {"profile.csv", "purchases.csv", "purchase_items.csv", "point_entries.csv"} <= names
    assert {f"{s.name}.csv" for s in SECTIONS if s.name != "purchases"} <= names
    raw = archive.read("profile.csv")
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["full_name"] == "Lê Thị Lan"
    items = list(
        csv.DictReader(io.StringIO(archive.read("purchase_items.csv").decode("utf-8-sig")))
    )
    assert {i["name"] for i in items} == {"Cà phê sữa đá", "Bánh mì"}
    assert all(i["receipt"] == "R-1" for i in items)
    entries = list(
        csv.DictReader(io.StringIO(archive.read("point_entries.csv").decode("utf-8-sig")))
    )
    assert len(entries) == PointEntry.objects.filter(member=rich["member"]).count()


def test_export_of_a_member_without_login_or_rows(member):
    data = member_data_export(member)
    assert data["login"] is None
    assert data["purchases"] == [] and data["vouchers"] == []
    content, _type, _name = member_data_export_csv(member)
    assert (
        zipfile.ZipFile(io.BytesIO(content)).read("login.csv").decode("utf-8-sig").count("\n") == 1
    )


def test_export_reads_a_long_ledger_in_a_bounded_number_of_queries(
    member, django_assert_max_num_queries
):
    for _ in range(50):
        give_points(member, 10)
    with django_assert_max_num_queries(40):
        data = member_data_export(member)
    assert len(data["point_entries"]) == 50


# ---------------------------------------------------------------------------------------------
# Withdraw consents


def test_withdraw_turns_every_consent_off_with_events_and_campaigns_skip(member):
    for channel in ("email", "sms"):
        member_set_consent(member=member, channel=channel, granted=True, source="portal")
    request = member_withdraw_consents(member=member, acting_user=None, channel="portal")
    member.refresh_from_db()
    assert not member.email_consent and not member.sms_consent
    last = {e.channel: e for e in ConsentEvent.objects.filter(member=member).order_by("at", "id")}
    assert {c: (e.granted, e.source) for c, e in last.items()} == {
        "email": (False, "portal"),
        "sms": (False, "portal"),
    }
    assert request.kind == "withdraw_consents" and request.completed_at
    from campaigns.channels import channel_get

    assert not channel_get("email").consented(member)
    assert not channel_get("sms").consented(member)
    # Twice: nothing more recorded about the consents, the request is.
    events = ConsentEvent.objects.count()
    member_withdraw_consents(member=member, acting_user=None, channel="portal")
    assert ConsentEvent.objects.count() == events


def test_portal_withdraw(client, member_user):
    member = member_user.member
    member_set_consent(member=member, channel="sms", granted=True, source="portal")
    client.force_login(member_user)
    response = client.post(reverse("portal:my_data_withdraw"))
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.sms_consent
    assert DataRequest.objects.get(member=member).channel == "portal"


# ---------------------------------------------------------------------------------------------
# Erase


def test_erase_anonymises_keeps_the_ledger_and_verify_ledger_stays_clean(rich, capsys):
    member = rich["member"]
    user_id = member.user_id
    account_before = member_data_export(member)["point_account"]
    entries = list(PointEntry.objects.filter(member=member).values_list("id", "available_delta"))
    purchases = list(Purchase.objects.filter(member=member).values_list("id", "total_amount"))
    old_card, old_phone = member.card_number, member.phone

    request = member_erase(member=member, acting_user=None, channel="portal")

    member.refresh_from_db()
    assert request.kind == "erase" and request.member_id == member.pk and request.completed_at
    assert member.status == Member.Status.ERASED and member.erased_at
    for field in ("full_name", "gender", "province", "occupation"):
        assert getattr(member, field) == ""
    assert member.phone is None and member.email is None and member.birth_date is None
    assert member.user_id is None
    assert member.card_number == erased_identifier(member.pk) != old_card
    assert member.referral_code == erased_identifier(member.pk)
    assert not member.email_consent and not member.sms_consent
    # The login, its email addresses and second factors are gone.
    assert not User.objects.filter(pk=user_id).exists()
    assert not EmailAddress.objects.filter(user_id=user_id).exists()
    assert not Authenticator.objects.filter(user_id=user_id).exists()
    # The books are as they were.
    assert (
        list(PointEntry.objects.filter(member=member).values_list("id", "available_delta"))
        == entries
    )
    assert (
        list(Purchase.objects.filter(member=member).values_list("id", "total_amount")) == purchases
    )
    after = member_data_export(member)["point_account"]
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in account_before.items() if k != "updated_at"
    }
    call_command("verify_ledger")  # raises CommandError on an account out of balance
    assert "ledger ok" in capsys.readouterr().out
    # Vouchers: the unused one cancelled, no points back; the used one stays used.
    rich["unused"].refresh_from_db()
    rich["used"].refresh_from_db()
    assert rich["unused"].status == "cancelled" and rich["unused"].refund_entry_id is None
    assert rich["used"].status == "used"
    # Campaigns: the queued send ended, texts blanked, the SMS log line gone.
    assert not Send.objects.filter(member=member, status="queued").exists()
    assert Notification.objects.get(member=member).body == ""
    assert not SmsLog.objects.filter(phone=old_phone).exists()
    # Referral checks and reviews.
    assert not KnownContact.objects.filter(member=member).exists()
    assert Referral.objects.get(referee=member).ip is None
    assert Referral.objects.get(referee=member).device_id == ""
    referee_referral = Referral.objects.get(referee=rich["referee"])
    assert referee_referral.referrer_id == member.pk  # the other member's row is theirs
    assert PurchaseReview.objects.get(member=member).comment == ""
    assert PurchaseReview.objects.get(member=member).rating == 5
    # Staff audit copies of profile values are reduced to field names.
    audit = AuditEntry.objects.get(member=member, action="member.profile_changed")
    assert audit.data == {"fields": ["occupation"]}
    # No personal data left in the export of the erased member.
    text = json.dumps(member_data_export(member), ensure_ascii=False)
    for value in ("Lê Thị Lan", "903123456", "lan@example.com", "Ngon, phục vụ", "Quà cho Lan"):
        assert value not in text


def test_verify_ledger_is_clean_after_erasure(rich):
    member_erase(member=rich["member"], acting_user=None, channel="portal")
    from members.selectors import ledger_discrepancies

    assert ledger_discrepancies() == []
    call_command("verify_ledger")  # raises (non-zero exit) on a discrepancy


def test_erase_is_idempotent(rich):
    member = rich["member"]
    first = member_erase(member=member, acting_user=None, channel="portal")
    member.refresh_from_db()
    snapshot = Member.objects.filter(pk=member.pk).values().get()
    second = member_erase(member=member, acting_user=None, channel="portal")
    assert second.pk == first.pk
    assert DataRequest.objects.filter(member=member, kind="erase").count() == 1
    assert Member.objects.filter(pk=member.pk).values().get() == snapshot


def test_erased_card_is_not_found_at_the_till_and_the_phone_enrols_again(rich, pos):
    member = rich["member"]
    old_card = member.card_number
    member_erase(member=member, acting_user=None, channel="portal")
    assert_error(pos.lookup(old_card), 404, "not_found")
    assert_error(pos.get(f"/members/{old_card}/tier/"), 404, "not_found")
    assert_error(pos.lookup(erased_identifier(member.pk)), 404, "not_found")
    assert_error(pos.get(f"/members/{erased_identifier(member.pk)}/tier/"), 404, "not_found")
    response = pos.enrol(
        {
            "external_id": "ENR-AGAIN",
            "full_name": "Lê Thị Lan",
            "phone": "0903 123 456",
            "email": "lan@example.com",
        }
    )
    assert response.status_code == 201, response.content
    again = Member.objects.get(phone="+84903123456")
    assert again.pk != member.pk and again.card_number != old_card


def test_erased_members_email_and_phone_sign_up_again_in_the_portal(client, member_user):
    member = member_user.member
    member_erase(member=member, acting_user=None, channel="portal")
    response = client.post(
        reverse("account_signup"),
        {
            "email": "lan@example.com",
            "full_name": "Lê Thị Lan",
            "phone": "0903 123 456",
            "password1": "an-unguessable-pass-42",
            "password2": "an-unguessable-pass-42",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    fresh = User.objects.get(email="lan@example.com").member
    assert fresh.pk != member.pk and fresh.phone == "+84903123456"


def test_a_queued_send_for_an_erased_member_is_skipped_by_the_worker(member):
    campaign = make_campaign("erase-worker")
    send = Send.objects.create(
        campaign=campaign, member=member, occurrence="x", status="queued", in_app_status="pending"
    )
    member_erase(member=member, acting_user=None, channel="portal")
    send.refresh_from_db()
    assert send.status == "skipped" and send.skip_reason == "no_contact"
    assert not Notification.objects.filter(member=member).exists()


def test_an_erased_member_is_in_no_segment_and_no_campaign_audience(member):
    from campaigns.selectors import audience_members, segment_members

    other = MemberFactory()
    campaign = make_campaign("erase-audience")
    everyone = {"op": "and", "rules": []}
    assert {member.pk, other.pk} <= set(segment_members(everyone).values_list("pk", flat=True))
    member_erase(member=member, acting_user=None, channel="portal")
    assert member.pk not in set(segment_members(everyone).values_list("pk", flat=True))
    assert other.pk in set(segment_members(everyone).values_list("pk", flat=True))
    audience = set(audience_members(campaign).values_list("pk", flat=True))
    assert member.pk not in audience


# ---------------------------------------------------------------------------------------------
# Portal pages


def test_my_data_page_is_linked_from_the_profile_and_shows_the_actions(client, member_user):
    client.force_login(member_user)
    profile = client.get(reverse("portal:profile")).content.decode()
    assert reverse("portal:my_data") in profile
    page = client.get(reverse("portal:my_data"))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("portal:my_data_export") in html
    assert reverse("portal:my_data_delete") in html


def test_download_asks_for_the_password_again_then_resumes(client, member_user):
    client.force_login(member_user)  # an open session, no recent proof of identity
    response = client.post(reverse("portal:my_data_export"), {"format": "json"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert not DataRequest.objects.exists()
    wrong = client.post(response.url, {"password": "not-it"})
    assert wrong.status_code == 200 and not DataRequest.objects.exists()
    # The right password carries out the request that was held (allauth resumes it).
    done = client.post(response.url, {"password": PASSWORD})
    assert done.status_code == 200, done.content[:500]
    assert json.loads(done.content)["profile"]["full_name"] == "Lê Thị Lan"
    assert DataRequest.objects.get().kind == "export"


def test_a_login_without_password_needs_a_fresh_login(client, member_user, settings):
    member_user.set_unusable_password()
    member_user.save()
    client.force_login(member_user)  # no sign-in recorded in the session
    response = client.post(reverse("portal:my_data_delete"), {"confirm": "on"})
    assert response.status_code == 302 and reverse("account_login") in response.url
    member_user.member.refresh_from_db()
    assert not member_user.member.is_erased
    assert client.get(reverse("portal:my_data")).status_code == 302  # logged out


def test_download_json_and_csv_after_login(client, member_user):
    _login(client)
    response = client.post(reverse("portal:my_data_export"), {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["profile"]["full_name"] == "Lê Thị Lan"
    response = client.post(reverse("portal:my_data_export"), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.content)).read("profile.csv")
    assert list(DataRequest.objects.values_list("kind", "channel", "acting_user")) == [
        ("export", "portal", None),
        ("export", "portal", None),
    ]


def test_download_with_a_bad_format_is_a_400(client, member_user):
    _login(client)
    assert client.post(reverse("portal:my_data_export"), {"format": "xml"}).status_code == 400


def test_delete_needs_the_confirmation_then_erases_and_logs_out(client, member_user):
    member = member_user.member
    _login(client)
    page = client.get(reverse("portal:my_data_delete"))
    assert page.status_code == 200
    response = client.post(reverse("portal:my_data_delete"), {})
    assert response.status_code == 200
    assert "confirm" in response.context["form"].errors
    member.refresh_from_db()
    assert member.status == "active"
    response = client.post(reverse("portal:my_data_delete"), {"confirm": "on"})
    assert response.status_code == 302
    assert response.url == reverse("portal:my_data_deleted")
    member.refresh_from_db()
    assert member.is_erased
    assert client.get(reverse("portal:home")).status_code == 302  # logged out
    response = client.post(
        reverse("account_login"), {"login": "lan@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200  # the login form again, with its error
    assert client.get(reverse("portal:my_data_deleted")).status_code == 200


def test_delete_with_an_old_session_asks_for_the_password_first(client, member_user):
    client.force_login(member_user)
    response = client.post(reverse("portal:my_data_delete"), {"confirm": "on"})
    assert response.status_code == 302 and reverse("account_reauthenticate") in response.url
    member_user.member.refresh_from_db()
    assert not member_user.member.is_erased


def test_another_session_of_the_erased_login_stops_working(client, member_user, django_user_model):
    from django.test import Client

    other = Client()
    other.force_login(member_user)
    assert other.get(reverse("portal:home")).status_code == 200
    member_erase(member=member_user.member, acting_user=None, channel="portal")
    assert other.get(reverse("portal:home")).status_code == 302


def test_pages_are_for_logged_in_members_only(client, support):
    for name in ("portal:my_data", "portal:my_data_delete"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("account_login") in response.url
    client.force_login(support)
    assert client.get(reverse("portal:my_data")).status_code == 403  # staff have no portal


def test_pages_reach_only_the_logged_in_member(client, member_user, other_member):
    """No id in the URLs: a member acts on themselves only; another's data never shows."""
    _login(client)
    html = client.get(reverse("portal:my_data")).content.decode()
    assert other_member.card_number not in html
    data = json.loads(client.post(reverse("portal:my_data_export"), {"format": "json"}).content)
    assert data["member_id"] == member_user.member.pk
    assert other_member.full_name not in json.dumps(data, ensure_ascii=False)
    client.post(reverse("portal:my_data_delete"), {"confirm": "on"})
    other_member.refresh_from_db()
    assert other_member.status == "active" and other_member.full_name == "Trần Văn Bình"


# ---------------------------------------------------------------------------------------------
# Staff on the member's behalf


def _changelist_action(client, action, members, **extra):
    return client.post(
        reverse("admin:members_member_changelist"),
        {"action": action, "_selected_action": [m.pk for m in members], **extra},
    )


def test_roles_hold_the_privacy_permissions_they_should():
    def perms(role):
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
        }

    wanted = {
        "members.export_member_data",
        "members.withdraw_member_consents",
        "members.erase_member",
    }
    assert wanted <= perms(PROGRAM_ADMIN)
    assert wanted <= perms(SUPPORT)
    assert perms(MARKETER) & wanted == set()
    assert perms(STORE_MANAGER) & wanted == {"members.withdraw_member_consents"}


def test_support_erases_a_member_with_a_reason(client, support, member):
    client.force_login(support)
    page = _changelist_action(client, "erase_members", [member])
    assert page.status_code == 200 and "reason" in page.content.decode()
    member.refresh_from_db()
    assert not member.is_erased
    response = _changelist_action(client, "erase_members", [member], apply="1", reason="")
    assert response.status_code == 200  # the form again: a reason is needed
    member.refresh_from_db()
    assert not member.is_erased
    response = _changelist_action(
        client, "erase_members", [member], apply="1", reason="Gọi tổng đài, mã YC-12"
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_erased
    request = DataRequest.objects.get(member=member)
    assert (request.kind, request.channel, request.acting_user, request.note) == (
        "erase",
        "staff",
        support,
        "Gọi tổng đài, mã YC-12",
    )
    assert AuditEntry.objects.filter(member=member, action="member.data_request.erase").exists()


def test_support_downloads_a_members_data(client, support, member):
    client.force_login(support)
    response = _changelist_action(
        client, "export_member_data", [member], apply="1", reason="Thư yêu cầu", format="json"
    )
    assert response.status_code == 200
    assert json.loads(response.content)["profile"]["full_name"] == member.full_name
    assert DataRequest.objects.get(member=member).acting_user == support


def test_export_action_takes_one_member(client, support, member, other_member):
    client.force_login(support)
    response = _changelist_action(
        client, "export_member_data", [member, other_member], apply="1", reason="x", format="json"
    )
    assert response.status_code == 302
    assert not DataRequest.objects.exists()


def test_store_manager_withdraws_consents_but_may_not_erase_or_export(
    client, store_manager, member
):
    member_set_consent(member=member, channel="sms", granted=True, source="portal")
    client.force_login(store_manager)
    response = _changelist_action(
        client, "withdraw_member_consents", [member], apply="1", reason="Khách yêu cầu tại quầy"
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.sms_consent
    assert ConsentEvent.objects.filter(member=member, granted=False).get().source == "staff"
    for action in ("erase_members", "export_member_data"):
        response = _changelist_action(
            client, action, [member], apply="1", reason="x", format="json"
        )
        # An action the user may not run is not offered: Django answers with the list again.
        assert response.status_code in (200, 302)
        assert response.get("Content-Type", "").startswith("text/html")
    member.refresh_from_db()
    assert not member.is_erased
    assert list(DataRequest.objects.values_list("kind", flat=True)) == ["withdraw_consents"]


def test_marketer_may_not_export_or_erase(client, marketer, member):
    client.force_login(marketer)
    for action in ("erase_members", "export_member_data", "withdraw_member_consents"):
        _changelist_action(client, action, [member], apply="1", reason="x", format="json")
    member.refresh_from_db()
    assert not member.is_erased and not DataRequest.objects.exists()


def test_data_requests_are_listed_read_only(client, support, member):
    data_request_record(
        member=member, kind="export", acting_user=support, channel="staff", note="n"
    )
    client.force_login(support)
    listing = client.get(reverse("admin:members_datarequest_changelist"))
    assert listing.status_code == 200
    request = DataRequest.objects.get()
    page = client.get(reverse("admin:members_datarequest_change", args=[request.pk]))
    assert page.status_code == 200
    assert client.get(reverse("admin:members_datarequest_add")).status_code == 403


def test_a_staff_request_needs_the_staff_user(member):
    with pytest.raises(ValueError):
        data_request_record(member=member, kind="export", acting_user=None, channel="staff")
    with pytest.raises(ValueError):
        data_request_record(member=member, kind="nope", acting_user=None, channel="portal")


def test_erasing_a_staff_users_own_membership_keeps_the_staff_login(support):
    member = MemberFactory(user=support, email=support.email, full_name="Nhân viên")
    member_erase(member=member, acting_user=None, channel="portal")
    support.refresh_from_db()
    assert not support.is_active and support.email.endswith("@erased.invalid")
    assert not support.has_usable_password()


def test_money_in_the_export_is_a_decimal_string(rich):
    purchase = member_data_export(rich["member"])["purchases"][0]
    assert Decimal(purchase["amount_due"]) >= 0 and isinstance(purchase["amount_due"], str)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_erasures_at_once_erase_once(member_user):
    """The member's row lock serialises them: one erasure, one request, the second returns
    it (the portal and a staff action racing, say)."""
    from tests.concurrency import run_together

    member = member_user.member
    results = run_together(
        2,
        lambda i: (
            member_erase(
                member=Member.objects.get(pk=member.pk), acting_user=None, channel="portal"
            ).pk
        ),
    )
    assert [status for status, _value in results] == ["ok", "ok"]
    assert len({value for _status, value in results}) == 1
    assert DataRequest.objects.filter(member=member, kind="erase").count() == 1
    assert Member.objects.get(pk=member.pk).is_erased


def test_an_erased_profile_cannot_be_typed_back_in(client, support, member):
    member_erase(member=member, acting_user=None, channel="portal")
    from loyalty.errors import DomainError

    with pytest.raises(DomainError) as caught:
        member_update_profile(member=member, acting_user=support, full_name="Ai đó")
    assert caught.value.code == "not_found"
    client.force_login(support)
    page = client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert page.status_code == 200  # view only: no form to save
    response = client.post(
        reverse("admin:members_member_change", args=[member.pk]), {"full_name": "Ai đó"}
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.full_name == ""
