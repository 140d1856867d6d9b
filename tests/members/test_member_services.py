import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from loyalty.errors import DomainError
from members.identifiers import card_number_is_valid
from members.models import AuditEntry, ConsentEvent, Member
from members.services import (
    member_block,
    member_create,
    member_set_consent,
    member_unblock,
    member_update_profile,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_enrolment_stores_phone_in_e164_and_issues_card_and_referral_code():
    member = member_create(
        full_name="  Phạm   Minh  Tuấn ", phone="0912 345 678", email="Tuan@Example.com"
    )
    member.refresh_from_db()
    assert member.full_name == "Phạm Minh Tuấn"
    assert member.phone == "+84912345678"
    assert member.email == "tuan@example.com"
    assert card_number_is_valid(member.card_number)
    assert len(member.referral_code) == 8
    assert member.status == Member.Status.ACTIVE
    assert member.joined_at is not None


def test_same_phone_in_another_form_is_the_same_member():
    member_create(full_name="A", phone="0912 345 678")
    with pytest.raises(DomainError) as exc:
        member_create(full_name="B", phone="+84 912 345 678")
    assert exc.value.code == "member_exists"
    assert exc.value.details == {"field": "phone"}
    assert Member.objects.count() == 1


def test_email_is_unique_whatever_its_case():
    member_create(full_name="A", email="an@example.com")
    with pytest.raises(DomainError) as exc:
        member_create(full_name="B", email="AN@example.com")
    assert exc.value.details == {"field": "email"}


def test_database_refuses_duplicate_email_differing_by_case_even_past_the_service():
    member = member_create(full_name="A", email="an@example.com")
    clone = Member(full_name="B", email="AN@EXAMPLE.COM", card_number="1", referral_code="X")
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()
    assert Member.objects.get() == member


def test_bad_input_is_refused_per_field_and_creates_nothing():
    with pytest.raises(ValidationError) as exc:
        member_create(full_name=" ", phone="12345", province="atlantis", gender="x")
    assert set(exc.value.message_dict) == {"full_name", "phone", "province", "gender"}
    assert Member.objects.count() == 0


def test_member_needs_a_phone_or_an_email():
    with pytest.raises(ValidationError) as exc:
        member_create(full_name="Nobody")
    assert "phone" in exc.value.message_dict


def test_consents_given_at_enrolment_are_recorded_with_their_time_and_source():
    member = member_create(full_name="A", phone="0912345678", sms_consent=True, enrolled_via="pos")
    member.refresh_from_db()
    assert member.sms_consent is True
    assert member.sms_consent_at is not None
    assert member.email_consent is False
    event = ConsentEvent.objects.get(member=member)
    assert (event.channel, event.granted, event.source) == ("sms", True, "pos")
    assert event.at == member.sms_consent_at


def test_withdrawing_consent_appends_history_and_keeps_the_old_decision(member):
    member_set_consent(member=member, channel="email", granted=True, source="portal")
    changed = member_set_consent(member=member, channel="email", granted=False, source="portal")
    assert changed is True
    member.refresh_from_db()
    assert member.email_consent is False
    history = list(member.consent_events.filter(channel="email").order_by("at", "id"))
    assert [e.granted for e in history] == [True, False]
    assert member.email_consent_at == history[-1].at


def test_repeating_the_same_consent_decision_records_nothing_new(member):
    assert member_set_consent(member=member, channel="sms", granted=True, source="portal")
    assert not member_set_consent(member=member, channel="sms", granted=True, source="portal")
    assert not member_set_consent(member=member, channel="email", granted=False, source="portal")
    assert member.consent_events.count() == 1


def test_staff_changing_consent_is_audited(member, support):
    member_set_consent(
        member=member, channel="sms", granted=True, source="staff", acting_user=support
    )
    entry = AuditEntry.objects.get(member=member)
    assert entry.action == "member.consent_changed"
    assert entry.actor == support
    assert ConsentEvent.objects.get(member=member).actor == support


def test_unknown_consent_channel_is_a_programming_error(member):
    with pytest.raises(ValueError):
        member_set_consent(member=member, channel="fax", granted=True, source="portal")


def test_profile_update_normalises_and_audits_staff_changes(member, support):
    member_update_profile(
        member=member, acting_user=support, phone="+84 987 000 111", occupation="Kế toán"
    )
    member.refresh_from_db()
    assert member.phone == "+84987000111"
    assert member.occupation == "Kế toán"
    entry = AuditEntry.objects.get(member=member, action="member.profile_changed")
    assert entry.data["before"]["phone"] == "+84912345678"
    assert entry.data["after"]["phone"] == "+84987000111"


def test_profile_update_cannot_take_another_members_phone(member, other_member):
    with pytest.raises(DomainError):
        member_update_profile(member=member, phone=other_member.phone)
    member.refresh_from_db()
    assert member.phone == "+84912345678"


def test_member_changing_email_changes_their_login_email(member_user):
    member = member_user.member
    member_update_profile(member=member, acting_user=member_user, email="New@Example.com")
    member_user.refresh_from_db()
    assert member_user.email == "new@example.com"
    assert not AuditEntry.objects.filter(member=member).exists()


def test_profile_update_refuses_unknown_fields(member):
    with pytest.raises(ValueError):
        member_update_profile(member=member, card_number="123")


def test_blocking_needs_a_reason_and_is_audited(member, support):
    with pytest.raises(ValidationError):
        member_block(member=member, reason="  ", acting_user=support)
    member_block(member=member, reason="Card shared between many people", acting_user=support)
    member.refresh_from_db()
    assert member.is_blocked
    member_unblock(member=member, reason="Confirmed owner", acting_user=support)
    member.refresh_from_db()
    assert member.status == "active" and member.blocked_reason == ""
    actions = list(
        AuditEntry.objects.filter(member=member).order_by("at", "id").values_list("action", "actor")
    )
    assert actions == [("member.blocked", support.pk), ("member.unblocked", support.pk)]


def test_database_refuses_a_blocked_member_without_reason(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(status="blocked", blocked_reason="")


def test_login_and_member_share_the_email_at_enrolment():
    user = UserFactory(email="hoa@example.com")
    member = member_create(full_name="Hoa", phone="0911222333", user=user)
    assert member.email == "hoa@example.com"
    assert user.member == member


def test_a_member_chooses_the_language_of_their_messages_and_nothing_else_is_accepted(member):
    from members.services import member_update_profile

    assert member.language == "vi"
    member_update_profile(member=member, language="en")
    member.refresh_from_db()
    assert member.language == "en"

    with pytest.raises(ValidationError) as error:
        member_update_profile(member=member, language="fr")
    assert "language" in error.value.message_dict
    member.refresh_from_db()
    assert member.language == "en"
