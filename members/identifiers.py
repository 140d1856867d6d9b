"""Card numbers, referral codes and phone numbers: generation, validation, normalisation."""

from __future__ import annotations

import re
import secrets

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import luhn

CARD_NUMBER_LENGTH = 12
# Referral codes avoid look-alike characters (0/O, 1/I/L) so they survive being read aloud.
REFERRAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERRAL_CODE_LENGTH = 8

_SEPARATORS = re.compile(r"[\s\-.]")


def card_number_generate() -> str:
    """A random 12-digit card number whose last digit is a Luhn check digit."""
    body = str(
        secrets.randbelow(9 * 10 ** (CARD_NUMBER_LENGTH - 2)) + 10 ** (CARD_NUMBER_LENGTH - 2)
    )
    return body + luhn.calc_check_digit(body)


# Luhn: a digit in a doubled position adds these (2 * d, its digits summed past 9).
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_CARD_BODIES = 9 * 10 ** (CARD_NUMBER_LENGTH - 2)  # 11 digits, the first not 0


def _luhn_digit(body: str) -> str:
    """The check digit appended to ``body`` (what ``luhn.calc_check_digit`` gives)."""
    total = 0
    doubled = True  # the body's last digit sits next to the check digit: doubled
    for char in reversed(body):
        digit = ord(char) - 48
        total += _LUHN_DOUBLED[digit] if doubled else digit
        doubled = not doubled
    return str(-total % 10)


def _uniform_below(limit: int, count: int) -> list[int]:
    """``count`` numbers drawn uniformly from ``range(limit)`` (``limit`` < 2**64) out of one
    read of the system's random source: ``secrets.randbelow`` many times, less the cost of a
    call each."""
    ceiling = (2**64 // limit) * limit  # rejecting above it keeps every value equally likely
    values: list[int] = []
    while len(values) < count:
        raw = secrets.token_bytes(8 * (count - len(values)) + 64)
        for start in range(0, len(raw) - 7, 8):
            value = int.from_bytes(raw[start : start + 8], "little")
            if value < ceiling:
                values.append(value % limit)
    return values[:count]


def card_numbers_generate(count: int) -> list[str]:
    """``count`` random card numbers as ``card_number_generate`` makes them, drawn at once
    (an import creating many members). They may repeat: uniqueness is the caller's."""
    first = 10 ** (CARD_NUMBER_LENGTH - 2)
    bodies = [str(first + value) for value in _uniform_below(_CARD_BODIES, count)]
    return [body + _luhn_digit(body) for body in bodies]


def referral_codes_generate(count: int) -> list[str]:
    """``count`` random referral codes as ``referral_code_generate`` makes them, drawn at
    once. They may repeat: uniqueness is the caller's."""
    size = len(REFERRAL_ALPHABET)
    ceiling = (256 // size) * size
    alphabet = REFERRAL_ALPHABET
    codes: list[str] = []
    chars: list[str] = []
    while len(codes) < count:
        needed = (count - len(codes)) * REFERRAL_CODE_LENGTH - len(chars)
        for byte in secrets.token_bytes(needed + needed // 16 + 16):
            if byte < ceiling:
                chars.append(alphabet[byte % size])
        whole = len(chars) - len(chars) % REFERRAL_CODE_LENGTH
        codes.extend(
            "".join(chars[i : i + REFERRAL_CODE_LENGTH])
            for i in range(0, whole, REFERRAL_CODE_LENGTH)
        )
        del chars[:whole]
    return codes[:count]


def card_number_clean(raw: str) -> str:
    """Strip the spaces and dashes people type; no validation."""
    return _SEPARATORS.sub("", raw or "")


def card_number_is_valid(raw: str) -> bool:
    """True when ``raw`` (spaces allowed) is 12 digits with a correct check digit."""
    number = card_number_clean(raw)
    return len(number) == CARD_NUMBER_LENGTH and number.isdigit() and luhn.is_valid(number)


def referral_code_generate() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def referral_code_clean(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "").upper()


def phone_normalize(raw: str, *, region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+84912345678``), or raise ``ValidationError``.

    Accepts the common written forms: ``0912 345 678``, ``0912.345.678``, ``+84 912 345 678``,
    ``84912345678``. A number must be valid, not merely possible, for its country.
    """
    region = region or settings.LOYALTY_PHONE_REGION
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    digits = re.sub(r"\D", "", text)
    # "84912345678" typed without the plus: read it as international.
    if not text.startswith(("+", "0")) and digits.startswith("84") and len(digits) == 11:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("“%(value)s” is not a phone number.") % {"value": raw}, code="invalid_phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number.") % {"value": raw}, code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_looks_like(raw: str) -> bool:
    """Cheap test used by lookups: could ``raw`` be a phone number (not a card or email)?"""
    text = (raw or "").strip()
    return "@" not in text and bool(re.fullmatch(r"\+?[\d\s\-.()]{8,20}", text))


def phone_display(e164: str | None) -> str:
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 84:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_mask(e164: str | None) -> str:
    """``+84912345678`` -> ``0912 *** 678``: enough for a cashier to confirm, no more."""
    shown = phone_display(e164)
    if not shown:
        return ""
    digits = [i for i, ch in enumerate(shown) if ch.isdigit()]
    hidden = set(digits[4:-3])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(shown))
