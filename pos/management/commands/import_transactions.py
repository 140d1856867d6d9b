from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from loyalty.errors import DomainError
from members.models import Store
from pos.services.imports import transactions_import


class Command(BaseCommand):
    help = (
        "Import historical purchases of one store from a CSV file with the header "
        "external_id,member,occurred_at,amount (UTF-8, BOM allowed; other columns ignored). "
        "member: card number, phone or email; occurred_at: ISO 8601, a time without offset "
        "and a bare date are local (Asia/Ho_Chi_Minh); amount: at most 2 decimals. "
        "All or nothing: if any row is rejected nothing is imported and every rejected row "
        "goes to the report. Rows the store already has (same external_id, member and "
        "amount) are skipped, so a file can be imported again. Points are earned at the "
        "programme's base rate only (no tier multiplier, promotion or category rule), "
        "pending or available by date as at the till, then the daily maturing and expiry "
        "jobs run."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file.")
        parser.add_argument("--store", required=True, help="Code of the store, e.g. HCM01.")
        parser.add_argument(
            "--create-members",
            action="store_true",
            help="Enrol a member for each phone or email that matches nobody (one per phone "
            "or email, however many rows name it). An optional full_name column gives the "
            "name (the first row that has one); without it the profile is completed later. "
            "Card numbers that match nobody are still rejected.",
        )
        parser.add_argument(
            "--without-points",
            action="store_true",
            help="Record the purchases without earning points.",
        )
        parser.add_argument(
            "--report",
            type=Path,
            help="Where to write the rejected rows (default: FILE.rejected.csv).",
        )

    def handle(self, *args, file, store, create_members, without_points, report, **options):
        found = Store.objects.filter(code=store.strip().upper()).first()
        if found is None:
            raise CommandError(f"No store with code {store!r}.")
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            result = transactions_import(
                path=file,
                store=found,
                create_members=create_members,
                with_points=not without_points,
                report_path=report,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if not result.ok:
            self.stdout.write(
                f"{result.rejected_rows} of {result.rows} rows rejected; nothing imported."
            )
            for reason, count in sorted(result.rejected.items(), key=lambda kv: -kv[1]):
                self.stdout.write(f"  {reason}: {count}")
            shown = len(result.first_rejections)
            self.stdout.write(f"First {shown}:" if shown < result.rejected_rows else "Rows:")
            for rejection in result.first_rejections:
                self.stdout.write(
                    f"  line {rejection.line}: {rejection.reason}: {rejection.message}"
                )
            raise CommandError(
                f"{result.rejected_rows} rows rejected; every one is in {result.report_path}"
            )
        points = f"{result.points_credited} points credited"
        if result.points_credited:
            points += f" ({result.points_pending} pending)"
        self.stdout.write(
            f"imported {result.imported} purchases, {result.already_imported} already imported, "
            f"{result.members_created} members created, {points}; "
            f"daily jobs: {result.lots_matured} lots matured, {result.lots_expired} expired; "
            f"{result.seconds:.1f} s"
        )
