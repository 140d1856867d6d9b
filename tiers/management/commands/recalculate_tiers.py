from loyalty.management.daily_command import DailyJobCommand
from tiers.services import tiers_recalculate


class Command(DailyJobCommand):
    help = (
        "Recompute every member's tier for a day (the nightly job, in the programme's time "
        "zone) and print the counts. Safe to repeat: a second run the same day changes nothing."
    )
    label = "tiers"
    job = staticmethod(tiers_recalculate)
