from django.db import migrations


def create_default_program(apps, schema_editor):
    Program = apps.get_model("members", "Program")
    Program.objects.get_or_create(pk=1, defaults={"name": "Loyalty"})


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [migrations.RunPython(create_default_program, migrations.RunPython.noop)]
