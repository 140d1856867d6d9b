"""A worker killed with SIGKILL in the middle of a campaign, its queued tasks lost with it:
the tick hands its work to a new worker within the claim timeout, and every member gets
exactly one send (the send rows, the in-app notifications, the points, and the SMS
provider's own record: one message per member, at most the one in flight repeated)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.fake_sms import calls
from tests.faults.harness import Worker, purge_queue, say, send_task, wait_until

pytestmark = pytest.mark.faults

CAMPAIGN = r"""
import json
from datetime import timedelta
from django.utils import timezone
from campaigns.models import Campaign
from tests.campaigns.campaign_helpers import make_campaign

campaign = make_campaign(
    "faults-kill", trigger=Campaign.Trigger.ONE_OFF,
    starts_at=timezone.now() - timedelta(minutes=1), send_at=timezone.now(),
    in_app=True, by_sms=True, by_email=False, reward_kind="points", reward_points=7,
)
print(json.dumps({"id": campaign.pk}))
"""


def test_a_worker_killed_mid_campaign_loses_nothing_and_sends_nothing_twice(stack):
    record = stack.sms_record
    record.unlink(missing_ok=True)
    campaign = stack.shell(CAMPAIGN)["id"]
    first = Worker(stack, "doomed")
    try:
        send_task(stack, "campaigns.tasks.tick")  # the one-off goes: fan-out, delivery queued
        wait_until(lambda: len(calls(record)) >= 40, 120, "the first worker to be sending")
        say(f"SIGKILL to the worker after {len(calls(record))} SMS")
        first.kill()
    finally:
        first.stop()
    purge_queue(stack)  # and its queued delivery tasks are lost with it
    total = stack.db.sends(campaign)
    sent_before = stack.db.sends(campaign, status="sent")
    in_hand = stack.db.sends(campaign, status="sending")
    say(f"{total} sends: {sent_before} sent, {in_hand} held by the dead worker")
    assert 0 < sent_before < total and in_hand > 0

    second = Worker(stack, "survivor")
    try:

        def all_sent() -> bool:
            send_task(stack, "campaigns.tasks.tick")  # beat's minute, every few seconds here
            return stack.db.sends(campaign, status="sent") == total

        wait_until(all_sent, 150, "every send to be delivered", every=3)
    finally:
        second.stop()

    members = stack.db.value("SELECT count(*) FROM members_member WHERE status = 'active'")
    assert total == members  # one send per member: nothing lost, nothing doubled
    assert stack.db.sends(campaign, attempts=2) > 0  # taken over from the dead worker
    notifications = stack.db.value(
        "SELECT count(*) FROM campaigns_notification n JOIN campaigns_send s ON s.id = n.send_id "
        "WHERE s.campaign_id = %s",
        (campaign,),
    )
    assert notifications == members
    points = stack.db.rows(
        "SELECT count(*), count(DISTINCT e.idempotency_key) FROM members_pointentry e "
        "JOIN campaigns_send s ON e.idempotency_key = 'send:' || s.id WHERE s.campaign_id = %s",
        (campaign,),
    )[0]
    assert points == (members, members)
    sms_sends = {
        str(pk)
        for (pk,) in stack.db.rows(
            "SELECT id FROM campaigns_send WHERE campaign_id = %s AND sms_status = 'sent'",
            (campaign,),
        )
    }
    campaign_keys = {
        str(pk)
        for (pk,) in stack.db.rows(
            "SELECT id FROM campaigns_send WHERE campaign_id = %s", (campaign,)
        )
    }
    repeats = Counter(key for key in calls(record) if key in campaign_keys)
    # The provider keys messages by the send: one per member who takes SMS; only the call
    # in flight when the worker died may have been made twice.
    assert set(repeats) == sms_sends and len(sms_sends) >= 100
    assert sum(repeats.values()) - len(repeats) <= 1
    done = stack.manage("verify_ledger", check=False)
    assert done.returncode == 0, done.stderr
