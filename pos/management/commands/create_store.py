from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from members.services import store_create_or_update


class Command(BaseCommand):
    help = "Create a store, or update its name if the code exists (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", required=True)

    def handle(self, *args, code, name, **options):
        try:
            store, created = store_create_or_update(code=code, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        verb = "created" if created else "exists, updated"
        self.stdout.write(f"store {store.code} {verb}: {store.name}")
