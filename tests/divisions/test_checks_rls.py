"""The system check that the app's PostgreSQL role cannot escape row-level security."""

import pytest
from django.core.management import call_command

from divisions.checks import app_role_problems, check_app_role


def test_a_role_that_escapes_the_policies_is_an_error():
    ids = [m.id for m in app_role_problems(True, False, 0, None)]
    assert ids == ["divisions.E001"]
    ids = [m.id for m in app_role_problems(False, True, 3, False)]
    assert ids == ["divisions.E001", "divisions.E002", "divisions.E003"]


def test_writes_to_what_only_migrations_write_are_an_error():
    ids = [m.id for m in app_role_problems(False, False, 0, True, ["django_content_type"])]
    assert ids == ["divisions.E004"]
    ids = [m.id for m in app_role_problems(False, False, 0, True, temporary=True)]
    assert ids == ["divisions.E005"]


def test_the_least_privileged_role_passes():
    assert app_role_problems(False, False, 0, True) == []


def test_check_runs_only_when_asked_for_the_database():
    assert check_app_role(None) == []


@pytest.mark.postgres
def test_the_app_role_of_the_test_run_passes(db):
    assert check_app_role(None, databases=["default"]) == []
    call_command("check", "--database", "default", "--fail-level", "ERROR")


@pytest.mark.postgres
def test_a_different_key_is_reported(db, settings):
    settings.RLS_SIGNING_KEY = "not-the-key-in-the-database"
    assert [m.id for m in check_app_role(None, databases=["default"])] == ["divisions.E003"]


@pytest.mark.postgres
def test_a_write_granted_by_hand_on_content_types_is_reported(db):
    """A hand-made GRANT (or an older create_db_roles) lets the app role rewrite content types,
    or one column of the permissions."""
    import psycopg
    from django.db import connection

    from tests.pg_setup import owner_conninfo

    app = connection.settings_dict["USER"]
    with psycopg.connect(**owner_conninfo(), autocommit=True) as owner:
        owner.execute(f'GRANT UPDATE ON django_content_type TO "{app}"')
        owner.execute(f'GRANT UPDATE (codename) ON auth_permission TO "{app}"')
        try:
            problems = check_app_role(None, databases=["default"])
        finally:
            owner.execute(f'REVOKE UPDATE ON django_content_type FROM "{app}"')
            owner.execute(f'REVOKE UPDATE (codename) ON auth_permission FROM "{app}"')
    assert [m.id for m in problems] == ["divisions.E004"]
    assert "auth_permission, django_content_type" in problems[0].msg


@pytest.mark.postgres
def test_temporary_tables_granted_by_hand_are_reported(db):
    """A database whose app role was made by an older create_db_roles, or granted TEMPORARY
    by hand, would let an injection leave a temporary table for the next request."""
    import psycopg
    from django.db import connection

    from tests.pg_setup import owner_conninfo

    app, database = connection.settings_dict["USER"], connection.settings_dict["NAME"]
    with psycopg.connect(**owner_conninfo(), autocommit=True) as owner:
        owner.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO "{app}"')
        try:
            problems = check_app_role(None, databases=["default"])
        finally:
            owner.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM "{app}"')
    assert [m.id for m in problems] == ["divisions.E005"]
