"""Voucher codes: random, no look-alike characters, and a check character that catches every
single-character typo and every swap of neighbours."""

from __future__ import annotations

import pytest

from rewards.codes import (
    ALPHABET,
    LENGTH,
    check_character,
    voucher_code_display,
    voucher_code_generate,
    voucher_code_is_valid,
    voucher_code_normalize,
)

SAMPLES = [voucher_code_generate() for _ in range(40)]


def test_alphabet_has_no_look_alikes():
    for look_alike in "0O1IL":
        assert look_alike not in ALPHABET
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


@pytest.mark.parametrize("code", SAMPLES[:5])
def test_generated_codes_are_valid_upper_case_and_eleven_long(code):
    assert len(code) == LENGTH == 11
    assert set(code) <= set(ALPHABET)
    assert voucher_code_is_valid(code)


def test_generated_codes_differ():
    assert len({voucher_code_generate() for _ in range(2000)}) == 2000


@pytest.mark.parametrize("code", SAMPLES)
def test_every_single_character_typo_is_caught(code):
    for position in range(LENGTH):
        for symbol in ALPHABET:
            if symbol != code[position]:
                typo = code[:position] + symbol + code[position + 1 :]
                assert not voucher_code_is_valid(typo), (code, typo)


@pytest.mark.parametrize("code", SAMPLES)
def test_every_swap_of_neighbours_is_caught(code):
    for position in range(LENGTH - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            swapped = code[:position] + b + a + code[position + 2 :]
            assert not voucher_code_is_valid(swapped), (code, swapped)


def test_check_character_completes_a_body():
    assert voucher_code_is_valid("ABCDEFGHJK" + check_character("ABCDEFGHJK"))


def test_codes_are_accepted_with_dashes_spaces_and_lower_case():
    code = SAMPLES[0]
    shown = voucher_code_display(code)
    assert shown == f"{code[:4]}-{code[4:8]}-{code[8:]}"
    for typed in (shown, shown.lower(), f" {code[:4]} {code[4:8]} {code[8:]} ", code.lower()):
        assert voucher_code_normalize(typed) == code
        assert voucher_code_is_valid(typed)


@pytest.mark.parametrize("text", ["", "ABC", "ABCDEFGHJKMN", "ABCDEFGHJK0", "ABCDEFGHJKO", None])
def test_malformed_codes_are_invalid(text):
    assert not voucher_code_is_valid(text)
