"""Money as the POS contract writes it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money_text(value: Decimal) -> str:
    """A decimal string to the cent, no exponent, no needless zeros: ``"125000"``,
    ``"19.9"``."""
    text = format(Decimal(value).quantize(CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ISO 4217 minor units of the currencies that have other than two (amounts are stored to the
# cent, so three-decimal currencies are held to two).
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's smallest unit: ``VND`` 0, ``USD`` 2."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def money_round(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded half up to the currency's minor unit (a line of 1.5 kg at 33,333 VND
    is 50,000 VND)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-minor_unit(currency)), ROUND_HALF_UP)
