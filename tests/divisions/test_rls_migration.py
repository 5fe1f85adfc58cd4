"""Migration 0004 reverses to 0003's behaviour and applies again (PostgreSQL)."""

import importlib
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from divisions.grants import TENANT_ADMIN_GROUP
from divisions.scoping import acting_as
from tests.pg_setup import ROOT, owner_url

pytestmark = pytest.mark.postgres

MIGRATE_TO = """
import sys
import django
from django.core.management import call_command
django.setup()
call_command("migrate", "divisions", sys.argv[1], interactive=False, verbosity=0)
"""


def migrate_divisions(target):
    """Migrate the divisions app to `target` as the owner role, as tests/pg_setup.py does."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        DATABASE_URL=owner_url(),
        DATABASE_MIGRATE_URL=owner_url(),
    )
    subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", MIGRATE_TO, target], cwd=ROOT, env=env, check=True
    )


def users_sam_reads(world):
    with acting_as(world.u.sam), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM divisions_user")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0004_reverses_and_applies_again(world):
    """Backwards: every user row is readable again (0003); forwards: only sam's own row."""
    assert users_sam_reads(world) == 1
    connection.close()
    migrate_divisions("0003_row_level_security")
    try:
        assert users_sam_reads(world) == 10
    finally:
        connection.close()
        migrate_divisions("0004_untrusted_app_role")
    assert users_sam_reads(world) == 1


def test_the_group_named_in_0004_is_the_tenant_admin_group():
    """0004's policy lets tenant admins add users to this group by name: keep them equal."""
    migration = importlib.import_module("divisions.migrations.0004_untrusted_app_role")
    assert migration.TENANT_ADMIN_GROUP == TENANT_ADMIN_GROUP
