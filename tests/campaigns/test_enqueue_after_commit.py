"""Tasks are queued after commit, and a broker that is down at that moment is logged, never a
500: the admin's "schedule" action says the work is queued, the campaign is committed as
running, and the minute tick picks the work up when the broker is back."""

from __future__ import annotations

import logging
from datetime import date
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from kombu.exceptions import OperationalError

from campaigns import tasks
from campaigns.models import Campaign, Notification, Send
from campaigns.services import campaign_schedule, campaigns_tick
from campaigns.services.enqueue import task_enqueue
from tests.campaigns.campaign_helpers import at, make_campaign, pause_defaults
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)
BROKER_DOWN = OperationalError("Error 111 connecting to redis:6379. Connection refused.")


@pytest.fixture(autouse=True)
def _only_our_campaigns(db, client):
    pause_defaults()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def members(db):
    return [
        MemberFactory(full_name="Phạm Thị Hoa", email="hoa@example.com", phone="0912 000 111"),
        MemberFactory(full_name="Võ Văn Nam", email="nam@example.com", phone="0912 000 222"),
    ]


def draft_one_off(code="offer"):
    return make_campaign(
        code,
        state=Campaign.State.DRAFT,
        trigger=Campaign.Trigger.ONE_OFF,
        send_at=at(DAY, 9),
        in_app=True,
    )


def broker_down(task):
    return mock.patch.object(task, "apply_async", side_effect=BROKER_DOWN)


def test_schedule_with_the_broker_down_redirects_commits_and_the_tick_sends_it(
    client, marketer, members, caplog, django_capture_on_commit_callbacks
):
    campaign = draft_one_off()
    with time_machine.travel(at(DAY, 10), tick=False):
        client.force_login(marketer)
        with (
            broker_down(tasks.tick) as publish,
            caplog.at_level(logging.WARNING, logger="campaigns.services.enqueue"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = client.post(
                reverse("admin:campaigns_campaign_changelist"),
                {"action": "schedule", "_selected_action": [campaign.pk]},
            )
        assert response.status_code == 302
        assert publish.called  # it was tried after commit, and failed
        page = client.get(response.url)
        shown = " ".join(str(m) for m in page.context["messages"])
        assert "scheduled. Its work is queued" in shown
        assert "tick" in shown
        # Committed as running, and nothing was sent: the nudge was lost.
        assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.RUNNING
        assert not Send.objects.filter(campaign=campaign).exists()
        logged = caplog.text
        assert "OperationalError" in logged and "campaigns.tasks.tick" in logged
        assert "redis:6379" not in logged  # the broker's address stays out of the log
        # The broker is back: beat's minute tick finds the campaign by itself.
        with django_capture_on_commit_callbacks(execute=True):
            tasks.tick()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.FINISHED
    sends = Send.objects.filter(campaign=campaign)
    assert sorted(sends.values_list("status", flat=True)) == ["sent", "sent"]
    assert Notification.objects.filter(member__in=members).count() == 2


def test_the_service_commits_and_returns_when_the_broker_is_down(
    marketer, members, django_capture_on_commit_callbacks
):
    campaign = draft_one_off()
    with time_machine.travel(at(DAY, 10), tick=False):
        with broker_down(tasks.tick), django_capture_on_commit_callbacks(execute=True) as done:
            campaign_schedule(campaign=campaign, acting_user=marketer)
        assert len(done) == 1  # the tick is queued after commit, not inside the transaction
        assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.RUNNING


def test_nothing_is_queued_when_the_transaction_rolls_back(
    marketer, members, django_capture_on_commit_callbacks
):
    from django.db import transaction

    campaign = draft_one_off()
    with (
        time_machine.travel(at(DAY, 10), tick=False),
        mock.patch.object(tasks.tick, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        campaign_schedule(campaign=campaign, acting_user=marketer)
        raise RuntimeError("the caller fails after the service")
    assert callbacks == [] and not publish.called
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.DRAFT


def test_delivery_tasks_lost_to_a_broker_outage_are_queued_by_the_next_tick(
    members, caplog, django_capture_on_commit_callbacks
):
    campaign = make_campaign("offer", trigger=Campaign.Trigger.ONE_OFF, send_at=at(DAY, 9))
    with time_machine.travel(at(DAY, 10), tick=False):
        with (
            broker_down(tasks.deliver) as publish,
            caplog.at_level(logging.WARNING, logger="campaigns.services.enqueue"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            result = campaigns_tick()  # the one-off's sends are created; delivery not queued
        assert publish.called and result["one_off"] == {"offer": 2}
        assert set(Send.objects.values_list("status", flat=True)) == {"queued"}
        for member in members:  # no personal data in the warning
            assert member.email not in caplog.text and member.phone not in caplog.text
        with django_capture_on_commit_callbacks(execute=True):
            again = campaigns_tick()
    assert again["tasks"] == 1
    assert sorted(Send.objects.filter(campaign=campaign).values_list("status", flat=True)) == [
        "sent",
        "sent",
    ]


def test_task_enqueue_does_not_swallow_the_tasks_own_errors():
    # Run in-process (no broker), a task's failure is the task's: it still propagates.
    with (
        mock.patch.object(tasks.tick, "apply_async", side_effect=ValueError("a bug")),
        pytest.raises(ValueError),
    ):
        task_enqueue(tasks.tick)
    with broker_down(tasks.tick):
        assert task_enqueue(tasks.tick) is False
