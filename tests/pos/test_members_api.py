"""Member lookup and enrolment at the till: GET /members/lookup and POST /members/."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from members.models import Member
from members.selectors import program_get
from members.services.points import points_grant
from pos.models import IdempotencyRecord
from tests.pos.helpers import NOW, assert_error

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = {
    "card_number",
    "full_name",
    "phone_masked",
    "status",
    "tier",
    "points",
    "expiring",
    "referral_code",
}


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def summary_of(response) -> dict:
    assert response.status_code in (200, 201), response.content
    body = response.json()
    assert set(body) >= SUMMARY_FIELDS
    return body


# ---------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    "query",
    [
        "0912 345 678",
        "0912345678",
        "0912.345.678",
        "+84912345678",
        "+84 912 345 678",
        "84912345678",
    ],
)
def test_lookup_by_phone_in_any_common_form(pos, member, other_member, query):
    body = summary_of(pos.lookup(query))
    assert body["card_number"] == member.card_number


def test_lookup_by_card_number_with_spaces_answers_the_member_summary(pos, member):
    spaced = " ".join(member.card_number[i : i + 4] for i in range(0, 12, 4))

    body = summary_of(pos.lookup(spaced))

    assert {k: body[k] for k in SUMMARY_FIELDS} == {
        "card_number": member.card_number,
        "full_name": "Nguyễn Thị Mai",
        "phone_masked": "0912 *** 678",
        "status": "active",
        "tier": {"code": "bronze", "name": "Đồng"},
        "points": {"available": 0, "pending": 0},
        "expiring": None,
        "referral_code": member.referral_code,
    }
    assert "345" not in body["phone_masked"]


def test_lookup_also_answers_with_a_trailing_slash(pos, member):
    response = pos.get("/members/lookup/", {"q": member.card_number})
    assert summary_of(response)["card_number"] == member.card_number


def test_lookup_by_email_whatever_its_case(pos, member):
    assert summary_of(pos.lookup("MAI@Example.com"))["card_number"] == member.card_number


def test_lookup_shows_the_next_points_to_expire(pos, member):
    program = program_get()
    with time_machine.travel(NOW.replace(year=2026, month=1, day=15), tick=False):
        points_grant(member=member, points=80, idempotency_key="jan", reason="x", program=program)
    points_grant(member=member, points=30, idempotency_key="mar", reason="x", program=program)

    body = summary_of(pos.lookup(member.card_number))

    assert body["points"] == {"available": 110, "pending": 0}
    assert body["expiring"] == {"points": 80, "on": "2027-01-31"}


def test_pending_points_alone_do_not_show_as_expiring(pos, member):
    response = pos.purchase(
        {"external_id": "R-1", "member": member.card_number, "total_amount": "500000"}
    )
    assert response.status_code == 201, response.content

    body = summary_of(pos.lookup(member.card_number))

    assert body["points"] == {"available": 0, "pending": 50}
    assert body["expiring"] is None


@pytest.mark.parametrize("query", ["nobody@example.com", "0999 999 999", "hello", ""])
def test_lookup_of_nobody_is_404(pos, member, query):
    assert_error(pos.lookup(query), 404, "not_found")


# ---------------------------------------------------------------- enrolment


def enrolment(**overrides):
    return {
        "external_id": "ENR-0001",
        "full_name": "Phạm Minh Châu",
        "phone": "0905 111 222",
        "email": "chau@example.com",
        "birth_date": "1995-03-08",
        **overrides,
    }


def test_enrol_at_the_till_answers_201_with_the_member_summary(pos, store):
    response = pos.enrol(enrolment())

    assert response.status_code == 201, response.content
    body = summary_of(response)
    member = Member.objects.get(phone="+84905111222")
    assert {k: body[k] for k in SUMMARY_FIELDS} == {
        "card_number": member.card_number,
        "full_name": "Phạm Minh Châu",
        "phone_masked": "0905 *** 222",
        "status": "active",
        "tier": {"code": "bronze", "name": "Đồng"},
        "points": {"available": 0, "pending": 0},
        "expiring": None,
        "referral_code": member.referral_code,
    }
    assert (member.enrolled_via, member.enrolled_at_store, member.email) == (
        "pos",
        store,
        "chau@example.com",
    )
    assert member.birth_date == date(1995, 3, 8)
    # The new member can buy at once.
    response = pos.purchase(
        {"external_id": "R-1", "member": member.card_number, "total_amount": "100000"}
    )
    assert response.status_code == 201, response.content


def test_enrolling_a_phone_that_is_already_a_member_is_409(pos, member):
    before = Member.objects.count()
    details = assert_error(
        pos.enrol(enrolment(phone="+84 912 345 678", email=None)), 409, "member_exists"
    )
    assert details == {"field": "phone"}
    assert_error(
        pos.enrol(enrolment(external_id="ENR-2", email="MAI@example.com")), 409, "member_exists"
    )
    assert Member.objects.count() == before
    assert not IdempotencyRecord.objects.exists()


def test_enrolling_an_invalid_phone_is_400_naming_the_phone(pos):
    details = assert_error(pos.enrol(enrolment(phone="0123")), 400, "validation_error")
    assert "phone" in details
    assert not Member.objects.exists()


def test_enrolling_with_an_unknown_referral_code_is_400_naming_it(pos, member):
    details = assert_error(pos.enrol(enrolment(referral_code="ZZZZ9999")), 400, "validation_error")
    assert "referral_code" in details
    assert Member.objects.count() == 1


def test_a_valid_referral_code_records_who_referred_the_member(pos, member):
    code = member.referral_code
    typed = f"{code[:4].lower()} {code[4:].lower()}"

    response = pos.enrol(enrolment(referral_code=typed))

    assert response.status_code == 201, response.content
    new = Member.objects.get(card_number=response.json()["card_number"])
    assert new.referred_by == member


def test_enrolment_is_idempotent(pos):
    first = pos.enrol(enrolment())
    assert first.status_code == 201, first.content

    again = pos.enrol(enrolment())

    assert again.status_code == 200, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Member.objects.count() == 1
    assert_error(
        pos.enrol(enrolment(full_name="Someone Else", phone="0905 333 444", email=None)),
        409,
        "idempotency_conflict",
    )
    assert Member.objects.count() == 1
