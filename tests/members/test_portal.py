import pytest
from django.core.cache import cache
from django.urls import reverse

from members.models import ConsentEvent, Member, User
from tests.members import sms_outbox as outbox
from tests.members.sms_outbox import last_code

pytestmark = pytest.mark.django_db
sms_outbox = outbox.sms_outbox  # the fixture

SIGNUP = {
    "email": "Thu@Example.com",
    "full_name": "Đỗ Thị Thu",
    "phone": "0912 345 678",
    "password1": "an-unguessable-pass-42",
    "password2": "an-unguessable-pass-42",
    "birth_date": "1995-03-08",
    "gender": "female",
    "province": "ha-noi",
    "occupation": "Giáo viên",
    "sms_consent": "on",
}


def test_visitor_signs_up_and_gets_a_card(client):
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="thu@example.com")
    member = user.member
    assert member.phone == "+84912345678"
    assert member.full_name == "Đỗ Thị Thu"
    assert member.province == "ha-noi"
    assert member.sms_consent and not member.email_consent
    assert ConsentEvent.objects.get(member=member).source == "signup"
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200
    assert member.card_number_display in home.content.decode()
    assert member.referral_code in home.content.decode()


def test_signup_with_a_phone_enrolled_at_the_till_waits_for_the_code(client, member):
    # The claim itself is tested in tests/members/test_claim.py: nothing is linked before
    # the code sent to the phone is entered.
    response = client.post(reverse("account_signup"), {**SIGNUP, "phone": "+84 912 345 678"})
    assert response.status_code == 302
    assert response.url == reverse("account_verify_phone")
    member.refresh_from_db()
    assert member.user is None
    assert Member.objects.count() == 1


def test_signup_with_invalid_phone_shows_the_error_and_creates_nothing(client):
    response = client.post(reverse("account_signup"), {**SIGNUP, "phone": "12345"})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert User.objects.count() == 0 and Member.objects.count() == 0


def test_member_logs_in_with_email_and_password(client, member_user):
    response = client.post(
        reverse("account_login"), {"login": "LAN@example.com", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.url == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200


def test_portal_needs_login(client):
    response = client.get(reverse("portal:profile"))
    assert response.status_code == 302
    assert reverse("account_login") in response.url


def test_member_edits_profile(client, member_user):
    client.force_login(member_user)
    response = client.post(
        reverse("portal:profile"),
        {
            "full_name": "Lê Thị Lan Anh",
            "phone": "+84 903 123 456",
            "birth_date": "1990-10-20",
            "gender": "female",
            "province": "da-nang",
            "occupation": "Kỹ sư",
            "language": "en",
        },
    )
    assert response.status_code == 302
    member = Member.objects.get(user=member_user)
    assert (member.full_name, member.province, member.occupation, member.language) == (
        "Lê Thị Lan Anh",
        "da-nang",
        "Kỹ sư",
        "en",
    )
    assert member.birth_date.isoformat() == "1990-10-20"


def test_profile_form_does_not_change_the_phone(client, member_user, other_member):
    """The phone logs in: a new one is proven by a code (/accounts/phone/change/), so a phone
    posted to the profile form, the member's own or another's, changes nothing."""
    client.force_login(member_user)
    for phone in ("0987 654 321", "0912 000 111"):
        response = client.post(
            reverse("portal:profile"), {"full_name": "Lan", "phone": phone, "language": "vi"}
        )
        assert response.status_code == 302
        assert Member.objects.get(user=member_user).phone == "+84903123456"
    page = client.get(reverse("portal:profile")).content.decode()
    assert 'name="phone"' not in page
    assert reverse("account_change_phone") in page and "0903 123 456" in page


def test_member_changes_phone_after_proving_the_new_one(
    client, member_user, other_member, sms_outbox
):
    client.force_login(member_user)
    # Another member's phone (enrolled at the till): even its code does not move it over.
    client.post(reverse("account_change_phone"), {"phone": "0987 654 321"})
    client.post(reverse("account_verify_phone"), {"code": last_code("+84987654321")})
    assert Member.objects.get(user=member_user).phone == "+84903123456"
    assert Member.objects.get(pk=other_member.pk).phone == "+84987654321"
    cache.clear()  # allauth allows one phone-change code per 30 s: the next is another test
    response = client.post(reverse("account_change_phone"), {"phone": "0912 000 111"})
    assert response.status_code == 302
    # Not changed until the code sent to the new phone is typed.
    assert Member.objects.get(user=member_user).phone == "+84903123456"
    client.post(reverse("account_verify_phone"), {"code": "000000"})
    assert Member.objects.get(user=member_user).phone == "+84903123456"
    code = last_code("+84912000111")
    client.post(reverse("account_verify_phone"), {"code": code})
    assert Member.objects.get(user=member_user).phone == "+84912000111"


def test_member_changes_consents_and_sees_the_history(client, member_user):
    client.force_login(member_user)
    client.post(reverse("portal:consents"), {"email_consent": "on", "sms_consent": "on"})
    client.post(reverse("portal:consents"), {"email_consent": "on"})
    member = Member.objects.get(user=member_user)
    assert member.email_consent and not member.sms_consent
    events = list(
        member.consent_events.order_by("at", "id").values_list("channel", "granted", "source")
    )
    assert events == [("email", True, "portal"), ("sms", True, "portal"), ("sms", False, "portal")]
    page = client.get(reverse("portal:consents"))
    assert len(page.context["history"]) == 3


def test_card_qr_is_an_svg_of_the_card_number(client, member_user):
    client.force_login(member_user)
    response = client.get(reverse("portal:card_qr"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_staff_login_without_membership_gets_a_clear_page(client, support):
    client.force_login(support)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 403
    assert "members/no_member.html" in [t.name for t in response.templates]


def test_pages_are_vietnamese_first_and_english_on_request(client):
    vi = client.get(reverse("landing"))
    assert '<html lang="vi">' in vi.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    en = client.get(reverse("landing"))
    assert '<html lang="en">' in en.content.decode()


def test_every_page_declares_a_phone_viewport(client, member_user):
    client.force_login(member_user)
    for name in ("portal:home", "portal:profile", "portal:consents"):
        assert 'name="viewport"' in client.get(reverse(name)).content.decode()


def test_member_sees_points_pending_and_expiring(client, member_user, store):
    from decimal import Decimal

    from pos.services.purchases import PurchaseInput, purchase_record

    member = member_user.member
    purchase_record(
        store=store,
        data=PurchaseInput(
            external_id="P1", member=member.card_number, total_amount=Decimal("900000")
        ),
    )
    client.force_login(member_user)
    home = client.get(reverse("portal:home"))
    assert home.context["account"].pending == 90
    assert home.context["account"].available == 0
    history = client.get(reverse("portal:points"))
    assert history.status_code == 200
    assert [e.kind for e in history.context["entries"]] == ["earn"]
