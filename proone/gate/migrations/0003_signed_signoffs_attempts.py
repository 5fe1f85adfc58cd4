from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("gate", "0002_audit_append_only")]

    operations = [
        migrations.AddField(
            model_name="signoff",
            name="signature",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text=(
                    "HMAC-SHA256 under the gate key (GATE_SIGNING_KEY), which the app never "
                    "holds."
                ),
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="attempt",
            field=models.BigIntegerField(
                help_text="The 'started' row of the run this row belongs to or ends.", null=True
            ),
        ),
    ]
