"""
One division's jobs in title order (`sort=title`), for members who see one division's jobs.

The list's title order had the tenant's index (0004) alone: a member of one private division
read the tenant's titles in order and threw away the other divisions' jobs: 54 ms for the
whole first page at a million jobs, 3.75x the unscoped page. Now that the request's queries
name the member's divisions as a list (divisions.visibility), the planner reads this index
for one division: 16 ms, 1.07x (the same world, with and without; docs/benchmarks.md).
Members of several divisions keep the tenant's index, which finds their rows soon enough.

Built CONCURRENTLY on PostgreSQL (writes carry on; not atomic), plainly on SQLite.
"""

import importlib

from django.db import migrations, models

_0004 = importlib.import_module("jobs.migrations.0004_sort_indexes")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("jobs", "0005_division_covering_index"),
    ]

    operations = [
        _0004.AddIndexConcurrentlyOnPostgres(
            model_name="job",
            index=models.Index(
                fields=["division", "title", "-created_at", "-id"], name="job_division_title"
            ),
        ),
    ]
