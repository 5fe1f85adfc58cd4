import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("gate", "0002_audit_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

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
        # The app role cannot read gate_signoff: deleting a user must not have to look there.
        migrations.AlterField(
            model_name="signoff",
            name="reviewer",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="migration_signoffs",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
