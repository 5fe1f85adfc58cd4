import os
import time

from django.db import migrations


def slowly(apps, schema_editor):
    # SAMPLE_SLEEP keeps the run busy long enough to be killed in the middle of it.
    widgets = apps.get_model("sampleapp", "Widget").objects
    # On the migration's own connection, inside its transaction (not the app's connection).
    widgets.using(schema_editor.connection.alias).create(name="half-way")
    time.sleep(float(os.environ.get("SAMPLE_SLEEP", "0")))


class Migration(migrations.Migration):
    dependencies = [("sampleapp", "0001_initial")]

    operations = [migrations.RunPython(slowly, migrations.RunPython.noop)]
