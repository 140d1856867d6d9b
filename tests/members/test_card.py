"""The card and voucher codes scan: standard QR (never Micro QR) and Code 128, as images the
strict CSP allows; the card page the service worker keeps carries nothing else personal.

Decoding the rendered images with zbar, as Chromium draws them, is the browser test
(tests/browser/test_card_offline.py): zbar is guaranteed there (.ci/run installs it).
"""

from __future__ import annotations

import base64
import re
import xml.dom.minidom

import pytest
from django.urls import reverse

from loyalty import codes
from rewards.services import reward_redeem
from tests.factories import MemberFactory, UserFactory
from tests.rewards.conftest import give_points, make_reward

pytestmark = pytest.mark.django_db

DATA_SVG = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def _svg_root(svg: str):
    return xml.dom.minidom.parseString(svg).documentElement  # noqa: S318  # our own SVG


def _images(html: str) -> list[str]:
    return [base64.b64decode(m).decode() for m in DATA_SVG.findall(html)]


def test_the_card_qr_code_is_a_standard_qr_code_not_micro_qr():
    for data in ("912345678901", "ABCDEFGHJKX", "https://loyalty.example/accounts/signup/?ref=X"):
        symbol = codes.qr(data)
        assert symbol.is_micro is False, data
        assert symbol.designator.split("-")[0].isdigit()  # "1-H", never "M2-L"


def test_the_images_are_svg_without_style_attributes():
    """The strict CSP (style-src 'self') would drop style="" inside an SVG opened on its
    own; python-barcode's writer uses them, ours uses fill attributes."""
    for svg in (codes.qr_svg("912345678901"), codes.code128_svg("912345678901")):
        root = _svg_root(svg)
        assert root.tagName == "svg" and root.getAttribute("viewBox")
        assert "style=" not in svg and "<script" not in svg


def test_the_barcode_is_code_128_of_the_data_with_quiet_zones():
    svg = codes.code128_svg("912345678901")
    root = _svg_root(svg)
    width = float(root.getAttribute("viewBox").split()[2])
    bars = [r for r in root.getElementsByTagName("rect") if r.getAttribute("fill") == "#000000"]
    first = min(float(r.getAttribute("x")) for r in bars)
    last = max(float(r.getAttribute("x")) + float(r.getAttribute("width")) for r in bars)
    assert first >= codes.BARCODE_QUIET_ZONE and width - last >= codes.BARCODE_QUIET_ZONE
    # 12 digits in Code 128's set C: start, 6 pairs, check, stop = 8 * 11 + 13 modules.
    assert last - first == 8 * 11 + 13


def test_home_shows_the_card_as_standard_qr_and_code_128_with_the_grouped_number(
    client, member_user
):
    client.force_login(member_user)
    member = member_user.member
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _images(html) == [
        codes.qr_svg(member.card_number),
        codes.code128_svg(member.card_number),
    ]
    assert member.card_number_display in html
    assert re.fullmatch(r"\d{4} \d{4} \d{4}", member.card_number_display)
    assert "<svg" not in html.split("<main", 1)[1].split("</main>")[0]  # images, not inline


def test_the_card_page_has_the_codes_balance_as_of_and_nothing_else_personal(client, member_user):
    client.force_login(member_user)
    member = member_user.member
    give_points(member, 1250)
    response = client.get(reverse("portal:card"))
    assert response.status_code == 200
    assert response["X-Loyalty-Card"] == "1"  # what the service worker keeps
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert len(_images(html)) == 2
    assert 'data-testid="balance-as-of"' in html
    assert "1.250" in html  # points in Vietnamese
    assert member.email not in html and "0903" not in html and "123 456" not in html


def test_card_images_answer_as_svg(client, member_user):
    client.force_login(member_user)
    card_number = member_user.member.card_number
    qr = client.get(reverse("portal:card_qr"))
    barcode = client.get(reverse("portal:card_barcode"))
    for response in (qr, barcode):
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        assert "private" in response["Cache-Control"]
    assert qr.content.decode() == codes.qr_svg(card_number)
    assert barcode.content.decode() == codes.code128_svg(card_number)


@pytest.fixture
def voucher(member_user):
    give_points(member_user.member, 1000)
    return reward_redeem(member=member_user.member, reward=make_reward(points_cost=100))


def test_the_voucher_page_shows_its_code_as_qr_and_code_128(client, member_user, voucher):
    client.force_login(member_user)
    html = client.get(reverse("rewards:voucher", args=[voucher.code])).content.decode()
    assert _images(html) == [codes.qr_svg(voucher.code), codes.code128_svg(voucher.code)]
    assert voucher.code_display in html
    for name in ("rewards:voucher_qr", "rewards:voucher_barcode"):
        response = client.get(reverse(name, args=[voucher.code]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
    qr = client.get(reverse("rewards:voucher_qr", args=[voucher.code])).content.decode()
    assert qr == codes.qr_svg(voucher.code)


def test_another_member_cannot_get_ones_voucher_image(client, voucher):
    other = UserFactory(email="binh@example.com")
    MemberFactory(user=other, full_name="Trần Văn Bình", phone="0987 654 321")
    client.force_login(other)
    for name in ("rewards:voucher_qr", "rewards:voucher_barcode", "rewards:voucher"):
        assert client.get(reverse(name, args=[voucher.code])).status_code == 404
    assert client.get(reverse("rewards:voucher_qr", args=["NOPE-NOPE-NOP"])).status_code == 404


def test_the_referral_qr_code_is_a_standard_qr_code(client, member_user):
    client.force_login(member_user)
    response = client.get(reverse("promotions:referrals"))
    share_url = response.context["share_url"]
    assert _images(response.content.decode()) == [codes.qr_svg(share_url)]
    assert codes.qr(share_url).is_micro is False
