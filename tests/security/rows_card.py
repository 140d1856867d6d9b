"""Authorisation rows for the card, its codes, the brand and the installable web app."""

from __future__ import annotations

from tests.security.matrix import MEMBER, Row, everyone, portal

ROWS = {
    # The card alone (what the service worker keeps offline) and its images.
    "portal:card": Row(portal()),
    "portal:card_barcode": Row(portal()),
    "rewards:voucher_qr": Row(portal(other_ids=404), missing=(MEMBER, 404)),
    "rewards:voucher_barcode": Row(portal(other_ids=404), missing=(MEMBER, 404)),
    # Public files of the brand and the web app: no personal data, the same for everyone.
    "brand_theme": Row(everyone(200)),
    "brand_logo": Row(everyone(404)),  # the world's programme has no logo uploaded
    "manifest": Row(everyone(200)),
    "service_worker": Row(everyone(200)),
    "offline": Row(everyone(200)),
    "favicon": Row(everyone(302)),
}
