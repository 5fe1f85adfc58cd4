"""The migration operations that run the database layer's SQL where it belongs: on every
PostgreSQL, on a single PostgreSQL node only, on a Citus cluster only, or on SQLite only."""

from django.db import migrations

from .statements import split


def has_citus(connection):
    """True when the database is a Citus cluster's (the citus extension is installed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        return cursor.fetchone()[0]


class _Where(migrations.RunSQL):
    """RunSQL on the databases `runs_on` admits; nothing elsewhere."""

    def runs_on(self, connection):
        raise NotImplementedError

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if self.runs_on(schema_editor.connection):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self.runs_on(schema_editor.connection):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresSQL(_Where):
    """RunSQL on PostgreSQL, one node or a Citus cluster; nothing on other databases, where
    the ORM alone scopes queries."""

    def runs_on(self, connection):
        return connection.vendor == "postgresql"


class SingleNodeSQL(_Where):
    """RunSQL on PostgreSQL without Citus: the plain shape of what a Citus cluster states
    differently (CitusSQL)."""

    def runs_on(self, connection):
        return connection.vendor == "postgresql" and not has_citus(connection)


class CitusSQL(_Where):
    """RunSQL on a Citus cluster's coordinator only: the layer's Citus variant.

    One statement per call: Citus sends a DDL statement on to the workers as the text the
    coordinator received, and a worker takes one statement at a time."""

    def runs_on(self, connection):
        return connection.vendor == "postgresql" and has_citus(connection)

    def _run_sql(self, schema_editor, sqls):
        super()._run_sql(schema_editor, split(sqls) if isinstance(sqls, str) else sqls)


class SQLiteSQL(_Where):
    """RunSQL on SQLite only: what SQLite needs to match PostgreSQL's layer in part (the
    DataScope history's triggers); no part of that layer's source (generate.py skips it)."""

    def runs_on(self, connection):
        return connection.vendor == "sqlite"
