"""The member portal's rewards pages: catalogue with reasons, redeeming on confirmation, my
vouchers with code and QR, cancelling within the grace period."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from members.models import PointAccount
from rewards.models import Reward, RewardTierPrice, Voucher
from rewards.services import partner_codes_import
from tests.rewards.conftest import give_points, local, make_reward, redeem
from tiers.models import Tier
from tiers.selectors import tiers_ordered

pytestmark = pytest.mark.django_db

NOW = local(2026, 6, 15, 9, 30)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def lan(client, member_user):
    """The logged-in member, with 1,000 points, in English so texts are readable here."""
    client.force_login(member_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    give_points(member_user.member, 1000)
    return member_user.member


def test_the_catalogue_shows_costs_and_why_a_reward_is_unavailable(client, lan):
    make_reward(name="Giảm 50.000đ", name_en="50,000 VND off", points_cost=500)
    make_reward(name_en="Gold drink", min_tier=Tier.objects.get(code="gold"))
    make_reward(name_en="Big one", points_cost=1120)
    make_reward(name_en="Hidden", is_active=False)
    response = client.get(reverse("rewards:catalogue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "50,000 VND off" in html and "Hidden" not in html
    assert "Needs Gold" in html
    assert "120 points short" in html
    assert [o.available for o in response.context["offers"]] == [True, False, False]


def test_the_catalogue_is_vietnamese_by_default(client, member_user):
    client.force_login(member_user)
    make_reward(name="Giảm 50.000đ", name_en="50,000 VND off")
    html = client.get(reverse("rewards:catalogue")).content.decode()
    assert "Giảm 50.000đ" in html and "50,000 VND off" not in html


def test_the_catalogue_page_takes_a_fixed_number_of_queries(client, lan, django_assert_num_queries):
    gold = Tier.objects.get(code="gold")
    for n in range(10):
        reward = make_reward(points_cost=100 + n, limit_per_member=2, stock_total=9)
        RewardTierPrice.objects.create(reward=reward, tier=gold, points_cost=90)
    partner = make_reward(kind=Reward.Kind.PARTNER)
    partner_codes_import(reward=partner, rows=[(1, "P1")])
    tiers_ordered()
    client.get(reverse("rewards:catalogue"))  # session and language settle
    # session, user, member, tier, balance, counts, rewards, tier prices, balance shown
    with django_assert_num_queries(9):
        response = client.get(reverse("rewards:catalogue"))
    assert len(response.context["offers"]) == 11


def test_the_reward_page_confirms_and_a_post_redeems(client, lan):
    reward = make_reward(name_en="Free drink", points_cost=300)
    url = reverse("rewards:reward", args=[reward.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Redeem for 300 points" in page.content.decode()
    assert Voucher.objects.count() == 0  # looking is not redeeming
    response = client.post(url)
    voucher = Voucher.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("rewards:voucher", args=[voucher.code])
    assert (voucher.member, voucher.issued_by, voucher.points_spent) == (lan, lan.user, 300)
    assert PointAccount.objects.get(pk=lan.pk).available == 700


def test_the_price_is_never_taken_from_the_request(client, lan):
    reward = make_reward(points_cost=300)
    client.post(reverse("rewards:reward", args=[reward.pk]), {"points_cost": "1"})
    assert Voucher.objects.get().points_spent == 300


def test_a_refused_redemption_shows_the_reason(client, lan):
    reward = make_reward(points_cost=5000)
    response = client.post(reverse("rewards:reward", args=[reward.pk]), follow=True)
    assert "4,000 points short" in response.content.decode()
    assert Voucher.objects.count() == 0


def test_my_vouchers_lists_them_with_the_ready_ones_first(client, lan):
    used_later = redeem(lan, make_reward(name_en="First"))
    Voucher.objects.filter(pk=used_later.pk).update(status="expired")
    ready = redeem(lan, make_reward(name_en="Second"))
    response = client.get(reverse("rewards:vouchers"))
    assert response.status_code == 200
    assert response.context["vouchers"] == [ready, used_later]
    assert ready.code_display in response.content.decode()


def test_the_voucher_page_shows_the_code_and_its_qr(client, lan):
    voucher = redeem(lan, make_reward())
    response = client.get(reverse("rewards:voucher", args=[voucher.code_display.lower()]))
    assert response.status_code == 200
    html = response.content.decode()
    assert voucher.code_display in html
    assert "<svg" in html
    assert 'data-testid="cancel"' in html


def test_a_partner_voucher_shows_the_partner_code(client, lan):
    reward = make_reward(kind=Reward.Kind.PARTNER, partner_name="Cinema")
    partner_codes_import(reward=reward, rows=[(1, "CINE-0001")])
    voucher = redeem(lan, reward)
    html = client.get(reverse("rewards:voucher", args=[voucher.code])).content.decode()
    assert "CINE-0001" in html and "Cinema" in html
    assert 'data-testid="cancel"' not in html


def test_someone_elses_voucher_is_not_found(client, lan, other_member):
    give_points(other_member, 1000)
    theirs = redeem(other_member, make_reward())
    assert client.get(reverse("rewards:voucher", args=[theirs.code])).status_code == 404
    assert client.post(reverse("rewards:voucher_cancel", args=[theirs.code])).status_code == 404
    assert client.get(reverse("rewards:voucher", args=["NOT-A-CODE"])).status_code == 404


def test_the_member_cancels_within_the_grace_period(client, lan):
    voucher = redeem(lan, make_reward(points_cost=300))
    response = client.post(reverse("rewards:voucher_cancel", args=[voucher.code]))
    assert response.status_code == 302
    assert Voucher.objects.get(pk=voucher.pk).status == "cancelled"
    assert PointAccount.objects.get(pk=lan.pk).available == 1000


def test_after_the_grace_period_there_is_no_cancel_button_and_no_cancelling(client, lan):
    voucher = redeem(lan, make_reward(points_cost=300, cancel_grace_hours=24))
    with time_machine.travel(NOW + timedelta(hours=24, seconds=1), tick=False):
        page = client.get(reverse("rewards:voucher", args=[voucher.code])).content.decode()
        assert 'data-testid="cancel"' not in page
        response = client.post(reverse("rewards:voucher_cancel", args=[voucher.code]), follow=True)
    assert "The time to cancel this voucher has passed." in response.content.decode()
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"


def test_cancelling_needs_a_post(client, lan):
    voucher = redeem(lan, make_reward())
    assert client.get(reverse("rewards:voucher_cancel", args=[voucher.code])).status_code == 405


def test_the_pages_need_a_login_and_a_membership(client, support):
    response = client.get(reverse("rewards:catalogue"))
    assert response.status_code == 302 and reverse("account_login") in response.url
    client.force_login(support)
    assert client.get(reverse("rewards:catalogue")).status_code == 403
    assert client.get(reverse("rewards:vouchers")).status_code == 403


def test_the_portal_navigation_links_to_rewards(client, lan):
    html = client.get(reverse("portal:home")).content.decode()
    assert reverse("rewards:catalogue") in html


def test_a_double_submitted_redeem_form_redeems_once(client, lan):
    reward = make_reward(points_cost=300)
    url = reverse("rewards:reward", args=[reward.pk])
    token = client.get(url).context["request_token"]

    first = client.post(url, {"request_token": token})
    again = client.post(url, {"request_token": token})

    voucher = Voucher.objects.get()
    assert first.url == again.url == reverse("rewards:voucher", args=[voucher.code])
    assert PointAccount.objects.get(pk=lan.pk).available == 700
    # A new visit of the page is a new request: it redeems again.
    client.post(url, {"request_token": client.get(url).context["request_token"]})
    assert Voucher.objects.count() == 2
