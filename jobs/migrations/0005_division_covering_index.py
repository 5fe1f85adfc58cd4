"""
One division's jobs newest first, with the columns the rule and the title search read
(tenant, status, title) carried in the index: it replaces `job_division_newest`, whose key it
keeps.

Measured at a million jobs (docs/benchmarks.md): one division's jobs lie scattered over the
table, one page per job, where a tenant's newest jobs share a page ten at a time. A
one-division member's capped count read 336 pages for 334 jobs (at 100,000 jobs) where the
unscoped floor's read 19 for 1,001, and the title search's walk of a member's division read
every job's page for its title: 3,682 pages for one division's common word. With the columns in the index both
read the index alone (index-only scans; autovacuum keeps the visibility map they need): the
walk 42 pages, 6.3 ms to 1.4 ms.

Built and dropped CONCURRENTLY on PostgreSQL (writes carry on; not atomic), plainly on SQLite,
which keeps the key columns only (INCLUDE is PostgreSQL's).
"""

import importlib

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models

_0004 = importlib.import_module("jobs.migrations.0004_sort_indexes")


class RemoveIndexConcurrentlyOnPostgres(RemoveIndexConcurrently):
    """RemoveIndexConcurrently on PostgreSQL, a plain RemoveIndex elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.RemoveIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.RemoveIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("jobs", "0004_sort_indexes"),
    ]

    operations = [
        _0004.AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(
                fields=["division", "-created_at", "-id"],
                include=["tenant", "status", "title"],
                name="job_division_covering",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="job", name="job_division_newest"),
    ]
