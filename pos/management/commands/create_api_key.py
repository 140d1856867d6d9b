from django.core.management.base import BaseCommand, CommandError

from members.models import Store
from pos.services import api_key_create


class Command(BaseCommand):
    help = "Issue a POS API key for a store. The key is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("code", help="the store's code")
        parser.add_argument("--label", default="", help="a note to recognise the key by")

    def handle(self, *args, code, label, **options):
        store = Store.objects.filter(code=code.strip().upper()).first()
        if store is None:
            raise CommandError(f"no store with code {code!r}; create it with create_store first.")
        api_key, raw = api_key_create(store=store, label=label)
        self.stdout.write(
            f"API key {api_key.prefix} for store {store.code}; it is not shown again:"
        )
        self.stdout.write(raw)
