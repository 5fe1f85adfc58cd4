"""The migration operation that runs the database layer's SQL on PostgreSQL only."""

from django.db import migrations


class PostgresSQL(migrations.RunSQL):
    """RunSQL on PostgreSQL; nothing on other databases, where the ORM alone scopes queries."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class SQLiteSQL(migrations.RunSQL):
    """RunSQL on SQLite only: what SQLite needs to match PostgreSQL's layer in part (the
    DataScope history's triggers); no part of that layer's source (generate.py skips it)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
