import pytest

from members.selectors import member_find, program_get

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["0912 345 678", "+84912345678", "84912345678", "0912.345.678"])
def test_member_found_by_phone_in_any_common_form(member, query):
    assert member_find(query) == member


def test_member_found_by_card_number_with_or_without_spaces(member):
    assert member_find(member.card_number) == member
    assert member_find(member.card_number_display) == member


def test_member_found_by_email_whatever_its_case(member):
    assert member_find("MAI@example.com") == member


def test_mistyped_card_number_finds_nobody(member):
    wrong = member.card_number[:-1] + str((int(member.card_number[-1]) + 1) % 10)
    assert member_find(wrong) is None


@pytest.mark.parametrize("query", ["", "   ", "nobody@example.com", "0999 999 999", "hello"])
def test_unknown_queries_find_nobody(member, query):
    assert member_find(query) is None


def test_fresh_database_holds_the_default_programme():
    program = program_get()
    assert program.currency == "VND"
    assert program.earn_per_amount == 10000
    assert program.earn_points == 1
    assert program.pending_days == 7
    assert program.expiry_months == 12
    assert program.backdate_days == 30
