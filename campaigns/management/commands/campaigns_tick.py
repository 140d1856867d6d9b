from django.core.management.base import BaseCommand

from campaigns.services import campaigns_tick
from loyalty.single_run import single_run


class Command(BaseCommand):
    help = (
        "What beat runs every minute (campaigns.tasks.tick): campaigns start and end on time, "
        "one-off campaigns go at their time, due sends are delivered (in this process when "
        "there is no broker). For a setup without beat, from cron. Safe to repeat."
    )

    def handle(self, *args, **options):
        # The same single-run lease as beat's tick (campaigns.tasks.tick): cron on top of beat
        # runs one at a time.
        with single_run("campaigns.tick") as mine:
            if not mine:
                self.stdout.write("another tick is running; this one skipped.")
                return
            result = campaigns_tick()
        self.stdout.write(
            f"started={result['started']} finished={result['finished']} "
            f"one-off={sum(result['one_off'].values())} delivery-tasks={result['tasks']}"
        )
