"""A Redis cache that cannot be reached is a miss: rate limits fail open, tills and the
portal's login go on, and the outage is logged (once a minute, without personal data)."""

from __future__ import annotations

import logging

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from loyalty import cache_backends, env
from members.models import Purchase
from tests.pos.helpers import NOW, PosClient

pytestmark = pytest.mark.django_db

# Port 1 on the loopback: nothing listens, every connection is refused at once.
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture
def cache_down(settings, monkeypatch):
    monkeypatch.setenv("CACHE_URL", UNREACHABLE)
    settings.CACHES = {"default": env.get_cache("CACHE_URL")}
    cache_backends.reset_state()
    yield
    cache_backends.reset_state()


@pytest.fixture
def pos(client, store_key):
    return PosClient(client, store_key[1])


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def sale(member, external_id):
    return {"external_id": external_id, "member": member.card_number, "total_amount": "100000"}


def test_a_redis_url_gives_the_fail_open_backend_with_short_timeouts(monkeypatch):
    monkeypatch.setenv("CACHE_URL", UNREACHABLE)
    config = env.get_cache("CACHE_URL")
    assert config["BACKEND"] == "loyalty.cache_backends.FailOpenRedisCache"
    assert config["LOCATION"] == UNREACHABLE
    assert config["OPTIONS"]["socket_timeout"] <= 1


def test_every_operation_is_a_miss_while_redis_is_down(cache_down):
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("k") is False
    assert cache.add("k", 1) is True  # nothing was there
    cache.set("k", 1)
    assert cache.get("k") is None
    assert cache.set_many({"a": 1}) == []
    assert cache.touch("k") is False
    assert cache.delete("k") is False
    cache.delete_many(["a"])
    with pytest.raises(ValueError):
        cache.incr("k")
    with pytest.raises(ValueError):
        cache.decr("k")
    assert cache.get_or_set("k", 5) == 5


def test_pos_purchases_go_on_past_the_rate_limit_while_the_cache_is_down(
    cache_down, pos, member, settings, caplog
):
    settings.POS_API_THROTTLE_RATE = "1/min"
    with caplog.at_level(logging.WARNING, logger="loyalty.cache_backends"):
        for n in range(3):
            assert pos.purchase(sale(member, f"R-{n}")).status_code == 201, n
    assert Purchase.objects.count() == 3
    warnings = [r for r in caplog.records if r.name == "loyalty.cache_backends"]
    # Logged once for the outage, not once per request; naming no key, email or phone.
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "rate limits fail open" in text
    assert member.card_number not in text and "throttle:" not in text


def test_the_outage_is_logged_again_after_a_minute(cache_down, caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache_backends, "_now", lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="loyalty.cache_backends"):
        cache.get("k")
        clock[0] += 1  # within the retry pause: Redis is not even tried
        cache.get("k")
        clock[0] += 30
        cache.get("k")
        clock[0] += 31  # a minute after the first line: one more
        cache.get("k")
    warnings = [r for r in caplog.records if r.name == "loyalty.cache_backends"]
    assert len(warnings) == 2


def test_portal_login_works_while_the_cache_is_down(cache_down, client, member_user):
    assert client.get(reverse("account_login")).status_code == 200
    wrong = client.post(
        reverse("account_login"), {"login": "lan@example.com", "password": "not-the-one"}
    )
    assert wrong.status_code == 200
    assert wrong.context["form"].errors
    right = client.post(
        reverse("account_login"), {"login": "lan@example.com", "password": "correct-horse-battery"}
    )
    assert right.status_code == 302
    assert right.url == reverse("portal:home")


def test_the_throttle_fails_open_whatever_the_cache_backend_raises(
    pos, member, settings, monkeypatch, caplog
):
    settings.POS_API_THROTTLE_RATE = "1/min"
    cache_backends.reset_state()

    def broken(*args, **kwargs):
        raise OSError("cache host unreachable")

    monkeypatch.setattr(cache, "add", broken)
    with caplog.at_level(logging.WARNING, logger="loyalty.cache_backends"):
        assert pos.purchase(sale(member, "R-1")).status_code == 201
        assert pos.purchase(sale(member, "R-2")).status_code == 201
    assert any("pos throttle" in r.getMessage() for r in caplog.records)
    cache_backends.reset_state()


def test_the_throttle_still_limits_when_the_cache_works(pos, member, settings):
    settings.POS_API_THROTTLE_RATE = "1/min"
    cache.clear()
    assert pos.purchase(sale(member, "R-1")).status_code == 201
    assert pos.purchase(sale(member, "R-2")).status_code == 429
