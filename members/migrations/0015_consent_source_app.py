# The member API (issue #13): consents changed in the mobile app are recorded as its own.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0014_phone_claims"),
    ]

    operations = [
        migrations.AlterField(
            model_name="consentevent",
            name="source",
            field=models.CharField(
                choices=[
                    ("signup", "Sign-up"),
                    ("portal", "Member portal"),
                    ("app", "Mobile app"),
                    ("pos", "At the till"),
                    ("staff", "Staff"),
                    ("import", "Import"),
                    ("unsubscribe", "Unsubscribe link"),
                ],
                max_length=12,
                verbose_name="source",
            ),
        ),
    ]
