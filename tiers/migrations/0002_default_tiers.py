from django.db import migrations


def create_default_tiers(apps, schema_editor):
    from tiers.defaults import tiers_ensure_default

    tiers_ensure_default(schema_editor.connection.alias, tier_model=apps.get_model("tiers", "Tier"))


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial")]

    operations = [migrations.RunPython(create_default_tiers, migrations.RunPython.noop)]
