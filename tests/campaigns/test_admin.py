"""The segments and scores in the admin: rules checked by the compiler, the live count and
sample on the change page, the read-only scores, and who may do what."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.urls import reverse

from campaigns.models import MemberScore, Segment
from campaigns.services import segment_create
from tests.campaigns.helpers import compute
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """Staff who chose English (pages are in Vietnamese otherwise)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


HANOI = {"op": "and", "rules": [{"field": "province", "in": ["ha-noi"]}]}


def test_every_campaigns_model_has_an_admin_page(client, program_admin, member):
    from django.apps import apps
    from django.contrib import admin

    compute()
    client.force_login(program_admin)
    for model in apps.get_app_config("campaigns").get_models():
        assert model in admin.site._registry, model
        url = reverse(f"admin:campaigns_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_a_marketer_adds_a_segment_through_the_service(client, marketer):
    MemberFactory(full_name="Mai", province="ha-noi")
    client.force_login(marketer)
    response = client.post(
        reverse("admin:campaigns_segment_add"),
        {"code": "hanoi", "name": "Hà Nội", "description": "", "rules": json.dumps(HANOI)},
        follow=True,
    )
    assert response.status_code == 200
    segment = Segment.objects.get()
    assert (segment.code, segment.rules, segment.created_by) == ("hanoi", HANOI, marketer)
    assert "1 member matches this segment now." in [str(m) for m in response.context["messages"]]


def test_invalid_rules_are_shown_on_the_form(client, marketer):
    client.force_login(marketer)
    bad = {"op": "and", "rules": [{"field": "tier", "in": ["platinum"]}, {"field": "x"}]}
    response = client.post(
        reverse("admin:campaigns_segment_add"),
        {"code": "bad", "name": "Bad", "rules": json.dumps(bad)},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rules"]
    assert any("Rule 2" in error and "“x”" in error for error in errors)
    assert not Segment.objects.exists()
    response = client.post(
        reverse("admin:campaigns_segment_add"),
        {
            "code": "bad",
            "name": "Bad",
            "rules": json.dumps(HANOI | {"rules": [{"field": "tier", "in": ["platinum"]}]}),
        },
    )
    assert "platinum" in str(response.context["adminform"].form.errors["rules"])
    response = client.post(
        reverse("admin:campaigns_segment_add"), {"code": "bad", "name": "Bad", "rules": "{oops"}
    )
    assert "rules" in response.context["adminform"].form.errors


def test_the_change_page_shows_the_live_count_and_a_sample(client, marketer):
    mai = MemberFactory(full_name="Mai", province="ha-noi")
    MemberFactory(full_name="Bình", province="hue")
    segment, _ = segment_create(code="hanoi", name="Hà Nội", rules=HANOI, acting_user=marketer)
    client.force_login(marketer)
    url = reverse("admin:campaigns_segment_change", args=[segment.pk])
    page = client.get(url).content.decode()
    assert "1 member matches now." in page
    assert reverse("admin:members_member_change", args=[mai.pk]) in page
    assert "Bình" not in page
    # The code is fixed once saved; the rules are edited, through the service.
    response = client.post(
        url,
        {
            "code": "renamed",
            "name": "Hà Nội và Huế",
            "description": "",
            "rules": json.dumps(
                {"op": "or", "rules": [*HANOI["rules"], {"field": "province", "in": ["hue"]}]}
            ),
        },
        follow=True,
    )
    assert response.status_code == 200
    segment.refresh_from_db()
    assert (segment.code, segment.name, segment.updated_by) == ("hanoi", "Hà Nội và Huế", marketer)
    assert "2 members match this segment now." in [str(m) for m in response.context["messages"]]


def test_support_cannot_see_segments(client, support):
    client.force_login(support)
    assert client.get(reverse("admin:campaigns_segment_changelist")).status_code == 403


def test_scores_are_read_only_and_filterable(client, marketer, member, other_member):
    compute()
    client.force_login(marketer)
    url = reverse("admin:campaigns_memberscore_changelist")
    response = client.get(url, {"lifecycle__exact": "potential"})
    assert response.status_code == 200
    assert {row.member for row in response.context["cl"].result_list} == {member, other_member}
    assert client.get(url, {"recency__exact": "5"}).context["cl"].result_list.count() == 0
    change = reverse("admin:campaigns_memberscore_change", args=[member.pk])
    assert client.get(change).status_code == 200  # a view, no form
    assert client.post(change, {"lifecycle": "vip"}).status_code == 403
    assert MemberScore.objects.get(pk=member.pk).lifecycle == "potential"
    assert client.get(reverse("admin:campaigns_memberscore_add")).status_code == 403
