"""The scannable images of a card or voucher: a standard QR code and a Code 128 barcode.

One module for every page that shows a code (the card, a voucher, the referral invitation),
so each is drawn the same way:

- a standard QR code (``segno.make(..., micro=False)``): segno would pick Micro QR for short
  data, which phone cameras and most till scanners cannot read;
- a Code 128 barcode (python-barcode) for the laser scanners of older tills;
- black on white with the quiet zones the symbologies ask for (4 modules around a QR code,
  10 modules either side of a barcode), as SVG: sharp at any size and small.

The SVG carries no ``style`` attribute (python-barcode's writer styles every bar with one):
the strict Content-Security-Policy (``style-src 'self'``) would drop those styles if the SVG
were opened on its own, so the bars use the ``fill`` presentation attribute instead.
Pages embed the images as ``data:`` URLs (``img-src 'self' data:``), so a page and its codes
are one response, which the service worker can keep for offline use as a whole.
"""

from __future__ import annotations

import base64
import io
import logging
import re

import segno

# python-barcode says "Pillow not found. Image output disabled" at INFO when imported: true
# and expected here (the SVG writer needs no Pillow), so not worth a line in every log.
logging.getLogger("pyBarcode").setLevel(logging.WARNING)

import barcode  # noqa: E402
from barcode.writer import SVGWriter  # noqa: E402

QR_BORDER = 4  # modules: the quiet zone ISO/IEC 18004 asks for
BARCODE_QUIET_ZONE = 10  # modules either side (ISO/IEC 15417)
BARCODE_HEIGHT = 36  # modules: a card number's symbol is 121 modules wide with its quiet zones
DARK, LIGHT = "#000000", "#ffffff"


def qr(data: str) -> segno.QRCode:
    """A standard (never Micro) QR code of ``data``, error correction M or better."""
    return segno.make(data, error="m", micro=False)


def qr_svg(data: str, *, scale: int = 8) -> str:
    """The QR code of ``data`` as an SVG document (viewBox set: it scales to its box)."""
    buffer = io.BytesIO()
    qr(data).save(
        buffer,
        kind="svg",
        scale=scale,
        border=QR_BORDER,
        dark=DARK,
        light=LIGHT,
        xmldecl=False,
        svgclass=None,
        lineclass=None,
        omitsize=True,
    )
    return buffer.getvalue().decode()


class _AttributeSVGWriter(SVGWriter):
    """python-barcode's SVG writer with ``fill`` attributes instead of ``style`` ones, sizes
    in modules and a viewBox, so the barcode scales to its box like the QR code."""

    def _init(self, code):
        super()._init(code)
        width, height = self.calculate_size(len(code[0]), 1)
        self._root.setAttribute("viewBox", f"0 0 {width:.3f} {height:.3f}")
        self._root.removeAttribute("width")
        self._root.removeAttribute("height")
        for rect in self._group.getElementsByTagName("rect"):  # the background
            rect.removeAttribute("style")
            rect.setAttribute("fill", self.background)

    def _create_module(self, xpos, ypos, width, color):
        if color == self.background:
            return
        element = self._document.createElement("rect")
        element.setAttribute("x", f"{xpos:.3f}")
        element.setAttribute("y", f"{ypos:.3f}")
        element.setAttribute("width", f"{width:.3f}")
        element.setAttribute("height", f"{self.module_height:.3f}")
        element.setAttribute("fill", color)
        self._group.appendChild(element)


def code128_svg(data: str) -> str:
    """A Code 128 barcode of ``data`` as an SVG document, without the human-readable line
    (the page prints the number under it, grouped for reading)."""
    symbol = barcode.get("code128", data, writer=_AttributeSVGWriter())
    writer_options = {
        "module_width": 1,  # one unit per module: the viewBox counts modules
        "module_height": BARCODE_HEIGHT,
        "quiet_zone": BARCODE_QUIET_ZONE,
        "margin_top": 0,
        "margin_bottom": 0,
        "write_text": False,
        "background": LIGHT,
        "foreground": DARK,
        "compress": True,
    }
    svg = symbol.render(writer_options).decode()
    # The XML declaration, the doctype and the generator's comment add nothing to an image.
    return re.sub(r"<!--.*?-->", "", svg[svg.index("<svg") :])


def data_url(svg: str) -> str:
    """``data:image/svg+xml;base64,...`` for an ``<img src>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def card_images(data: str) -> dict[str, str]:
    """The two images of a code, as data URLs: ``{"qr": ..., "barcode": ...}``."""
    return {"qr": data_url(qr_svg(data)), "barcode": data_url(code128_svg(data))}
