from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from insights.services import facts_build_due, facts_build_range, facts_rebuild_full
from loyalty.management.daily_command import iso_date
from loyalty.single_run import single_run


class Command(BaseCommand):
    help = (
        "Build the overview's daily facts. Without options: every day due (never built, "
        "within the backdating window, marked dirty). --from/--to: re-build those local days. "
        "--full: drop every fact and build from the first recorded day to yesterday."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=iso_date, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", type=iso_date, help="YYYY-MM-DD")
        parser.add_argument("--full", action="store_true", help="rebuild everything")

    def handle(self, *args, first=None, last=None, full=False, **options):
        if full and (first or last):
            raise CommandError("--full builds every day: give it no --from or --to.")
        with single_run("insights.build") as mine:
            if not mine:
                raise CommandError("a build is running elsewhere now; this one skipped.")
            if full:
                days = facts_rebuild_full()
            elif first or last:
                yesterday = timezone.localdate() - timedelta(days=1)
                first = first or last
                last = last or yesterday
                if last < first:
                    raise CommandError("--to is before --from.")
                days = facts_build_range(first, last)
            else:
                days = facts_build_due(today=timezone.localdate())["days"]
        self.stdout.write(f"built {days} day(s) of facts.")
