from datetime import date

from django.core.management.base import BaseCommand, CommandError

from campaigns.services import segments_compute
from loyalty import daily


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today {value!r} is not a date in YYYY-MM-DD form.") from None


class Command(BaseCommand):
    help = (
        "Compute every member's RFM scores and lifecycle stage for a day (the nightly job "
        "campaigns.segments) and print the counts. Safe to repeat: a second run the same day "
        "writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", type=_iso_date, help="YYYY-MM-DD; default: today")

    def handle(self, *args, today=None, **options):
        today = today or daily.local_today()
        counts = segments_compute(today=today)
        summary = " ".join(f"{key}={value}" for key, value in counts.items())
        self.stdout.write(f"{today} segments: {summary}")
