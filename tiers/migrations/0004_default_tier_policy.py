from django.db import migrations


def create_policy(apps, schema_editor):
    TierPolicy = apps.get_model("tiers", "TierPolicy")
    TierPolicy.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("tiers", "0003_tierpolicy_membertier_tierchange")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
