"""
The database layer's source (divisions/database/) and a migrated PostgreSQL, held equal both
ways: what the catalog holds (functions, policies, triggers, row-level security flags, the
principal's tables and function grants) is what the source states, and nothing else. The
comparison runs the source itself in a transaction it rolls back, over a catalog cleared of
every such object, so both sides are read back by the same catalog queries.
"""

import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings

from divisions.database import catalog, source
from divisions.dbroles import APP_GRANTS, app_privilege_drift
from divisions.grants import TENANT_ADMIN_GROUP
from proone.gate.privileges import gate_relations
from tests.gate.conftest import CREATE_USERS, manage, release
from tests.history import SQUASHED, added_since, generated_since, released_checkout
from tests.pg_setup import ROOT, owner_conninfo, owner_url
from tests.postgres_server import ThrowawayServer, url_with

pytestmark = pytest.mark.postgres

# The migration gate states its own append-only guard, in its released migrations.
GATE_OWN = {
    "function gate_audit_append_only()",
    "trigger gate_audit_no_truncate on gate_auditentry",
    "trigger gate_audit_no_update_delete on gate_auditentry",
}


def drift(conninfo, text=None, before=None):
    """{key: why} for every object installed but not stated, stated but not installed, or
    stated otherwise than installed (after SQL `before`, all of it rolled back)."""
    with psycopg.connect(**conninfo) as connection, connection.cursor() as cursor:
        if before:
            cursor.execute(before)
        installed = catalog.objects(cursor)
        catalog.clear(cursor)
        cursor.execute(source.text() if text is None else text)
        stated = catalog.objects(cursor)
        connection.rollback()
    return differences(installed, stated)


def differences(installed, stated):
    """{key: why} for every object of `installed` not in `stated`, of `stated` not in
    `installed`, or in both but not alike ({key: SQL} each, catalog.objects())."""
    found = {}
    for key in (installed.keys() | stated.keys()) - GATE_OWN:
        if key not in stated:
            found[key] = "installed, not in the source"
        elif key not in installed:
            found[key] = "in the source, not installed"
        elif installed[key] != stated[key]:
            found[key] = f"installed as\n{installed[key]}\nstated as\n{stated[key]}"
    return found


def installed(conninfo):
    """{key: SQL} of what the database holds, read from its catalog."""
    with psycopg.connect(**conninfo) as connection, connection.cursor() as cursor:
        return catalog.objects(cursor)


def source_without(key):
    """The source's text with one object left out."""
    objects = source.objects()
    del objects[key]
    return "\n\n".join(objects.values())


def test_the_migrated_database_holds_exactly_the_source():
    assert drift(owner_conninfo()) == {}


APP = settings.DATABASES["default"]["USER"]

# What an owner's session (by hand, or a migration nobody generated from the source) could
# install beside the layer, and the keys the drift test must name for it.
INSTALLED_BEHIND_THE_SOURCE = {
    "a SECURITY DEFINER function": (
        "CREATE FUNCTION public.proone_backdoor() RETURNS bigint LANGUAGE sql "
        "SECURITY DEFINER AS $$ SELECT 1::bigint $$",
        {"function proone_backdoor()"},
    ),
    "an overload of a function of the layer": (
        "CREATE FUNCTION public.proone_admin_tenant(integer) RETURNS bigint LANGUAGE sql "
        "SECURITY DEFINER AS $$ SELECT 1::bigint $$",
        {"function proone_admin_tenant(integer)"},
    ),
    "a procedure": (
        "CREATE PROCEDURE public.proone_wipe() LANGUAGE sql SECURITY DEFINER "
        "AS $$ DELETE FROM jobs_job $$",
        {"function proone_wipe()"},
    ),
    "a function hidden in an extension the owner created": (
        "CREATE FUNCTION public.proone_hidden() RETURNS bigint LANGUAGE sql "
        "SECURITY DEFINER AS $$ SELECT 1::bigint $$; "
        "ALTER EXTENSION pg_trgm ADD FUNCTION public.proone_hidden()",
        {"function proone_hidden()"},
    ),
    "a function and a policy in a schema of its own": (
        f"CREATE SCHEMA elsewhere; GRANT USAGE ON SCHEMA elsewhere TO {APP}; "
        "CREATE FUNCTION elsewhere.reader() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
        "AS $$ SELECT count(*) FROM public.jobs_job $$; "
        "CREATE TABLE elsewhere.notes (id int); ALTER TABLE elsewhere.notes "
        "ENABLE ROW LEVEL SECURITY; CREATE POLICY open ON elsewhere.notes USING (true)",
        {
            "schema elsewhere",
            "function elsewhere.reader()",
            "table elsewhere.notes",
            "rls elsewhere.notes",
            "policy open on elsewhere.notes",
        },
    ),
    "the owner's proof check granted to the app role": (
        f"GRANT USAGE ON SCHEMA proone_rls TO {APP}; "
        f"GRANT EXECUTE ON FUNCTION proone_rls.verified_principal() TO {APP}",
        {"schema proone_rls", "function proone_rls.verified_principal()"},
    ),
    "a view that reads jobs with its owner's rights": (
        "CREATE VIEW public.job_titles AS SELECT id, tenant_id, title FROM jobs_job",
        {"view job_titles"},
    ),
}


@pytest.mark.parametrize("attack", list(INSTALLED_BEHIND_THE_SOURCE))
def test_what_is_installed_behind_the_source_is_reported(attack):
    """Attack: the owner role installs something the source does not state; the drift test
    names every object of it (all rolled back afterwards)."""
    sql, keys = INSTALLED_BEHIND_THE_SOURCE[attack]
    assert set(drift(owner_conninfo(), before=sql)) == keys


def test_an_object_removed_from_the_source_is_reported():
    """The job policy left out of the source: installed, not stated."""
    assert drift(owner_conninfo(), source_without("policy proone_read on jobs_job")) == {
        "policy proone_read on jobs_job": "installed, not in the source"
    }


def test_an_object_the_database_lacks_is_reported():
    """A note policy dropped from the database: stated, not installed."""
    assert drift(owner_conninfo(), before="DROP POLICY proone_read ON jobs_jobnote") == {
        "policy proone_read on jobs_jobnote": "in the source, not installed"
    }


def test_a_changed_definition_is_reported():
    text = source.text().replace("RETURN visible;", "RETURN visible || 0::bigint;")
    assert text != source.text()
    (key,) = drift(owner_conninfo(), text)
    assert key == "function proone_visible_divisions()"


def migrate(checkout, env, *target):
    """`manage.py migrate` of the checkout, as the owner role."""
    result = manage(env, "migrate", "--noinput", "--skip-checks", *target, cwd=checkout)
    assert result.returncode == 0, result.stderr[-3000:]


def applied(conninfo):
    with psycopg.connect(**conninfo) as connection:
        return {
            (app, name)
            for app, name in connection.execute("SELECT app, name FROM django_migrations")
        }


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """An empty PostgreSQL migrated by the released history (divisions 0001 to 0015)."""
    checkout = released_checkout(tmp_path_factory.mktemp("released"))
    server = ThrowawayServer()
    try:
        admin_url = server.start()
        owner = url_with(admin_url, "history_owner", "history-owner-pw", "history")
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
            DATABASE_URL=url_with(admin_url, "history_app", "history-app-pw", "history"),
            DATABASE_MIGRATE_URL=owner,
            DATABASE_ADMIN_URL=admin_url,
        )
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "create_db_roles"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        env.pop("DATABASE_ADMIN_URL")
        env["DATABASE_URL"] = owner
        env["GATE_AUDIT_ANCHOR"] = str(checkout / "audit.anchor")
        migrate(checkout, env)
        assert manage(env, "shell", "-c", CREATE_USERS, cwd=checkout).returncode == 0
        yield (
            env,
            {
                "dbname": "history",
                "user": "history_owner",
                "password": "history-owner-pw",
                "host": "127.0.0.1",
                "port": server.port,
            },
        )
    finally:
        server.stop()


UNUSED = {
    "function proone_principal_kind()",
    "function proone_rls.sign(message text)",
    "function proone_rls.transaction_binding()",
    "function proone_rls.well_formed(kind text, id text)",
}


def test_a_database_at_the_released_history_moves_on_without_running_anything_again(released):
    """A database at divisions 0015: the gate's plan names the migrations generated since the
    squash, one release review signs them, migrate_secure applies them (the unused functions
    go) and the database is then recorded at every squashed migration and holds exactly the
    source; back to the squash, the four functions are there again."""
    env, conninfo = released
    before = applied(conninfo)
    assert ("divisions", "0015_title_search_merge_planned_once") in before
    assert set(installed(conninfo)) >= UNUSED
    plan = manage(env, "migrate_secure", "--plan")
    assert plan.returncode == 1
    generated = generated_since()
    for name in generated:
        assert f"divisions.{name}" in plan.stdout, plan.stdout
    reviewed = release(env, "--acknowledge-findings")
    assert reviewed.returncode == 0, reviewed.stderr
    assert f"{len(added_since())} migration" in reviewed.stdout, reviewed.stdout
    applied_now = manage(env, "migrate_secure", "--noinput")
    assert applied_now.returncode == 0, applied_now.stderr
    assert applied(conninfo) - before == SQUASHED | added_since()
    assert drift(conninfo) == {}
    migrate(ROOT, env, "divisions", "0006_squashed_0015_database_layer")
    # Installed, not drift: today's source names tables made since the squash.
    assert set(installed(conninfo)) >= UNUSED
    migrate(ROOT, env)
    assert drift(conninfo) == {}


@pytest.mark.django_db(transaction=True)
def test_the_squashed_database_layer_reverses_and_applies_again(world):
    """Backwards to the same-tenant keys: no policy, function or trigger of the layer is
    left; forwards again: exactly the source."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        DATABASE_URL=owner_url(),
        DATABASE_MIGRATE_URL=owner_url(),
    )
    migrate(ROOT, env, "divisions", "0003_squashed_0005_same_tenant_keys")
    try:
        with psycopg.connect(**owner_conninfo()) as connection, connection.cursor() as cursor:
            assert set(catalog.objects(cursor)) == GATE_OWN
    finally:
        migrate(ROOT, env)
    assert drift(owner_conninfo()) == {}


def test_the_group_a_policy_names_is_the_tenant_admin_group():
    """The user-groups policies let tenant admins add users to this group by name."""
    assert f"(g.name)::text = '{TENANT_ADMIN_GROUP}'::text" in source.text()


def test_the_app_role_holds_exactly_the_grants_create_db_roles_states():
    """Data privileges on every table and sequence, nothing on the gate's or the principal's,
    only SELECT on the tables only migrations write (divisions.dbroles.granted_to_app)."""
    with psycopg.connect(**owner_conninfo()) as connection, connection.cursor() as cursor:
        assert app_privilege_drift(cursor, APP) == {}
        cursor.execute(APP_GRANTS, {"app": APP})
        held = {name for name, _, _ in cursor.fetchall()}
    assert all(name.startswith("gate_") for name in gate_relations())
    assert {"jobs_job", "gate_signoff", "django_migrations", "signing_key"} <= held
