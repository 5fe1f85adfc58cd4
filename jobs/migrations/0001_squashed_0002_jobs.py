"""Jobs, with the trigram index the title search reads."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from divisions.database.operations import PostgresSQL

# PostgreSQL only: a trigram index for the title search (`q`: Django writes
# `UPPER(title::text) LIKE UPPER('%…%')`, which no B-tree serves). pg_trgm is a trusted
# extension, created by the owner role with the CREATE privilege create_db_roles grants.
TITLE_TRIGRAMS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX job_title_trigrams ON jobs_job USING gin (upper(title::text) gin_trgm_ops);
"""
UNDO_TITLE_TRIGRAMS = """
DROP INDEX job_title_trigrams;
DROP EXTENSION IF EXISTS pg_trgm;
"""


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('jobs', '0001_initial'),
        ('jobs', '0002_title_search_index'),
    ]

    dependencies = [
        ('divisions', '0001_squashed_0002_organisation'),
    ]

    operations = [
        migrations.CreateModel(
            name='Job',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('status', models.CharField(choices=[('open', 'Open'), ('scheduled', 'Scheduled'), ('in_progress', 'In progress'), ('done', 'Done'), ('cancelled', 'Cancelled')], default='open', max_length=20)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('division', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='jobs', to='divisions.division')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='divisions.tenant')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'base_manager_name': 'objects',
            },
        ),
        PostgresSQL(TITLE_TRIGRAMS, UNDO_TITLE_TRIGRAMS),
    ]
