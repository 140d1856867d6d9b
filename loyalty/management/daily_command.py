"""The shape every "run one daily job for a day" command shares: ``--today YYYY-MM-DD``
(default: today in the programme's time zone), the job, and its counts on one line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from loyalty import daily


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today {value!r} is not a date in YYYY-MM-DD form.") from None


class DailyJobCommand(BaseCommand):
    """Subclasses set ``label`` and ``job`` (called as ``job(today=...)``, returning a dict
    of counts)."""

    label = ""
    job: Callable[..., dict]

    def add_arguments(self, parser):
        parser.add_argument("--today", type=iso_date, help="YYYY-MM-DD; default: today")

    def handle(self, *args, today=None, **options):
        today = today or daily.local_today()
        counts = type(self).job(today=today)
        summary = " ".join(f"{key}={value}" for key, value in counts.items())
        self.stdout.write(f"{today} {self.label}: {summary}")
