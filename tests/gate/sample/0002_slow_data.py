import time

from django.db import migrations


def slowly(apps, schema_editor):
    # Keeps the first run inside the lock long enough for the second to contend for it.
    time.sleep(2)
    apps.get_model("sampleapp", "Widget").objects.create(name="made once")


class Migration(migrations.Migration):
    dependencies = [("sampleapp", "0001_initial")]

    operations = [migrations.RunPython(slowly, migrations.RunPython.noop)]
