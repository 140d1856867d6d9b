"""Staff enter what members read in Vietnamese and English side by side; the Vietnamese is
required, the English optional (empty: members reading English see the Vietnamese)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tiers.models import Tier

pytestmark = pytest.mark.django_db


TEXTS = [("name", "name_en"), ("description", "description_en")]


@pytest.mark.parametrize(
    "url_name,pairs",
    [
        ("admin:tiers_tier_change", [("name", "name_en"), ("benefits", "benefits_en")]),
        ("admin:rewards_reward_add", [*TEXTS, ("terms", "terms_en")]),
        ("admin:promotions_promotion_add", TEXTS),
    ],
)
def test_the_two_languages_are_side_by_side(client, program_admin, url_name, pairs):
    client.force_login(program_admin)
    args = [Tier.objects.get(code="gold").pk] if url_name.endswith("_change") else []
    response = client.get(reverse(url_name, args=args))
    assert response.status_code == 200
    html = response.content.decode()
    for vietnamese, english in pairs:
        row = re.search(
            rf'<div class="form-row[^"]*field-{vietnamese}[^"]*field-{english}[^"]*"', html
        )
        assert row, (url_name, vietnamese, english)


def test_english_is_optional_and_vietnamese_required(client, program_admin):
    client.force_login(program_admin)
    gold = Tier.objects.get(code="gold")
    url = reverse("admin:tiers_tier_change", args=[gold.pk])
    data = {
        "code": "gold",
        "rank": gold.rank,
        "color": gold.color,
        "name": "Vàng",
        "name_en": "",
        "benefits": "Ưu đãi mới",
        "benefits_en": "",
        "multiplier": "1.50",
        "min_spend": "20000000",
        "min_purchases": "10",
        "birthday_points": "200",
    }
    assert client.post(url, data).status_code == 302
    gold.refresh_from_db()
    assert gold.localised("name", language="en") == "Vàng"
    assert gold.localised("benefits", language="en") == "Ưu đãi mới"
    response = client.post(url, {**data, "name": ""})
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
