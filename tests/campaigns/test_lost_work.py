"""Campaign work whose task was lost (its worker killed, the broker down when it was queued)
is picked up by the tick within minutes, never sent twice: claims are leases a live worker
renews, and the tick hands out what is due with no worker on it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings

from campaigns.models import Campaign, Notification, Send
from campaigns.services import (
    campaign_deliver,
    campaign_fan_out,
    campaigns_tick,
    delivery,
    send_process,
    sends_claim,
)
from campaigns.services.delivery import sends_renew
from members.models import PointEntry
from tests.campaigns.campaign_helpers import at, make_campaign, pause_defaults, tick
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _only_our_campaigns(db):
    pause_defaults()


def one_off(**fields) -> Campaign:
    return make_campaign(
        "flash",
        trigger=Campaign.Trigger.ONE_OFF,
        send_at=at(DAY, 9),
        in_app=True,
        reward_kind="points",
        reward_points=10,
        **fields,
    )


def test_the_default_claim_lease_gives_lost_work_back_within_minutes():
    # Lost work waits one claim timeout, then at most a minute for the tick: a few minutes,
    # where the broker would redeliver the task only after its 45-minute visibility timeout.
    assert django_settings.CAMPAIGNS_CLAIM_TIMEOUT <= 300
    visibility = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > django_settings.CAMPAIGNS_CLAIM_TIMEOUT * 5


def test_a_renewed_claim_is_kept_and_goes_stale_one_timeout_after_the_last_renewal(settings):
    settings.CAMPAIGNS_CLAIM_TIMEOUT = 180
    MemberFactory()
    campaign = one_off()
    with time_machine.travel(at(DAY, 9), tick=False):
        campaign_fan_out(campaign=campaign, today=DAY)
        token, ids = sends_claim(campaign_id=campaign.pk)
    assert len(ids) == 1
    with time_machine.travel(at(DAY, 9, 2), tick=False):
        assert sends_renew(token=token) == 1
    with time_machine.travel(at(DAY, 9, 4), tick=False):  # 4 min after the claim, 2 after renewal
        assert sends_claim(campaign_id=campaign.pk)[1] == []
    # Three minutes after the renewal: stale, another worker takes it.
    with time_machine.travel(at(DAY, 9, 5) + timedelta(seconds=1), tick=False):
        _taker, taken = sends_claim(campaign_id=campaign.pk)
    assert taken == ids
    # The first worker can renew nothing any more, nor write to the send.
    assert sends_renew(token=token) == 0
    assert send_process(send_id=ids[0], token=token) == "lost"


class _Clock:
    """A monotonic clock the test moves (time-machine leaves ``time.monotonic`` alone)."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


def test_a_slow_worker_renews_its_whole_chunk_so_no_one_takes_the_sends_it_has_yet_to_do(
    settings, monkeypatch
):
    settings.CAMPAIGNS_CLAIM_TIMEOUT = 120
    for _ in range(6):
        MemberFactory()
    campaign = one_off()
    with time_machine.travel(at(DAY, 9), tick=False):
        campaign_fan_out(campaign=campaign, today=DAY)
    clock = _Clock()
    monkeypatch.setattr(delivery, "monotonic_time", clock)
    real_process = delivery.send_process
    stolen = []

    def slow_process(*, send_id, token, now=None):
        # Each send takes 50 s (a slow provider): six of them outlast the 120 s timeout.
        clock.now += 50
        traveller.shift(timedelta(seconds=50))
        stolen.extend(sends_claim(campaign_id=campaign.pk)[1])  # another worker tries
        return real_process(send_id=send_id, token=token)

    monkeypatch.setattr(delivery, "send_process", slow_process)
    with time_machine.travel(at(DAY, 9), tick=False) as traveller:
        run = campaign_deliver(campaign_id=campaign.pk, time_budget=10_000)
    assert stolen == []
    assert run.outcomes["sent"] == 6
    assert set(Send.objects.filter(campaign=campaign).values_list("attempts", flat=True)) == {1}


def test_the_sends_of_a_killed_worker_are_done_by_the_tick_within_minutes_and_once(
    settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGNS_CLAIM_TIMEOUT = 180
    members = [MemberFactory() for _ in range(3)]
    campaign = one_off()
    with time_machine.travel(at(DAY, 9), tick=False):
        campaign_fan_out(campaign=campaign, today=DAY)
        dead, ids = sends_claim(campaign_id=campaign.pk)
        # The worker delivers one send, then is killed with SIGKILL (its task is lost).
        assert send_process(send_id=ids[0], token=dead) == "sent"
    assert tick(at(DAY, 9, 2), django_capture_on_commit_callbacks)["tasks"] == 0  # still its
    assert tick(at(DAY, 9, 4), django_capture_on_commit_callbacks)["tasks"] == 1
    sends = Send.objects.filter(campaign=campaign)
    assert {s.status for s in sends} == {"sent"}
    assert sorted(s.attempts for s in sends) == [1, 2, 2]
    assert Notification.objects.filter(send__campaign=campaign).count() == len(members)
    keys = [f"send:{pk}" for pk in ids]
    assert PointEntry.objects.filter(idempotency_key__in=keys).count() == len(members)


def test_sends_whose_delivery_task_never_reached_a_worker_are_handed_out_by_the_next_tick(
    django_capture_on_commit_callbacks,
):
    MemberFactory()
    MemberFactory()
    campaign = one_off()
    # The one-off goes at 9:00; the delivery tasks queued after commit are lost (a broker
    # outage, a purge): the callbacks are captured and never run.
    with (
        time_machine.travel(at(DAY, 9), tick=False),
        django_capture_on_commit_callbacks(execute=False),
    ):
        campaigns_tick()
    assert Send.objects.filter(campaign=campaign, status="queued").count() == 2
    assert tick(at(DAY, 9, 1), django_capture_on_commit_callbacks)["tasks"] == 1
    assert set(Send.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"sent"}
    assert tick(at(DAY, 9, 2), django_capture_on_commit_callbacks)["tasks"] == 0
