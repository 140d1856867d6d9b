"""Indexes on the raw tables that today's live figures read (closed days come from the facts).

- ``members_purchase.occurred_at``: a B-tree. Purchases may be backdated (``backdate_days``),
  so ``occurred_at`` is not in insertion order and a BRIN range would widen to the whole
  backdating window.
- ``members_pointentry.created_at``: on PostgreSQL a BRIN index. The ledger is append-only
  and ``created_at`` is the insertion time, so the physical order follows it; a BRIN index is
  a few pages for the whole table and costs the POS's insert almost nothing, where a B-tree
  would take one more random page write per entry (one to three entries per purchase).
  SQLite has no BRIN: a B-tree there (small data).

Created here, in SQL, because the tables belong to ``members`` and the model state need not
know an index only the figures read.
"""

from django.db import migrations

PURCHASE_INDEX = "insights_purchase_occurred"
ENTRY_INDEX = "insights_pointentry_created_brin"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {PURCHASE_INDEX} ON members_purchase (occurred_at)"
    )
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {ENTRY_INDEX} ON members_pointentry "
            "USING brin (created_at) WITH (pages_per_range = 32)"
        )
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {ENTRY_INDEX} ON members_pointentry (created_at)"
        )


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {PURCHASE_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {ENTRY_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_daily_facts"), ("members", "0016_member_name_search")]

    operations = [migrations.RunPython(create, drop)]
