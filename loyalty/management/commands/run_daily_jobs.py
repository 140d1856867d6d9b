import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loyalty import daily
from loyalty.health import nightly_run_record
from loyalty.management.daily_command import iso_date


class Command(BaseCommand):
    help = (
        "Run everything the scheduler runs for a day (in the programme's time zone). "
        "Safe to repeat: a second run does only what became due since."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", type=iso_date, help="YYYY-MM-DD; default: today")

    def handle(self, *args, today=None, **options):
        run = daily.run_daily_jobs(today=today)
        if run.skipped:
            raise CommandError("the daily jobs are running elsewhere now; this run skipped.")
        if not run.outcomes:
            self.stdout.write(f"{run.today}: no daily jobs are registered.")
        for outcome in run.outcomes:
            status = "ok" if outcome.ok else f"FAILED {outcome.error}"
            self.stdout.write(
                f"{run.today} {outcome.name}: {status} ({outcome.seconds:.2f}s) {outcome.result!r}"
            )
        if not run.ok:
            raise CommandError("some daily jobs failed; see above.")
        # A run by hand for last night (after an outage) counts for /healthz like beat's;
        # catching up an older day does not say the nightly jobs run.
        if run.today >= timezone.localdate() - datetime.timedelta(days=1):
            nightly_run_record(day=run.today)
