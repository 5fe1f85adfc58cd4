from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sampleapp", "0001_initial")]

    operations = [migrations.RemoveField(model_name="widget", name="note")]
