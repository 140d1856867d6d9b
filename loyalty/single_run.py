"""Single-run locks for scheduled jobs: a lease row per job in the database.

Two beat processes started by mistake, a task the broker redelivers while the first copy
still runs, a cron run on top of beat's: each would run the nightly jobs or the campaigns'
tick twice at once. Every periodic task runs inside ``single_run(name)``; the second copy
finds the lease held, logs it and skips.

Why a lease row rather than an advisory lock: a session-level ``pg_try_advisory_lock`` is
lost (or held by the wrong client) behind PgBouncer in transaction mode, and the jobs are
many transactions, so ``pg_advisory_xact_lock`` cannot span them. A row taken by one
conditional ``UPDATE ... WHERE expires_at <= now`` works on PostgreSQL (the second
updater waits for the first, then sees the new expiry and updates nothing) and on SQLite.

The lease expires: a holder killed with SIGKILL blocks the job for at most
``SINGLE_RUN_LEASE_SECONDS``. A live holder renews it from a heartbeat thread every quarter
of that, so a long job keeps it. The heartbeat touches the database only once a job has run
that long.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from loyalty.models import JobLease

logger = logging.getLogger(__name__)


def _holder() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _seconds(seconds: int | None) -> int:
    return seconds or settings.SINGLE_RUN_LEASE_SECONDS


def lease_acquire(name: str, *, seconds: int | None = None) -> str | None:
    """Take the lease of job ``name`` for ``seconds``: the holder's token, or None when a
    live holder has it."""
    now = timezone.now()
    JobLease.objects.bulk_create(
        [JobLease(name=name, holder="", expires_at=now - timedelta(seconds=1))],
        ignore_conflicts=True,
    )
    holder = _holder()
    taken = JobLease.objects.filter(name=name, expires_at__lte=now).update(
        holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=_seconds(seconds))
    )
    return holder if taken else None


def lease_renew(name: str, holder: str, *, seconds: int | None = None) -> bool:
    """Extend the lease ``holder`` has; False when it no longer has it."""
    until = timezone.now() + timedelta(seconds=_seconds(seconds))
    return bool(JobLease.objects.filter(name=name, holder=holder).update(expires_at=until))


def lease_release(name: str, holder: str) -> None:
    JobLease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now())


class _Heartbeat(threading.Thread):
    def __init__(self, name: str, holder: str, seconds: int):
        super().__init__(name=f"lease:{name}", daemon=True)
        self.job, self.holder, self.seconds = name, holder, seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.seconds / 4):
                try:
                    if not lease_renew(self.job, self.holder, seconds=self.seconds):
                        logger.error("single run %s: the lease was taken over", self.job)
                        return
                except DatabaseError:
                    logger.warning("single run %s: could not renew the lease", self.job)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)


@contextmanager
def single_run(name: str, *, seconds: int | None = None) -> Iterator[bool]:
    """Run the block as the only holder of job ``name``: yields True when this process has
    the lease (renewed while the block runs, released after), False when another holder
    runs the job now (logged: the caller skips)."""
    seconds = _seconds(seconds)
    holder = lease_acquire(name, seconds=seconds)
    if holder is None:
        logger.warning("single run %s: already running elsewhere, this run skips", name)
        yield False
        return
    heartbeat = _Heartbeat(name, holder, seconds)
    heartbeat.start()
    try:
        yield True
    finally:
        heartbeat.stop()
        try:
            lease_release(name, holder)
        except DatabaseError:  # the job's own outcome stands; the lease expires by itself
            logger.warning("single run %s: could not release the lease", name)


__all__ = ["lease_acquire", "lease_release", "lease_renew", "single_run"]
