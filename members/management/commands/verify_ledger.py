from django.core.management.base import BaseCommand, CommandError

from members.selectors import ledger_discrepancies


class Command(BaseCommand):
    help = (
        "Check the point ledger: every account's cached balances against its entries and its "
        "lots. Exits non-zero and names each account that differs."
    )

    def handle(self, *args, **options):
        problems = ledger_discrepancies()
        for row in problems:
            self.stderr.write(
                "member {member_id}: cached available={available} pending={pending}; "
                "entries say available={entries_available} pending={entries_pending}; "
                "lots say available={lots_available} pending={lots_pending}".format(**row)
            )
        if problems:
            raise CommandError(f"{len(problems)} account(s) out of balance.")
        self.stdout.write("ledger ok: every account matches its entries and lots.")
