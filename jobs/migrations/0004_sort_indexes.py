"""
Indexes for the list's title and status orders (`sort=title`, `sort=status`): one tenant's
jobs in each order, so a keyset page reads its rows from the index instead of sorting every
visible job (at a million jobs a tenant admin's first page by title took 150-270 ms, 3 ms
with the index; docs/benchmarks.md).

On PostgreSQL they are built with CREATE INDEX CONCURRENTLY: jobs_job is large and written to
while this runs, and a plain CREATE INDEX would block every write for the whole build.
CONCURRENTLY cannot run inside a transaction, hence `atomic = False`. SQLite has no such
thing and builds them plainly.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL, a plain AddIndex elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("jobs", "0003_jobnote"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(
                fields=["tenant", "title", "-created_at", "-id"], name="job_tenant_title"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(
                fields=["tenant", "status", "-created_at", "-id"], name="job_tenant_status"
            ),
        ),
    ]
