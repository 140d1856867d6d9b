"""Campaigns' lifecycle: the defaults of the programme, checks before scheduling, approval
of large audiences, pausing, editing, and the admin pages marketers build them in."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign, CampaignPolicy, ProgramDate, Send
from campaigns.services import (
    campaign_approve,
    campaign_check,
    campaign_pause,
    campaign_save,
    campaign_schedule,
    campaigns_advance,
)
from loyalty.errors import DomainError
from tests.campaigns.campaign_helpers import VN, at, make_campaign, pause_defaults, tick
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


def test_the_default_programme_has_a_birthday_campaign_and_a_tet_draft():
    birthday = Campaign.objects.get(code="birthday")
    assert (birthday.state, birthday.trigger, birthday.reward_kind) == (
        "running",
        "birthday",
        Campaign.RewardKind.TIER_BIRTHDAY_POINTS,
    )
    assert birthday.channels == ["email", "in_app"]
    assert sorted(m.language for m in birthday.messages.all()) == ["en", "vi"]
    tet = Campaign.objects.get(code="tet")
    assert (tet.state, tet.trigger, tet.holiday) == ("draft", "holiday", "tet")
    campaign_check(campaign=tet)  # ready for marketers to finish
    assert CampaignPolicy.objects.get().birthday_timing == "on_day"
    assert ProgramDate.objects.count() == 5


def test_scheduling_checks_the_campaign_first(marketer):
    campaign = make_campaign(
        "bad",
        state=Campaign.State.DRAFT,
        trigger=Campaign.Trigger.HOLIDAY,
        holiday="no-such-day",
        by_sms=True,
        messages={"en": ("Hi {nmae}", "text", "")},
    )
    with translation.override("en"), pytest.raises(Exception) as caught:
        campaign_schedule(campaign=campaign, acting_user=marketer)
    text = " ".join(caught.value.messages)
    assert "no-such-day" in text
    assert "Vietnamese" in text
    assert "{nmae}" in text
    assert "SMS text" in text
    assert Campaign.objects.get(pk=campaign.pk).state == "draft"


@pytest.fixture
def low_threshold(settings):
    settings.CAMPAIGNS_APPROVAL_THRESHOLD = 2
    return settings


def test_a_campaign_over_the_threshold_needs_a_programme_admins_approval(
    low_threshold, marketer, program_admin, django_capture_on_commit_callbacks
):
    pause_defaults()
    for _n in range(3):
        MemberFactory()
    campaign = make_campaign("big", state=Campaign.State.DRAFT, send_at=at(DAY, 9))
    with pytest.raises(DomainError) as caught:
        campaign_schedule(campaign=campaign, acting_user=marketer)
    assert caught.value.code == "approval_required"
    assert caught.value.details == {"audience": 3}
    # Marketers may not approve; programme admins may.
    with pytest.raises(DomainError) as refused:
        campaign_approve(campaign=campaign, acting_user=_plain_staff())
    assert refused.value.code == "permission_denied"
    campaign_approve(campaign=campaign, acting_user=program_admin)
    campaign.refresh_from_db()
    assert (campaign.approved_by, campaign.approved_audience) == (program_admin, 3)
    with (
        time_machine.travel(at(DAY, 10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        campaign_schedule(campaign=campaign, acting_user=marketer)
    # Scheduled at 10:00 for 09:00: it ran at once (the tick queued on commit).
    campaign.refresh_from_db()
    assert campaign.state == "finished"
    assert Send.objects.filter(campaign=campaign, status="sent").count() == 3


def _plain_staff():
    from tests.factories import UserFactory

    return UserFactory(is_staff=True)


def test_under_the_threshold_no_approval_is_needed(low_threshold, marketer):
    pause_defaults()
    MemberFactory()
    campaign = make_campaign(
        "small", state=Campaign.State.DRAFT, starts_at=datetime(2030, 1, 1, tzinfo=VN)
    )
    campaign_schedule(campaign=campaign, acting_user=marketer)
    assert Campaign.objects.get(pk=campaign.pk).state == "scheduled"  # starts in 2030


def test_a_one_off_that_grew_past_the_threshold_waits_for_an_approval(
    low_threshold, marketer, django_capture_on_commit_callbacks
):
    pause_defaults()
    MemberFactory()
    campaign = make_campaign("grows", state=Campaign.State.DRAFT, send_at=at(DAY, 12))
    with time_machine.travel(at(DAY, 9), tick=False):
        campaign_schedule(campaign=campaign, acting_user=marketer)
    MemberFactory()
    MemberFactory()
    tick(at(DAY, 12), django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.state == "paused"
    assert not Send.objects.filter(campaign=campaign).exists()


def test_changing_the_audience_takes_the_approval_away(program_admin, marketer):
    campaign = make_campaign("approved", state=Campaign.State.DRAFT)
    campaign_approve(campaign=campaign, acting_user=program_admin)
    campaign.refresh_from_db()
    campaign.name = "New name"
    campaign_save(campaign=campaign, acting_user=marketer, audience_changed=False)
    assert Campaign.objects.get(pk=campaign.pk).approved_at is not None
    campaign.audience = Campaign.Audience.TIERS
    campaign_save(campaign=campaign, acting_user=marketer, audience_changed=True)
    assert Campaign.objects.get(pk=campaign.pk).approved_at is None


def test_only_drafts_and_paused_campaigns_change(marketer):
    campaign = make_campaign("live", state=Campaign.State.RUNNING)
    campaign.name = "Changed"
    with pytest.raises(DomainError) as caught:
        campaign_save(campaign=campaign, acting_user=marketer)
    assert caught.value.code == "campaign_locked"
    campaign_pause(campaign=campaign, acting_user=marketer)
    campaign_save(campaign=campaign, acting_user=marketer)
    assert Campaign.objects.get(pk=campaign.pk).name == "Changed"


def test_campaigns_start_and_end_with_time():
    scheduled = make_campaign(
        "later",
        state=Campaign.State.SCHEDULED,
        trigger=Campaign.Trigger.BIRTHDAY,
        starts_at=at(DAY, 0),
        ends_at=at(date(2026, 3, 20), 0),
    )
    assert campaigns_advance(now=at(date(2026, 3, 9), 23)) == {"started": 0, "finished": 0}
    assert campaigns_advance(now=at(DAY, 0)) == {"started": 1, "finished": 0}
    assert campaigns_advance(now=at(date(2026, 3, 20), 0)) == {"started": 0, "finished": 1}
    scheduled.refresh_from_db()
    assert scheduled.state == "finished"


# ---------------------------------------------------------------------------------------------
# The admin


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _add_form(**overrides) -> dict:
    data = {
        "code": "summer",
        "name": "Summer",
        "description": "",
        "audience": "all",
        "trigger": "holiday",
        "holiday": "womens-day",
        "days": "1",
        "starts_at_0": "2026-03-01",
        "starts_at_1": "00:00:00",
        "in_app": "on",
        "reward_kind": "points",
        "reward_points": "20",
        "messages-TOTAL_FORMS": "1",
        "messages-INITIAL_FORMS": "0",
        "messages-MIN_NUM_FORMS": "1",
        "messages-MAX_NUM_FORMS": "2",
        "messages-0-language": "vi",
        "messages-0-subject": "Chào {name}",
        "messages-0-body": "Tặng bạn {points} điểm",
        "messages-0-sms": "",
    }
    data.update(overrides)
    return data


def test_a_marketer_builds_a_campaign_in_the_admin_and_schedules_it(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("admin:campaigns_campaign_add"), _add_form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get(code="summer")
    assert (campaign.state, campaign.created_by, campaign.holiday) == (
        "draft",
        marketer,
        "womens-day",
    )
    assert campaign.messages.get().body == "Tặng bạn {points} điểm"
    response = client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "schedule", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "scheduled." in " ".join(str(m) for m in response.context["messages"])
    assert Campaign.objects.get(pk=campaign.pk).state == "running"
    page = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200
    assert "Sends (members and occurrences)" in page.content.decode()


def test_the_admin_refuses_unknown_placeholders(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("admin:campaigns_campaign_add"), _add_form(**{"messages-0-body": "{pointz}"})
    )
    assert response.status_code == 200
    assert "{pointz}" in response.content.decode()
    assert not Campaign.objects.filter(code="summer").exists()


def test_only_programme_admins_approve_in_the_admin(client, program_admin, low_threshold):
    for _n in range(3):
        MemberFactory()
    campaign = make_campaign("big", state=Campaign.State.DRAFT)
    client.force_login(program_admin)
    client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "approve", "_selected_action": [campaign.pk]},
    )
    assert Campaign.objects.get(pk=campaign.pk).approved_by == program_admin


def test_the_tick_runs_every_minute_on_a_worker():
    from celery.schedules import crontab

    from campaigns import tasks  # noqa: F401  (registers the tasks, as a worker does)
    from loyalty.celery import app

    entry = app.conf.beat_schedule["campaigns-tick"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == crontab(minute="*")
    assert "campaigns.tasks.deliver" in app.tasks


def test_the_tick_command_sends_a_one_off_that_is_due(django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    pause_defaults()
    member = MemberFactory()
    make_campaign("now", send_at=at(DAY, 9))
    out = StringIO()
    with (
        time_machine.travel(at(DAY, 9, 1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("campaigns_tick", stdout=out)
    assert "one-off=1 delivery-tasks=1" in out.getvalue()
    assert Send.objects.get(member=member).status == "sent"


def test_a_holiday_whose_audience_grew_past_the_threshold_waits_for_an_approval(
    low_threshold, django_capture_on_commit_callbacks
):
    from tests.campaigns.campaign_helpers import run_campaigns_day

    pause_defaults()
    MemberFactory.create_batch(3)
    campaign = make_campaign("tet-big", trigger=Campaign.Trigger.HOLIDAY, holiday="tet", days=7)

    run_campaigns_day(date(2026, 2, 10), django_capture_on_commit_callbacks)

    campaign.refresh_from_db()
    assert campaign.state == "paused"
    assert not Send.objects.filter(campaign=campaign).exists()


def test_widening_a_segment_takes_the_approval_of_its_campaigns_away(program_admin, marketer):
    from campaigns.services import segment_create, segment_update

    segment, _preview = segment_create(
        code="hcm",
        name="HCM",
        rules={"op": "and", "rules": [{"field": "province", "in": ["ho-chi-minh"]}]},
        acting_user=marketer,
    )
    campaign = make_campaign(
        "seg", state=Campaign.State.DRAFT, audience=Campaign.Audience.SEGMENT, segment=segment
    )
    campaign_approve(campaign=campaign, acting_user=program_admin)

    segment_update(segment=segment, acting_user=marketer, name="Hồ Chí Minh")
    assert Campaign.objects.get(pk=campaign.pk).approved_at is not None
    segment_update(segment=segment, acting_user=marketer, rules={"op": "and", "rules": []})

    assert Campaign.objects.get(pk=campaign.pk).approved_at is None


def test_a_paused_campaign_cannot_be_ended_into_sending_its_queue(marketer):
    from campaigns.services import campaign_finish

    campaign = make_campaign("paused", state=Campaign.State.PAUSED)

    with pytest.raises(DomainError) as caught:
        campaign_finish(campaign=campaign, acting_user=marketer)

    assert caught.value.code == "campaign_state"
    assert Campaign.objects.get(pk=campaign.pk).state == "paused"


def test_a_budget_below_what_was_spent_is_a_form_error_not_a_crash(client, program_admin):
    campaign = make_campaign(
        "spent",
        state=Campaign.State.PAUSED,
        reward_kind=Campaign.RewardKind.POINTS,
        reward_points=10,
        budget_points=100,
    )
    Campaign.objects.filter(pk=campaign.pk).update(spent_points=90)
    client.force_login(program_admin)
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(budget_points=50)

    response = client.post(url, data)

    assert response.status_code == 200
    assert "budget_points" in response.context["adminform"].form.errors
    assert Campaign.objects.get(pk=campaign.pk).budget_points == 100
