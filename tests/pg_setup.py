"""
The PostgreSQL test database: migrated by the owner role, used by the app role.

pytest-django would create `test_<name>` through the default connection, but the app role may
not create databases or tables. Here the database named by DATABASE_URL (made empty by
tests/postgres_server.py, its name must start with `test_`) is migrated by the owner role
(PROONE_TEST_OWNER_URL, given to `migrate` as DATABASE_URL and DATABASE_MIGRATE_URL) in a
subprocess, and the tests connect as the app role only.

Transactional tests (live_server, browser tests) end with Django's flush, a TRUNCATE. The app
role has no TRUNCATE privilege (TRUNCATE ignores row-level security), so the flush runs over a
separate connection as the owner role, and leaves the tables that only migrations write
(`divisions.dbroles.APP_READS_ONLY`: content types and permissions), which the app role may
only read.
"""

import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.conf import settings
from django.core.management.commands import flush

ROOT = Path(__file__).resolve().parent.parent

# Migrated apps first, then the test-only app without migrations (its table points at Job).
MIGRATE = """
import django
from django.core.management import call_command
django.setup()
call_command("migrate", interactive=False, verbosity=0)
call_command("migrate", interactive=False, verbosity=0, run_syncdb=True)
"""


def owner_url():
    """The owner role's URL: PROONE_TEST_OWNER_URL (set by tests/postgres_server.py)."""
    url = os.environ.get("PROONE_TEST_OWNER_URL")
    if not url:
        raise pytest.UsageError(
            "PostgreSQL tests need PROONE_TEST_OWNER_URL (the owner role); run them with "
            "tests/postgres_server.py or make test."
        )
    return url


def owner_conninfo():
    """psycopg connection arguments of the owner role."""
    owner = environ.Env.db_url_config(owner_url())
    return {
        "dbname": owner["NAME"],
        "user": owner["USER"],
        "password": owner["PASSWORD"],
        "host": owner["HOST"] or "127.0.0.1",
        "port": owner["PORT"] or 5432,
    }


def flush_as_owner(self, **options):
    """Django's flush, with the TRUNCATE sent by the owner role."""
    import psycopg
    from django.core.management.color import no_style
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections
    from psycopg import sql

    from divisions.dbroles import APP_READS_ONLY

    database = options["database"]
    # Content types and permissions stay: migrations wrote them, and the post-migrate step
    # below runs as the app role, which may only read them.
    tables = [
        name
        for name in connections[database].introspection.django_table_names(
            only_existing=True, include_views=False
        )
        if name not in APP_READS_ONLY
    ]
    statements = connections[database].ops.sql_flush(
        no_style(),
        tables,
        reset_sequences=options.get("reset_sequences", True),
        allow_cascade=options.get("allow_cascade", False),
    )
    if statements:
        # One transaction: tables that guard themselves with triggers (the append-only audit
        # log refuses TRUNCATE) have them switched off for the flush only.
        with psycopg.connect(**owner_conninfo()) as owner:
            guarded = [
                name
                for (name,) in owner.execute(
                    "SELECT DISTINCT c.relname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relname = ANY(%s)",
                    [tables],
                )
            ]
            for name in guarded:
                owner.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(name))
                )
            owner.execute("; ".join(statements))
            for name in guarded:
                owner.execute(
                    sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(name))
                )
    if not options.get("inhibit_post_migrate"):
        emit_post_migrate_signal(options.get("verbosity", 1), False, database)


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    """Migrate the PostgreSQL test database as the owner role; tests use the app role."""
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("test_"):
        raise pytest.UsageError(
            f"Refusing to run tests in database {name!r}: its name must start with 'test_' "
            "(make test / tests/postgres_server.py creates one)."
        )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        DATABASE_URL=owner_url(),
        DATABASE_MIGRATE_URL=owner_url(),
    )
    subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", MIGRATE],
        cwd=ROOT,
        env=env,
        check=True,
    )
    original = flush.Command.handle
    flush.Command.handle = flush_as_owner
    try:
        with django_db_blocker.unblock():
            # Start from empty tables even when a previous run on this database was cut short.
            flush_as_owner(None, database="default", verbosity=0)
        yield
    finally:
        flush.Command.handle = original
