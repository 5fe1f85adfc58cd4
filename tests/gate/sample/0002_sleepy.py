import os
import time

from django.db import migrations


def slowly(apps, schema_editor):
    # SAMPLE_SLEEP keeps the run busy long enough to be killed in the middle of it.
    apps.get_model("sampleapp", "Widget").objects.create(name="half-way")
    time.sleep(float(os.environ.get("SAMPLE_SLEEP", "0")))


class Migration(migrations.Migration):
    dependencies = [("sampleapp", "0001_initial")]

    operations = [migrations.RunPython(slowly, migrations.RunPython.noop)]
