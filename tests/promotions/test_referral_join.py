"""Joining with a code: the referral is recorded, and each join-time fraud rule refuses or
holds it with its reason."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from members.services import member_block, member_update_profile
from promotions.contacts import email_normalize
from promotions.models import KnownContact, Referral
from tests.factories import MemberFactory
from tests.promotions.conftest import JOIN_DAY, days, join, local, referral_of, rules

pytestmark = pytest.mark.django_db

Status = Referral.Status


def codes(referral) -> list[str]:
    return [r["code"] for r in referral.reasons]


def test_joining_with_a_code_records_a_pending_referral(referrer):
    friend = join(referrer, ip="203.0.113.7", device_id="phone-1")
    referral = referral_of(friend)
    assert referral.referrer == referrer
    assert friend.referred_by == referrer
    assert referral.status == Status.PENDING and referral.reasons == []
    assert referral.joined_on == JOIN_DAY
    assert (referral.ip, referral.device_id, referral.channel) == (
        "203.0.113.7",
        "phone-1",
        "portal",
    )
    # The window's last day is day 60 (the day of joining is day 0).
    assert referral.window_last_day == days(60)
    assert referral.window_ends_at == local(days(61), 0)


def test_a_member_who_joins_without_a_code_has_no_referral(db):
    assert not Referral.objects.filter(referee=MemberFactory()).exists()


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Mai.Nguyen@Gmail.com", "mainguyen@gmail.com"),
        ("mai.nguyen+ref@gmail.com", "mainguyen@gmail.com"),
        ("m.a.i+x+y@googlemail.com", "mai@gmail.com"),
        ("an.tran@company.vn", "antran@company.vn"),
        ("", ""),
    ],
)
def test_emails_compare_without_case_dots_or_plus_tags(raw, normal):
    assert email_normalize(raw) == normal


@pytest.mark.parametrize("email", ["mainguyen@gmail.com", "Mai.Nguyen+friend@gmail.com"])
def test_self_referral_by_an_email_differing_only_by_dots_or_tag_is_refused(referrer, email):
    referral = referral_of(join(referrer, email=email))
    assert referral.status == Status.REFUSED
    assert codes(referral) == ["self_referral"]
    assert referral.decided_at is not None


def test_self_referral_with_the_referrers_former_phone_is_refused(referrer):
    member_update_profile(member=referrer, phone="0977 000 111")
    # The old number is free again; the referrer signs up with it under another email.
    referral = referral_of(join(referrer, phone="0913 222 333", email="other@example.com"))
    assert referral.status == Status.REFUSED
    assert codes(referral) == ["self_referral"]


def test_a_referee_who_was_a_member_before_is_held(referrer, member):
    member_update_profile(member=member, email="new-address@example.com")
    # Someone signs up with the email ``member`` had before.
    referral = referral_of(join(referrer, email="mai@example.com"))
    assert referral.status == Status.HELD
    assert codes(referral) == ["already_member"]
    assert referral.reasons[0]["detail"]["members"] == [member.pk]


def test_an_alias_of_another_members_email_is_held_as_already_a_member(referrer, other_member):
    referral = referral_of(join(referrer, email="b.i.n.h+2@example.com"))
    assert referral.status == Status.HELD
    assert codes(referral) == ["already_member"]


def test_enrolment_records_the_members_contacts_normalised(referrer):
    assert KnownContact.objects.filter(member=referrer, kind="email", value="mainguyen@gmail.com")
    assert KnownContact.objects.filter(member=referrer, kind="phone", value="+84913222333")


def test_more_than_three_joins_from_one_ip_through_one_code_in_a_day_are_held(referrer):
    first = [join(referrer, ip="198.51.100.1") for _ in range(3)]
    fourth = join(referrer, ip="198.51.100.1")
    other_ip = join(referrer, ip="198.51.100.2")
    next_day = join(referrer, ip="198.51.100.1", on=days(1))
    assert [referral_of(m).status for m in first] == [Status.PENDING] * 3
    assert referral_of(fourth).status == Status.HELD
    assert codes(referral_of(fourth)) == ["same_ip"]
    assert referral_of(fourth).reasons[0]["detail"]["joins"] == 4
    assert referral_of(other_ip).status == Status.PENDING
    assert referral_of(next_day).status == Status.PENDING


def test_the_same_ip_through_another_code_does_not_count(referrer, member):
    for _ in range(3):
        join(referrer, ip="198.51.100.1")
    assert referral_of(join(member, ip="198.51.100.1")).status == Status.PENDING


def test_the_day_is_the_local_day(referrer):
    # 23:30 local on day 0 and 00:30 local on day 1 are two days, though the same UTC day.
    for _ in range(3):
        join(referrer, device_id="tablet")
    with time_machine.travel(local(JOIN_DAY, 23, 30), tick=False):
        late = MemberFactory(referred_by=referrer, device_id="tablet", phone="0944000001")
    with time_machine.travel(local(days(1), 0, 30), tick=False):
        early = MemberFactory(referred_by=referrer, device_id="tablet", phone="0944000002")
    assert referral_of(late).status == Status.HELD
    assert codes(referral_of(late)) == ["same_device"]
    assert referral_of(early).status == Status.PENDING


def test_the_limit_per_day_is_the_programmes(referrer):
    rules(max_joins_per_day=1)
    join(referrer, device_id="d")
    assert referral_of(join(referrer, device_id="d")).status == Status.HELD


def test_a_blocked_referrers_code_is_held(referrer, support):
    member_block(member=referrer, reason="fraud", acting_user=support)
    referral = referral_of(join(referrer))
    assert referral.status == Status.HELD and codes(referral) == ["referrer_blocked"]


def test_a_paused_programme_refuses_new_referrals(referrer):
    rules(is_active=False)
    referral = referral_of(join(referrer))
    assert referral.status == Status.REFUSED and codes(referral) == ["programme_paused"]


def test_several_reasons_are_all_recorded_and_refusal_wins(referrer):
    for _ in range(3):
        join(referrer, ip="192.0.2.9")
    referral = referral_of(join(referrer, ip="192.0.2.9", email="mainguyen+x@gmail.com"))
    assert referral.status == Status.REFUSED
    assert codes(referral) == ["self_referral", "same_ip"]
    assert referral.reason_codes == " self_referral same_ip "


def test_enrolling_at_the_till_with_a_code_records_the_store_as_the_device(
    client, store_key, referrer
):
    _key, raw = store_key
    with time_machine.travel(local(JOIN_DAY, 10), tick=False):
        for n in range(4):
            response = client.post(
                reverse("pos:member_enrol"),
                {
                    "external_id": f"E-{n}",
                    "full_name": "Lê Văn Tâm",
                    "phone": f"0955 000 00{n}",
                    "referral_code": referrer.referral_code.lower(),
                },
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Api-Key {raw}",
            )
            assert response.status_code == 201
    referrals = list(Referral.objects.order_by("id"))
    assert {r.device_id for r in referrals} == {"store:HCM01"}
    assert {r.channel for r in referrals} == {"pos"}
    assert [r.status for r in referrals] == [Status.PENDING] * 3 + [Status.HELD]


SIGNUP = {
    "email": "khoa@example.com",
    "full_name": "Phạm Minh Khoa",
    "phone": "0908 111 222",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
}


def test_the_share_link_prefills_the_code_on_the_signup_page(client, referrer):
    page = client.get(reverse("account_signup") + f"?ref={referrer.referral_code}")
    assert page.context["form"]["referral_code"].value() == referrer.referral_code


def test_signing_up_in_the_portal_with_a_code_records_the_referral_and_the_ip(client, referrer):
    response = client.post(
        reverse("account_signup"),
        {**SIGNUP, "referral_code": referrer.referral_code.lower()},
        REMOTE_ADDR="203.0.113.50",
    )
    assert response.status_code == 302
    referral = Referral.objects.get(referee__email="khoa@example.com")
    assert referral.referrer == referrer
    assert (referral.channel, referral.ip) == ("portal", "203.0.113.50")


def test_an_unknown_code_at_signup_is_an_error_on_the_field(client, referrer):
    response = client.post(reverse("account_signup"), {**SIGNUP, "referral_code": "ZZZZ9999"})
    assert response.status_code == 200
    assert "referral_code" in response.context["form"].errors
    assert not Referral.objects.exists()


def test_window_is_kept_from_the_rules_at_joining(referrer):
    friend = join(referrer)
    rules(window_days=10)
    assert referral_of(friend).window_last_day == days(60)
    assert referral_of(join(referrer, on=date(2026, 3, 3))).window_last_day == date(2026, 3, 13)
