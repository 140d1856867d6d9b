"""The referral programme's row and the activity bonuses with their defaults, and the known
contacts of the members who exist already (so "was a member before" sees them)."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from promotions.defaults import promotions_ensure_defaults

    promotions_ensure_defaults(using=schema_editor.connection.alias, apps=apps)


def record_known_contacts(apps, schema_editor):
    from promotions.contacts import member_contacts

    alias = schema_editor.connection.alias
    Member = apps.get_model("members", "Member")
    KnownContact = apps.get_model("promotions", "KnownContact")
    batch = []
    rows = Member.objects.using(alias).order_by("pk").values_list("pk", "phone", "email")
    for pk, phone, email in rows.iterator(chunk_size=5000):
        for kind, value in member_contacts(phone=phone, email=email):
            batch.append(KnownContact(kind=kind, value=value, member_id=pk))
        if len(batch) >= 5000:
            KnownContact.objects.using(alias).bulk_create(batch, ignore_conflicts=True)
            batch = []
    KnownContact.objects.using(alias).bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("promotions", "0001_initial")]

    operations = [
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
        migrations.RunPython(record_known_contacts, migrations.RunPython.noop),
    ]
