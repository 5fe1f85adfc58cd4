"""create_db_roles: clear errors, and the roles it made are the ones the tests connect as."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from divisions.dbroles import Role, create_db_roles


def test_needs_a_superuser_url(monkeypatch):
    monkeypatch.delenv("DATABASE_ADMIN_URL", raising=False)
    with pytest.raises(CommandError, match="DATABASE_ADMIN_URL"):
        call_command("create_db_roles")


def test_refuses_settings_that_are_not_postgresql(settings):
    settings.DATABASE_MIGRATE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}
    with pytest.raises(CommandError, match="DATABASE_MIGRATE_URL must name a PostgreSQL"):
        call_command("create_db_roles", admin_url="postgres://postgres@127.0.0.1/postgres")


def test_owner_and_app_must_differ():
    role = Role("proone", "secret", "proone")
    with pytest.raises(ImproperlyConfigured, match="must be different roles"):
        create_db_roles("postgres://postgres@127.0.0.1/postgres", role, role)


def test_role_needs_a_password():
    with pytest.raises(ImproperlyConfigured, match="no password"):
        Role.from_settings(
            {"ENGINE": "django.db.backends.postgresql", "NAME": "d", "USER": "u"}, "DATABASE_URL"
        )


@pytest.mark.postgres
def test_app_role_has_data_privileges_only_and_new_tables_stay_covered(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('jobs_job', p) FROM unnest(ARRAY['SELECT', 'INSERT', "
            "'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p"
        )
        assert [row[0] for row in cursor.fetchall()] == [True] * 4 + [False] * 3
        cursor.execute(
            "SELECT has_database_privilege(current_database(), 'CREATE'), "
            "has_database_privilege(current_database(), 'TEMPORARY'), "
            "has_schema_privilege('public', 'CREATE')"
        )
        assert cursor.fetchone() == (False, False, False)
        # Default privileges: tables the owner creates later are granted to the app role.
        cursor.execute(
            "SELECT count(*) FROM pg_default_acl, aclexplode(defaclacl) AS acl "
            "WHERE defaclobjtype = 'r' AND acl.grantee = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        assert cursor.fetchone()[0] >= 4
