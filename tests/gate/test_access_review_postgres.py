"""`manage.py access_review` on PostgreSQL, on a throwaway server made by create_db_roles (the
test needs its superuser to make a role that bypasses row-level security): the database
roles, the app role's privilege drift, the attestation and the check, as the operator runs them."""

import csv
import io
import json
import subprocess
import sys
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.postgres_server import ThrowawayServer, url_with

from .conftest import CREATE_USERS, REPO, base_env, manage
from .test_access_review import WORLD, assert_lists_the_world, attest, check_deploy

pytestmark = pytest.mark.postgres

DB, OWNER, APP = "review", "review_owner", "review_app"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(run manage.py with env overrides, run SQL as the superuser) on a migrated database."""
    throwaway = ThrowawayServer()
    try:
        admin_url = throwaway.start()
        env = base_env(tmp_path_factory.mktemp("review") / "db")
        env.update(
            DATABASE_URL=url_with(admin_url, APP, "review-app-pw", DB),
            DATABASE_MIGRATE_URL=url_with(admin_url, OWNER, "review-owner-pw", DB),
        )
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "create_db_roles"],
            cwd=REPO,
            env={**env, "DATABASE_ADMIN_URL": admin_url},
            check=True,
            capture_output=True,
        )
        as_owner = {**env, "DATABASE_URL": env["DATABASE_MIGRATE_URL"]}
        for args in (
            ("migrate", "--noinput"),
            ("shell", "-c", CREATE_USERS),
            ("shell", "-c", WORLD),
        ):
            result = manage(as_owner, *args)
            assert result.returncode == 0, result.stderr[-3000:]

        def run(*args, stdin=None, **overrides):
            # The browser tests' conftest allows async-unsafe calls; check --deploy rejects it.
            merged = {**env, "DJANGO_ALLOW_ASYNC_UNSAFE": None, **overrides}
            return manage({k: v for k, v in merged.items() if v is not None}, *args, stdin=stdin)

        superuser = urlsplit(admin_url)._replace(scheme="postgresql", path=f"/{DB}").geturl()

        def admin(sql):
            with psycopg.connect(superuser, autocommit=True) as db:
                db.execute(sql)

        yield run, admin
    finally:
        throwaway.stop()


def test_review_lists_bypassing_roles_and_the_app_roles_drift(server):
    run, admin = server
    admin("CREATE ROLE review_bypass NOLOGIN BYPASSRLS")
    admin(f"GRANT TRUNCATE ON jobs_job TO {APP}")
    admin(f"GRANT TEMPORARY ON DATABASE {DB} TO PUBLIC")
    try:
        result = run("access_review", "--format", "csv")
        assert result.returncode == 0, result.stderr
        listed = {
            (r["section"], r["who"]): r["what"] for r in csv.DictReader(io.StringIO(result.stdout))
        }
        assert_lists_the_world({k: (v, "x") for k, v in listed.items()})
        assert listed[("database_roles", "review_bypass")] == "BYPASSRLS"
        assert listed[("database_roles", OWNER)] == "LOGIN, owns tables"
        assert listed[("database_roles", APP)] == "LOGIN"
        assert listed[("app_role_drift", "jobs_job")] == (
            f"{APP} holds DELETE, INSERT, SELECT, TRUNCATE, UPDATE; create_db_roles grants "
            "DELETE, INSERT, SELECT, UPDATE"
        )
        assert listed[("app_role_drift", DB)] == (
            f"{APP} holds CONNECT, TEMPORARY; create_db_roles grants CONNECT"
        )
    finally:
        admin("DROP ROLE review_bypass")
        admin(f"REVOKE TRUNCATE ON jobs_job FROM {APP}")
        admin(f"REVOKE TEMPORARY ON DATABASE {DB} FROM PUBLIC")
    report = json.loads(run("access_review", "--format", "json").stdout)
    assert report["sections"]["app_role_drift"] == []


def test_without_the_owner_url_the_django_side_is_still_listed(server):
    run, _ = server
    result = run("access_review", DATABASE_MIGRATE_URL=None)
    assert result.returncode == 0, result.stderr
    assert "(DATABASE_MIGRATE_URL unset or the app's role) the database roles" in result.stdout
    assert "Tenant admins (2):" in result.stdout
    assert "Database roles" not in result.stdout


def test_attestation_on_postgresql_and_the_check_as_the_app_role(server):
    run, _ = server
    # As the application checks itself (app role only): it says it could not read the log.
    assert "gate.W007" in check_deploy(run, DATABASE_MIGRATE_URL=None)
    assert "gate.W006" in check_deploy(run)
    attested = attest(run)
    assert attested.returncode == 0, attested.stderr
    assert run("migrate_secure", "--verify-audit").returncode == 0
    assert "gate.W006" not in check_deploy(run)
