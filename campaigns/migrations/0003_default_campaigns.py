from django.db import migrations


def create_defaults(apps, schema_editor):
    from campaigns.defaults import campaigns_ensure_default

    campaigns_ensure_default(schema_editor.connection.alias, apps=apps)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_campaigns_and_sends")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
