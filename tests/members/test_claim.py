"""A member enrolled at the till claims the membership online: sign up with that phone, prove
it with the code sent to it, and the new login gets the card, points and history. Never
before the proof."""

import time

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from loyalty.errors import DomainError
from members.models import AuditEntry, Member, PhoneClaim, PointEntry, Program, User
from members.services.claim import member_claim
from members.services.points import points_grant
from tests.factories import MemberFactory, UserFactory
from tests.members import sms_outbox as outbox
from tests.members.sms_outbox import last_code

pytestmark = pytest.mark.django_db
sms_outbox = outbox.sms_outbox  # the fixture

TILL_PHONE = "+84912345678"
SIGNUP = {
    "email": "mai.nguyen@example.com",
    "full_name": "Mai Nguyễn",
    "phone": "0912 345 678",
    "password1": "an-unguessable-pass-42",
    "password2": "an-unguessable-pass-42",
    "birth_date": "1994-05-17",
    "gender": "female",
    "province": "ha-noi",
    "occupation": "",
    "sms_consent": "on",
}


@pytest.fixture
def till_member(db):
    """Enrolled at the till: a card, 500 points, a phone, no email, no login."""
    member = MemberFactory(
        full_name="Nguyễn Thị Mai",
        phone="0912 345 678",
        email=None,
        enrolled_via=Member.Channel.POS,
    )
    points_grant(
        member=member,
        points=500,
        idempotency_key="till-welcome",
        reason="welcome",
        program=Program.objects.get(),
    )
    return member


def _signup(client, **changes):
    return client.post(reverse("account_signup"), {**SIGNUP, **changes})


def _verify(client, code):
    return client.post(reverse("account_verify_phone"), {"code": code})


def test_the_phone_proven_by_the_code_claims_card_points_and_history(
    client, till_member, sms_outbox
):
    card, entries = till_member.card_number, list(till_member.point_entries.values_list("pk"))
    response = _signup(client)
    assert response.url == reverse("account_verify_phone")
    till_member.refresh_from_db()
    assert till_member.user is None  # nothing linked yet
    response = _verify(client, last_code(TILL_PHONE))
    assert response.status_code == 302
    assert response.url == reverse("portal:home")

    user = User.objects.get(email="mai.nguyen@example.com")
    member = Member.objects.get(user=user)
    assert member.pk == till_member.pk and member.card_number == card
    # The till's history is kept whole (a first-login or profile bonus may come on top).
    assert set(entries) <= set(member.point_entries.values_list("pk"))
    assert member.account.available >= 500
    assert Member.objects.count() == 1 and not PhoneClaim.objects.exists()
    # Blanks filled, what the till recorded kept (and said so).
    assert member.full_name == "Nguyễn Thị Mai"
    assert member.email == "mai.nguyen@example.com"
    assert str(member.birth_date) == "1994-05-17" and member.province == "ha-noi"
    assert member.sms_consent
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200
    page = home.content.decode()
    assert member.card_number_display in page
    texts = [str(m) for m in home.context["messages"]]
    assert any(member.card_number_display in text for text in texts)
    assert any(str(Member._meta.get_field("full_name").verbose_name) in t for t in texts)
    audit = AuditEntry.objects.get(action="member.login_claimed")
    assert audit.member == member and audit.actor == user
    assert audit.data["proof"] == "phone_code" and audit.data["kept"] == ["full_name"]


def test_without_the_code_nothing_is_linked_and_the_login_gets_nothing(
    client, till_member, sms_outbox
):
    # An attacker types someone else's phone: the code goes to the phone's owner.
    _signup(client)
    for _ in range(3):
        _verify(client, "000000" if last_code() != "000000" else "111111")
    till_member.refresh_from_db()
    assert till_member.user is None
    assert client.get(reverse("portal:home")).status_code == 302  # not logged in
    # Logging in with the email and password asks for the phone's code again.
    attacker = Client()
    with time_machine.travel(time.time() + 60, tick=False):  # past the 1 code / 30 s limit
        response = attacker.post(
            reverse("account_login"),
            {"login": SIGNUP["email"], "password": SIGNUP["password1"]},
        )
    assert response.status_code == 302
    assert response.url == reverse("account_verify_phone")
    assert attacker.get(reverse("portal:home")).status_code == 302
    till_member.refresh_from_db()
    assert till_member.user is None


def test_a_code_for_another_phone_does_not_claim(client, till_member, other_member, sms_outbox):
    _signup(client)
    sms_outbox.clear()
    Client().post(reverse("account_request_login_code"), {"login": "0987 654 321"})
    # other_member has no login either: told how to claim their card, no code.
    assert [sms["phone"] for sms in sms_outbox] == ["+84987654321"]
    with pytest.raises(AssertionError):
        last_code()
    till_member.refresh_from_db()
    assert till_member.user is None


def test_a_phone_with_an_account_is_told_to_log_in(client, member_user, sms_outbox):
    response = _signup(client, phone="0903 123 456", email="someone@example.com")
    assert response.status_code == 200
    (error,) = response.context["form"].errors.as_data()["phone"]
    assert error.code == "phone_has_account"
    assert not User.objects.filter(email="someone@example.com").exists()
    assert not sms_outbox


def test_the_till_email_with_another_phone_is_refused(client, member, sms_outbox):
    response = _signup(client, phone="0977 111 222", email="mai@example.com")
    assert response.status_code == 200
    assert "email" in response.context["form"].errors


def test_the_till_email_with_its_own_phone_claims(client, member, sms_outbox):
    _signup(client, email="mai@example.com")
    _verify(client, last_code(TILL_PHONE))
    member.refresh_from_db()
    assert member.user.email == "mai@example.com"


def test_a_referral_code_does_not_apply_to_a_member_who_joined_before(
    client, till_member, other_member, sms_outbox
):
    _signup(client, referral_code=other_member.referral_code)
    _verify(client, last_code(TILL_PHONE))
    till_member.refresh_from_db()
    assert till_member.user is not None and till_member.referred_by is None


def test_staff_can_link_through_the_service_and_it_is_audited(till_member, support):
    user = UserFactory(email="mai2@example.com")
    result = member_claim(user=user, phone=TILL_PHONE, proof="staff", acting_user=support)
    assert result.member.user == user
    audit = AuditEntry.objects.get(action="member.login_claimed")
    assert audit.actor == support and audit.data["proof"] == "staff"
    with pytest.raises(DomainError) as exc:
        member_claim(user=UserFactory(), phone=TILL_PHONE, proof="staff", acting_user=support)
    assert exc.value.code == "member_already_linked"


def test_the_service_refuses_a_login_that_has_a_member_or_an_unknown_phone(
    till_member, member_user
):
    with pytest.raises(DomainError) as exc:
        member_claim(user=member_user, phone=TILL_PHONE)
    assert exc.value.code == "login_has_member"
    with pytest.raises(DomainError) as exc:
        member_claim(user=UserFactory(), phone="+84977000111")
    assert exc.value.code == "member_not_found"
    assert PointEntry.objects.filter(member=till_member).count() == 1


def test_linked_meanwhile_the_code_gives_a_clear_message_not_an_error(
    client, till_member, sms_outbox, support
):
    _signup(client)
    member_claim(user=UserFactory(), phone=TILL_PHONE, proof="staff", acting_user=support)
    response = _verify(client, last_code(TILL_PHONE))
    assert response.status_code == 200
    assert response.context["form"].errors["code"]  # "this phone has an account"
    till_member.refresh_from_db()
    assert till_member.user.email != SIGNUP["email"]
    # Logging in later: nothing left to claim, a login without a membership.
    other = Client()
    response = other.post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )
    assert response.url == reverse("portal:home")
    assert not PhoneClaim.objects.exists()


def test_a_login_asking_codes_too_fast_is_told_to_wait_not_an_error_page(
    client, till_member, sms_outbox
):
    _signup(client)  # sends a code
    response = Client().post(
        reverse("account_login"),
        {"login": SIGNUP["email"], "password": SIGNUP["password1"]},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert len(sms_outbox) == 1
