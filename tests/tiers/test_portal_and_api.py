"""The member's tier progress, as the portal page and the POS API show it (one selector)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import time_machine
from django.urls import reverse

from tests.pos.helpers import PosClient, assert_error
from tests.tiers.test_recalculate import TODAY, VN, buy, hold

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(datetime.combine(TODAY, time(15, 0), tzinfo=VN), tick=False):
        yield


def test_the_member_sees_what_the_next_tier_and_keeping_theirs_need(client, member_user, store):
    member = member_user.member
    hold(member, "silver", since=date(2026, 3, 1), retained_until=date(2027, 3, 31))
    buy(member, store, "3000000")
    buy(member, store, "1000000")
    client.force_login(member_user)

    home = client.get(reverse("portal:home")).content.decode()
    assert reverse("tiers:my_tier") in home
    page = client.get(reverse("tiers:my_tier"))

    assert page.status_code == 200
    progress = page.context["progress"]
    assert (progress.tier.code, progress.next_tier.code) == ("silver", "gold")
    assert (progress.spend_to_next, progress.purchases_to_next) == (16000000, 8)
    assert (progress.spend_to_keep, progress.purchases_to_keep) == (1000000, 1)
    text = page.content.decode()
    assert "16.000.000" in text or "16,000,000" in text


def test_the_tier_page_needs_a_login_and_a_member(client, support):
    assert client.get(reverse("tiers:my_tier")).status_code == 302
    client.force_login(support)
    assert client.get(reverse("tiers:my_tier")).status_code == 403


def test_the_pos_reads_a_members_tier_progress(client, store_key, member, store):
    buy(member, store, "2000000")
    pos = PosClient(client, store_key[1])

    response = pos.get(f"/members/{member.card_number}/tier/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tier"]["code"] == "bronze" and body["next_tier"]["code"] == "silver"
    assert (body["spend"], body["purchases"]) == ("2000000", 1)
    assert (body["spend_to_next"], body["purchases_to_next"]) == ("3000000", 2)
    assert body["retained_until"] is None


def test_the_pos_tier_progress_of_an_unknown_card_is_404(client, store_key):
    pos = PosClient(client, store_key[1])
    assert_error(pos.get("/members/000000000000/tier/"), 404, "not_found")
