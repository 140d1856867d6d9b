"""Voucher codes: 10 random characters and 1 check character, from an alphabet without
look-alikes, shown grouped (``ABCD-EFGH-JKX``) and accepted with or without dashes, spaces
or lower case.

The alphabet has 31 symbols (no 0/O, no 1/I/L). 31 is prime, so a weighted sum modulo 31
with weights 1..11 (all distinct and non-zero modulo 31) makes the check character catch
every single-character typo (a changed symbol changes the sum by ``w * d``, never 0 modulo
a prime) and every swap of two neighbouring characters (the sum changes by the difference
of the two symbols, never 0 when they differ). 31**10 codes are about 2**49.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BODY_LENGTH = 10
LENGTH = BODY_LENGTH + 1
_MODULUS = len(ALPHABET)
_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
_SEPARATORS = str.maketrans("", "", " -_.\t\n\r\u00a0")

if _MODULUS != 31:  # not an assert: it must hold under `python -O` too
    raise ImportError("the checksum's guarantees need a prime modulus larger than LENGTH")


def _weighted_sum(text: str) -> int:
    return sum((position + 1) * _VALUE[symbol] for position, symbol in enumerate(text))


def check_character(body: str) -> str:
    """The character that makes ``body + it`` a valid code."""
    total = _weighted_sum(body)
    weight = len(body) + 1
    return ALPHABET[(-total * pow(weight, -1, _MODULUS)) % _MODULUS]


def voucher_code_generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def voucher_code_normalize(text: str) -> str:
    """Upper case, without spaces and dashes: the form stored and compared."""
    return (text or "").translate(_SEPARATORS).upper()


def voucher_code_is_valid(text: str) -> bool:
    """Whether ``text`` (normalised or not) is a well-formed code with a correct check."""
    code = voucher_code_normalize(text)
    if len(code) != LENGTH or any(symbol not in _VALUE for symbol in code):
        return False
    return _weighted_sum(code) % _MODULUS == 0


def voucher_code_display(code: str) -> str:
    """``ABCDEFGHJKX`` -> ``ABCD-EFGH-JKX``."""
    code = voucher_code_normalize(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
