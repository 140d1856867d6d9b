import pytest
from django.core.exceptions import ValidationError

from members.identifiers import (
    REFERRAL_ALPHABET,
    card_number_generate,
    card_number_is_valid,
    phone_mask,
    phone_normalize,
    referral_code_generate,
)


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345 678",
        "+84 912 345 678",
        "+84912345678",
        "84912345678",
        "0912.345.678",
        "0912-345-678",
    ],
)
def test_common_vietnamese_forms_normalise_to_one_e164_number(raw):
    assert phone_normalize(raw) == "+84912345678"


def test_new_mobile_prefixes_are_valid():
    assert phone_normalize("0387 654 321") == "+84387654321"


@pytest.mark.parametrize("raw", ["", "12345", "0912 345", "not a phone", "0012 345 678"])
def test_invalid_phone_is_refused_with_a_clear_error(raw):
    with pytest.raises(ValidationError) as exc:
        phone_normalize(raw)
    assert exc.value.messages[0]


def test_foreign_number_in_international_form_is_kept():
    assert phone_normalize("+1 650 253 0000") == "+16502530000"


def test_phone_mask_hides_the_middle():
    assert phone_mask("+84912345678") == "0912 *** 678"


def test_generated_card_numbers_have_a_valid_check_digit():
    numbers = {card_number_generate() for _ in range(200)}
    assert len(numbers) == 200
    assert all(len(n) == 12 and n.isdigit() and card_number_is_valid(n) for n in numbers)


def test_every_single_digit_typo_in_a_card_number_is_caught():
    number = card_number_generate()
    for position in range(len(number)):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            assert not card_number_is_valid(typo), typo


def test_card_number_with_spaces_is_accepted_but_wrong_length_is_not():
    number = card_number_generate()
    spaced = " ".join(number[i : i + 4] for i in range(0, 12, 4))
    assert card_number_is_valid(spaced)
    assert not card_number_is_valid(number[:-1])
    assert not card_number_is_valid(number + "0")


def test_referral_codes_avoid_look_alike_characters():
    codes = {referral_code_generate() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8
        assert set(code) <= set(REFERRAL_ALPHABET)
        assert not set(code) & set("01ILO")
