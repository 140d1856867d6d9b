"""The fault tests' stack, built once for the run (``pytest -m faults tests/faults``, driven by
``.ci/faults``): a PostgreSQL cluster and a Redis of their own, the schema migrated, the
demo programme seeded plus members who take SMS, and gunicorn serving it with production
settings. Torn down whatever happens."""

from __future__ import annotations

import pytest

from tests.faults.harness import (
    RUN_DIR,
    PgCluster,
    RedisServer,
    Stack,
    WebServer,
    say,
    temp_dir,
)

SEED = r"""
import json, os
from django.core.management import call_command
from campaigns.models import Campaign
from members.models import Member, Store
from members.selectors import program_get
from members.services.points import points_grant
from members.models import User
from pos.services import api_key_create
from tests.factories import MemberFactory

with open(os.devnull, "w") as quiet:
    call_command("seed_demo", "--quiet", "--allow-production", stdout=quiet)
# Only the scenarios' own campaigns send.
Campaign.objects.exclude(state=Campaign.State.FINISHED).update(state=Campaign.State.PAUSED)
_row, key = api_key_create(store=Store.objects.get(code="HCM01"), label="faults")
for n in range(100):
    MemberFactory(full_name=f"Khách {n}", phone=f"0938{n:06d}", email=None, sms_consent=True)
program = program_get()
cards = []
for member in Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk")[:6]:
    points_grant(member=member, points=200_000, idempotency_key=f"faults:{member.pk}",
                 reason="fault tests", program=program)
    cards.append(member.card_number)
superuser = User.objects.filter(is_superuser=True).order_by("pk").first()
print(json.dumps({"key": key, "cards": cards, "superuser": superuser.pk}))
"""


@pytest.fixture(scope="session")
def stack():
    workdir = temp_dir("loyalty-faults-")
    cluster = PgCluster()
    redis = RedisServer(workdir)
    built = Stack(cluster, redis, workdir)
    try:
        say(f"PostgreSQL cluster in {cluster.dir} on port {cluster.port}")
        cluster.init()
        cluster.start()
        cluster.create_database("loyalty_faults")
        say(f"Redis on port {redis.port}")
        redis.start()
        say("migrate, collectstatic, seed")
        built.manage("migrate", "--noinput", "-v0", timeout=240)
        built.manage("collectstatic", "--noinput", "-v0", timeout=120)
        built.seed = built.shell(SEED, timeout=180)
        built.web = WebServer(built)
        say(f"gunicorn on port {built.web.port}")
        yield built
    finally:
        built.stop_all()
        redis.stop()
        cluster.destroy()
        if not RUN_DIR:  # run by hand: the logs stay for a look (.ci/faults prints and removes)
            say(f"logs in {workdir}")


@pytest.fixture
def pos(stack):
    key = stack.seed["key"]

    def call(method: str, path: str, body: dict | None = None):
        return stack.web.request(
            method, f"/api/v1/pos{path}", body, headers={"Authorization": f"Api-Key {key}"}
        )

    return call
