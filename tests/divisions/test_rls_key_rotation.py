"""Rotating the principal's key (RLS_SIGNING_KEY) on PostgreSQL: the database accepts the
current key and the retired ones of RLS_SIGNING_KEY_FALLBACKS together while the fleet
restarts, and nothing else; the app role can neither read nor add a key.

The keys are stored as `manage.py create_db_roles` stores them (divisions.rls.
store_signing_key), over the owner's connection; each test puts the test run's key back."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from divisions import rls
from divisions.checks import check_app_role
from divisions.scoping import acting_as
from tests.pg_setup import owner_conninfo

from .test_rls_attacks import SAMS_JOBS, attempt, job_titles, rows

pytestmark = pytest.mark.postgres

OLD, NEW = "rls-key-old-" + "o" * 30, "rls-key-new-" + "n" * 30
KEY_TABLES = ("proone_rls.signing_key", "proone_rls.retired_signing_key")


def store(settings, key, fallbacks=()):
    """What create_db_roles does with RLS_SIGNING_KEY=key and the fallbacks: returns how many
    retired keys the database holds."""
    current = settings.RLS_SIGNING_KEY, settings.RLS_SIGNING_KEY_FALLBACKS
    settings.RLS_SIGNING_KEY, settings.RLS_SIGNING_KEY_FALLBACKS = key, list(fallbacks)
    try:
        with (
            psycopg.connect(**owner_conninfo(), autocommit=True) as owner,
            owner.transaction(),
            owner.cursor() as cursor,
        ):
            return store_and_count(cursor)
    finally:
        settings.RLS_SIGNING_KEY, settings.RLS_SIGNING_KEY_FALLBACKS = current


def store_and_count(cursor):
    rls.store_signing_key(cursor)
    cursor.execute("SELECT count(*) FROM proone_rls.retired_signing_key")
    return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    """store(key, fallbacks), then the test run's own key back, with no retired key."""
    own = settings.RLS_SIGNING_KEY
    yield lambda key, fallbacks=(): store(settings, key, fallbacks)
    store(settings, own)


def signed_with(settings, key):
    settings.RLS_SIGNING_KEY = key


def test_during_a_rotation_both_keys_enter_and_after_it_only_the_new_one(world, keys, settings):
    """Step (a) stores the new key and keeps the old one as retired: a process still signing
    with the old key and one restarted with the new key both act for their user. Step (c)
    retires the old key: a token signed with it is refused (attack: a leaked retired key)."""
    sam = world.u.sam
    assert keys(NEW, [OLD, NEW, OLD]) == 1  # the current key and repeats are not retired keys
    for key in (OLD, NEW):
        signed_with(settings, key)
        with acting_as(sam):
            assert job_titles() == SAMS_JOBS
    assert keys(NEW) == 0
    signed_with(settings, NEW)
    with acting_as(sam):
        assert job_titles() == SAMS_JOBS
    signed_with(settings, OLD)
    with pytest.raises(DatabaseError, match="signature is invalid"), acting_as(sam):
        job_titles()


def test_a_transaction_open_across_the_rotation_keeps_its_principal(world, keys, settings):
    """create_db_roles commits the new key while a request's transaction is open: its proof,
    made under the old key, still verifies in its next statement. Once the old key is retired,
    the same proof is refused (closed): it grants nothing more."""
    signed_with(settings, OLD)
    keys(OLD)
    with acting_as(world.u.sam):
        assert job_titles() == SAMS_JOBS
        keys(NEW, [OLD])
        assert job_titles() == SAMS_JOBS
        keys(NEW)
        attempt("SELECT title FROM jobs_job", match="forged or from another transaction")


def test_a_token_under_no_stored_key_is_refused(world, keys, settings):
    """Attack: a token signed with a key the database never stored (a guess, or a key retired
    before this rotation). Stopped by proone_enter, which tries the stored keys only."""
    keys(NEW, [OLD])
    signed_with(settings, "never-stored-" + "x" * 30)
    token = rls.principal_token(rls.SYSTEM, 0)
    signed_with(settings, NEW)
    with acting_as(world.u.sam):
        attempt("SELECT proone_enter(%s)", [token], match="signature is invalid")
        assert job_titles() == SAMS_JOBS


def test_the_check_passes_for_the_current_key_and_a_retired_one(db, keys, settings):
    """divisions.E003 asks the database to take this app's key: a process not yet restarted
    (its key retired, still stored) passes; after the retirement it is reported."""
    keys(NEW, [OLD])
    for key in (NEW, OLD):
        signed_with(settings, key)
        assert check_app_role(None, databases=["default"]) == []
    keys(NEW)
    assert [m.id for m in check_app_role(None, databases=["default"])] == ["divisions.E003"]


@pytest.mark.parametrize("table", KEY_TABLES)
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT inner_pad, outer_pad FROM {}",
        "INSERT INTO {} (id, inner_pad, outer_pad) VALUES (7, %s, %s)",
        "UPDATE {} SET inner_pad = %s, outer_pad = %s",
        "DELETE FROM {}",
    ],
)
def test_the_app_role_cannot_read_or_write_a_key(world, table, sql):
    """Attack: an injection in a member's request reads a key (to forge any principal), adds
    a key of its own, or replaces or deletes the stored ones. Stopped by privileges: the keys'
    schema and tables are the owner's alone (only SECURITY DEFINER functions read them)."""
    inner, outer = rls.key_pads(rls.signing_key("the-attackers-key-" + "a" * 30))
    with acting_as(world.u.sam):
        attempt(sql.format(table), [inner, outer][: sql.count("%s")], match="permission denied")
        assert job_titles() == SAMS_JOBS


def test_the_keys_are_the_owners_alone(db):
    """No role but the owner holds any privilege on the keys' schema or tables."""
    rows_ = rows(
        "SELECT c.relname, c.relacl::text FROM pg_class c "
        "WHERE c.relnamespace = 'proone_rls'::regnamespace AND c.relkind = 'r' ORDER BY 1"
    )
    owner = rows("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'proone_rls'")
    assert [name for name, _ in rows_] == ["retired_signing_key", "signing_key"]
    for _, acl in rows_:
        assert acl is None or all(
            entry.startswith(owner[0][0].strip('"') + "=") for entry in acl.strip("{}").split(",")
        ), acl
    app = connection.settings_dict["USER"]
    with transaction.atomic():
        assert rows("SELECT has_schema_privilege(%s, 'proone_rls', 'USAGE')", [app]) == [(False,)]
