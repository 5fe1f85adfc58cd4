"""
PostgreSQL only: a trigram index for the list's title search (`q`, `title__icontains`).

Django writes the search as `UPPER(title::text) LIKE UPPER('%…%')`, which no B-tree can
serve: without this index a rare word is found by reading every job of the tenant. pg_trgm
is a trusted extension (PostgreSQL 13 and later), so the owner role creates it with the
CREATE privilege on the database that `create_db_roles` grants. No-op on SQLite.
"""

import importlib

from django.db import migrations

PostgresSQL = importlib.import_module("divisions.migrations.0003_row_level_security").PostgresSQL

INDEX = """
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX job_title_trigrams ON jobs_job USING gin (upper(title::text) gin_trgm_ops);
"""
UNDO_INDEX = """
DROP INDEX job_title_trigrams;
DROP EXTENSION IF EXISTS pg_trgm;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0001_initial"),
    ]

    operations = [
        PostgresSQL(INDEX, UNDO_INDEX),
    ]
