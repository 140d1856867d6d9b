"""allauth's MFA adapter, drawing the authenticator app's QR code with segno (the QR library
the portal already uses) instead of the ``qrcode`` package allauth would import."""

from __future__ import annotations

from io import BytesIO

import segno
from allauth.mfa.adapter import DefaultMFAAdapter


class MFAAdapter(DefaultMFAAdapter):
    def build_totp_svg(self, url: str) -> str:
        """The ``otpauth://`` URL as a standalone SVG document: allauth shows it as an image
        (a ``data:`` URI), so it carries its namespace and no XML declaration."""
        out = BytesIO()
        segno.make(url, error="m").save(
            out, kind="svg", scale=5, border=4, dark="#111", light="#fff", xmldecl=False
        )
        return out.getvalue().decode("utf-8")
