from django.db import migrations


def create_accounts(apps, schema_editor):
    """Every member has a point account; members enrolled before the ledger get theirs."""
    Member = apps.get_model("members", "Member")
    PointAccount = apps.get_model("members", "PointAccount")
    missing = Member.objects.filter(account__isnull=True).values_list("pk", flat=True)
    PointAccount.objects.bulk_create(
        [PointAccount(member_id=pk) for pk in missing.iterator()], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0003_ledger")]

    operations = [migrations.RunPython(create_accounts, migrations.RunPython.noop)]
