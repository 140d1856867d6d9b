"""Redis down, as the broker and as the cache at once: tills go on (purchases, a reward
redeemed for a voucher, the voucher and points paying a purchase), the portal's login works
(its rate limits fail open), and work queued while it was down (a campaign scheduled: the
nudge to the tick failed) runs once Redis is back and a worker and the tick run."""

from __future__ import annotations

import re

import pytest

from tests.faults.harness import Worker, say, send_task, wait_until

pytestmark = pytest.mark.faults

SCHEDULE = r"""
import json
from datetime import timedelta
from django.utils import timezone
from campaigns.models import Campaign
from campaigns.services import campaign_schedule
from members.models import User
from tests.campaigns.campaign_helpers import make_campaign

campaign = make_campaign(
    "faults-redis", state=Campaign.State.DRAFT, trigger=Campaign.Trigger.ONE_OFF,
    starts_at=timezone.now() - timedelta(minutes=1), send_at=timezone.now(),
    in_app=True, by_sms=False, by_email=False,
)
campaign_schedule(campaign=campaign, acting_user=User.objects.get(pk=%d))
campaign.refresh_from_db()
print(json.dumps({"id": campaign.pk, "state": campaign.state}))
"""


def _login_attempt(web) -> tuple[int, int]:
    """The portal's login page, then a wrong password posted to it (allauth counts failed
    logins in the cache): (status of the page, status of the post)."""
    status, headers, page = web.request("GET", "/accounts/login/")
    if status != 200:
        return status, 0
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", "")).group(1)
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "login": "nobody@example.com", "password": "wrong-one"}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        web.base + "/accounts/login/", data=body, method="POST"
    )
    request.add_header("Host", "127.0.0.1")
    request.add_header("Cookie", f"csrftoken={cookie}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
            return status, response.status
    except urllib.error.HTTPError as error:
        return status, error.code


def test_tills_and_login_go_on_while_redis_is_down_and_queued_work_runs_after(stack, pos):
    card = stack.seed["cards"][2]
    assert stack.redis.up()
    say("Redis stopped (broker and cache)")
    stack.redis.stop()
    try:
        status, _h, body = pos(
            "POST",
            "/transactions/",
            {"external_id": "RDS-1", "member": card, "total_amount": "250000"},
        )
        assert status == 201, body
        status, _h, rewards = pos("GET", f"/members/{card}/rewards/")
        assert status == 200, rewards
        reward = next(r for r in rewards if r["available"] and r["kind"] in ("amount", "percent"))
        status, _h, redeemed = pos(
            "POST", f"/members/{card}/rewards/{reward['id']}/redeem/", {"external_id": "RDS-R1"}
        )
        assert status == 201, redeemed
        code = redeemed["voucher"]["code"]
        # The voucher and some points pay part of the next purchase.
        status, _h, paid = pos(
            "POST",
            "/transactions/",
            {
                "external_id": "RDS-2",
                "member": card,
                "total_amount": "900000",
                "voucher_codes": [code],
                "redeem_points": 100,
            },
        )
        assert status == 201, paid
        assert paid["points_redeemed"] == 100
        assert _login_attempt(stack.web) == (200, 200)
        # A campaign scheduled now: the nudge to the tick cannot be queued.
        scheduled = stack.shell(SCHEDULE % stack.seed["superuser"])
        say(f"campaign scheduled while the broker is down: {scheduled}")
    finally:
        stack.redis.start()
        say("Redis started again")

    campaign = scheduled["id"]
    purchases = "SELECT count(*) FROM members_purchase WHERE external_id IN ('RDS-1', 'RDS-2')"
    assert stack.db.value(purchases) == 2
    assert stack.db.value("SELECT status FROM rewards_voucher WHERE code = %s", (code,)) == "used"
    assert stack.db.sends(campaign) == 0  # nothing ran: the tick was never queued
    members = stack.db.active_members()
    worker = Worker(stack, "redis-back")
    try:
        send_task(stack, "campaigns.tasks.tick")  # what beat sends every minute
        wait_until(
            lambda: stack.db.sends(campaign, status="sent") == members,
            90,
            "the campaign scheduled while Redis was down to be delivered",
        )
    finally:
        worker.stop()
    assert stack.db.sends(campaign) == members
    assert stack.db.notifications(campaign) == members
    web_log = stack.log_text("gunicorn.log")
    assert "rate limits fail open" in web_log  # the outage was logged (once a minute)
    assert "Traceback" not in web_log
