"""One named time zone: "" (the browser's, which the server could not name) is no choice any
more; a trader who had it gets New York's, the default (docs/streaming-contract.md "Times:
one named zone")."""

from django.db import migrations, models


def browsers_zone_to_new_york(apps, schema_editor):
    preferences = apps.get_model("accounts", "DisplayPreferences")
    preferences.objects.filter(time_zone="").update(time_zone="America/New_York")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_notification_pnl_all_day"),
    ]

    operations = [
        migrations.RunPython(browsers_zone_to_new_york, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="displaypreferences",
            name="time_zone",
            field=models.CharField(
                default="America/New_York",
                help_text="IANA time zone every time is shown in (New York's: the market's clock).",
                max_length=64,
            ),
        ),
    ]
