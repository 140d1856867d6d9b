from campaigns.services import segments_compute
from loyalty.management.daily_command import DailyJobCommand


class Command(DailyJobCommand):
    help = (
        "Compute every member's RFM scores and lifecycle stage for a day (the nightly job "
        "campaigns.segments) and print the counts. Safe to repeat: a second run the same day "
        "writes nothing."
    )
    label = "segments"
    job = staticmethod(segments_compute)
