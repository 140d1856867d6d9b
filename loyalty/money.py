"""Money as the POS contract writes it."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def money_text(value: Decimal) -> str:
    """A decimal string to the cent, no exponent, no needless zeros: ``"125000"``,
    ``"19.9"``."""
    text = format(Decimal(value).quantize(CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
