"""Migrations 0004, 0005, 0007, 0008, 0009 (with jobs 0005) and 0010 to 0015 reverse to the
behaviour before them and apply again."""

import importlib
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction

from divisions.grants import TENANT_ADMIN_GROUP
from divisions.models import Division
from divisions.scoping import acting_as, unscoped
from jobs.models import JobNote
from tests.pg_setup import ROOT, owner_url

pytestmark = pytest.mark.postgres
MIGRATE_TO = """
import sys
import django
from django.core.management import call_command
django.setup()
call_command("migrate", *sys.argv[1:], interactive=False, verbosity=0)
"""


def migrate_divisions(target):
    """Migrate the divisions app to `target` as the owner role, as tests/pg_setup.py does."""
    migrate("divisions", target)


def migrate_everything():
    """Every app to its newest migration again: migrating divisions back also unapplied what
    depends on it (the notes and the jobs migrations after them, the API's token policies),
    which later tests need."""
    migrate()


def migrate(*target):
    """`manage.py migrate *target` as the owner role."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        DATABASE_URL=owner_url(),
        DATABASE_MIGRATE_URL=owner_url(),
    )
    subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", MIGRATE_TO, *target], cwd=ROOT, env=env, check=True
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
        migrate_everything()
    assert users_sam_reads(world) == 1
    # The API's token policies, which depend on the newer divisions migrations, are back.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_policies WHERE tablename = 'api_accesstoken'")
        assert cursor.fetchone() == (4,)


def languages():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE p.proname IN ('proone_visible_divisions', 'proone_managed_scopes')"
        )
        return {row[0] for row in cursor.fetchall()}


def what_each_sees(world):
    """(jobs, users) each of the world's users reads as the app role."""
    seen = {}
    for name in ("acme_admin", "alice", "sam", "elle", "nodiv", "inactive", "operator"):
        user = getattr(world.u, name)
        with acting_as(user), connection.cursor() as cursor:
            cursor.execute("SELECT array_agg(id ORDER BY id) FROM jobs_job")
            jobs = cursor.fetchone()[0]
            cursor.execute("SELECT array_agg(id ORDER BY id) FROM divisions_user")
            seen[name] = (jobs, cursor.fetchone()[0])
    return seen


@pytest.mark.django_db(transaction=True)
def test_0005_reverses_to_0004s_functions_and_applies_again(world):
    """Backwards: 0004's SQL functions, the same rows for everyone; forwards: PL/pgSQL again."""
    before = what_each_sees(world)
    assert before["sam"][0] != before["acme_admin"][0]
    assert languages() == {"plpgsql"}
    connection.close()
    migrate_divisions("0004_untrusted_app_role")
    try:
        assert languages() == {"sql"}
        assert what_each_sees(world) == before
    finally:
        connection.close()
        migrate_everything()
    assert languages() == {"plpgsql"}
    assert what_each_sees(world) == before


def title_search_parts():
    """(the search function exists, the owner's read policy exists)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regprocedure('public.proone_title_search(text, text, bigint, integer, "
            "timestamptz, bigint)') IS NOT NULL, EXISTS (SELECT 1 FROM pg_policy "
            "WHERE polname = 'proone_owner_search')"
        )
        return cursor.fetchone()


def sam_searches(world):
    with acting_as(world.u.sam), connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(s ORDER BY s) FROM proone_title_search('job', NULL, "
                       "NULL, 100, NULL, NULL) s")  # fmt: skip
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0007_reverses_and_applies_again(world):
    """Backwards: no search function and no owner policy, the same rows for everyone;
    forwards: sam's search finds his three visible jobs again."""
    before = what_each_sees(world)
    expected = sorted(j.pk for j in (world.jobs.sparks, world.jobs.electrical, world.jobs.plumbing))
    assert title_search_parts() == (True, True)
    assert sam_searches(world) == expected
    connection.close()
    migrate_divisions("0006_jobnote_row_level_security")
    try:
        assert title_search_parts() == (False, False)
        assert what_each_sees(world) == before
    finally:
        connection.close()
        migrate_everything()
    assert title_search_parts() == (True, True)
    assert sam_searches(world) == expected
    assert what_each_sees(world) == before


def test_the_group_named_in_0004_is_the_tenant_admin_group():
    """0004's policy lets tenant admins add users to this group by name: keep them equal."""
    migration = importlib.import_module("divisions.migrations.0004_untrusted_app_role")
    assert migration.TENANT_ADMIN_GROUP == TENANT_ADMIN_GROUP


def searches_by_user(world):
    """The ids each user's title search returns, for a common word and a rare one."""
    found = {}
    for name in ("acme_admin", "alice", "sam", "elle", "gina", "nodiv"):
        with acting_as(getattr(world.u, name)), connection.cursor() as cursor:
            for term in ("job", "Head Office"):
                cursor.execute(
                    "SELECT array_agg(s ORDER BY s) FROM proone_title_search(%s, NULL, NULL, "
                    "100, NULL, NULL) s",
                    [term],
                )
                found[name, term] = cursor.fetchone()[0]
    return found


def reads_division_by_division():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc LIKE '%%searched := visible%%' FROM pg_proc "
            "WHERE proname = 'proone_title_search'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0008_reverses_to_0007s_search_and_applies_again(world):
    """Backwards: 0007's function, the same ids for every user and word; forwards: 0008's."""
    before = searches_by_user(world)
    assert before["sam", "job"] == sorted(
        j.pk for j in (world.jobs.sparks, world.jobs.electrical, world.jobs.plumbing)
    )
    assert reads_division_by_division()
    connection.close()
    migrate_divisions("0007_title_search")
    try:
        assert not reads_division_by_division()
        assert searches_by_user(world) == before
    finally:
        connection.close()
        migrate_everything()
    assert reads_division_by_division()
    assert searches_by_user(world) == before


def division_index_and_trigram_first():
    """({name: definition} of the division indexes, whether the rare-word search keeps the
    division test away from every index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'jobs_job' AND indexname LIKE 'job_division_%%'"
        )
        indexes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT prosrc LIKE '%%division_id + 0 = ANY (searched)%%' FROM pg_proc "
            "WHERE proname = 'proone_title_search'"
        )
        return indexes, cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_jobs_0005_and_0009_reverse_to_the_narrow_index_and_apply_again(world):
    """Backwards (jobs to 0004, which takes jobs 0006 and divisions 0009 with it):
    job_division_newest alone and 0008's search, the same ids for every user and word;
    forwards: the covering index, whose included columns are every column the search's
    per-division walk reads, the title order's division index, and 0009's rare-word
    statement."""
    before = searches_by_user(world)
    indexes, trigram_first = division_index_and_trigram_first()
    assert sorted(indexes) == ["job_division_covering", "job_division_title"]
    assert indexes["job_division_title"].endswith("(division_id, title, created_at DESC, id DESC)")
    assert indexes["job_division_covering"].endswith(
        "(division_id, created_at DESC, id DESC) INCLUDE (tenant_id, status, title)"
    )
    assert trigram_first
    connection.close()
    migrate("jobs", "0004_sort_indexes")
    try:
        indexes, trigram_first = division_index_and_trigram_first()
        assert list(indexes) == ["job_division_newest"]
        assert not trigram_first
        assert searches_by_user(world) == before
    finally:
        connection.close()
        migrate_everything()
    indexes, trigram_first = division_index_and_trigram_first()
    assert sorted(indexes) == ["job_division_covering", "job_division_title"]
    assert trigram_first
    assert searches_by_user(world) == before


def keeps_the_visible_divisions():
    """(whether proone_visible_divisions() keeps its list, the tables that forget it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc LIKE '%%proone.visible%%' FROM pg_proc "
            "WHERE proname = 'proone_visible_divisions'"
        )
        keeps = cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(array_agg(tgrelid::regclass::text ORDER BY tgrelid::regclass::text), "
            "'{}') FROM pg_trigger WHERE tgname = 'proone_forget_visible'"
        )
        return keeps, cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0010_reverses_to_a_list_worked_out_per_call_and_applies_again(world):
    """Backwards: 0005's function and no triggers, the same rows for everyone; forwards: the
    kept list and a trigger on each table it is read from."""
    tables = sorted(
        ["divisions_datascope", "divisions_datascopedivision", "divisions_division",
         "divisions_user"]
    )  # fmt: skip
    before = what_each_sees(world)
    assert keeps_the_visible_divisions() == (True, tables)
    connection.close()
    migrate_divisions("0009_title_search_trigram_first")
    try:
        assert keeps_the_visible_divisions() == (False, [])
        assert what_each_sees(world) == before
    finally:
        connection.close()
        migrate_everything()
    assert keeps_the_visible_divisions() == (True, tables)
    assert what_each_sees(world) == before


def proof_checked_where_it_grants(world):
    """(what proone_acting_system() and proone_login_name() answer sam's transaction when a
    made-up user principal replaces sam's, or "refused"; the tables the owner's read policy
    covers)."""
    forged = f"u:{world.u.acme_admin.pk}:{'0' * 64}"
    answers = []
    with acting_as(world.u.sam), connection.cursor() as cursor:
        for function in ("proone_acting_system", "proone_login_name"):
            try:
                with transaction.atomic():
                    cursor.execute("SELECT set_config('proone.principal', %s, true)", [forged])
                    cursor.execute(f"SELECT {function}()")
                    answers.append(cursor.fetchone()[0])
            except DatabaseError:
                answers.append("refused")
        cursor.execute(
            "SELECT coalesce(array_agg(tablename::text ORDER BY tablename), '{}') "
            "FROM pg_policies WHERE policyname = 'proone_owner_reads'"
        )
        return tuple(answers), cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0011_reverses_to_proofs_checked_per_call_and_applies_again(world):
    """Backwards: 0005's functions (a made-up user principal is refused by both) and no
    owner's read policy, the same rows for everyone; forwards: "no" without the proof, and the
    policy, again."""
    after = ((False, None), ["divisions_datascope", "divisions_datascopedivision",
                             "divisions_division"])  # fmt: skip
    before = what_each_sees(world)
    assert proof_checked_where_it_grants(world) == after
    connection.close()
    migrate_divisions("0010_visible_divisions_kept")
    try:
        assert proof_checked_where_it_grants(world) == (("refused", "refused"), [])
        assert what_each_sees(world) == before
    finally:
        connection.close()
        migrate_everything()
    assert proof_checked_where_it_grants(world) == after
    assert what_each_sees(world) == before


def admin_log_as_sam_reads_it(world):
    """(how many entries sam reads, whether an entry has a tenant, whether deleting its author
    keeps it)."""
    with acting_as(world.u.sam), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_admin_log")
        (read,) = cursor.fetchone()
        cursor.execute(
            "SELECT EXISTS (SELECT FROM pg_attribute WHERE attname = 'tenant_id' "
            "AND attrelid = 'django_admin_log'::regclass AND NOT attisdropped), "
            "(SELECT pg_get_constraintdef(oid) LIKE '%%ON DELETE SET NULL%%' FROM pg_constraint "
            "WHERE conrelid = 'django_admin_log'::regclass AND contype = 'f' "
            "AND pg_get_constraintdef(oid) LIKE '%%(user_id)%%')"
        )
        return (read, *cursor.fetchone())


@pytest.mark.django_db(transaction=True)
def test_0012_reverses_to_an_unguarded_admin_log_and_applies_again(world):
    """Backwards: the admin's log as Django made it (no policy: sam reads Globex's entry too;
    no tenant; Django deletes an author's entries itself); forwards: sam reads the entry in its
    own name only, each entry has its tenant, and deleting an author keeps their entries."""
    with unscoped("test setup"):
        for user in (world.u.sam, world.u.globex_admin):
            LogEntry.objects.create(
                user=user,
                content_type=ContentType.objects.get_for_model(Division),
                object_id="1",
                object_repr="a division",
                action_flag=CHANGE,
            )
    assert admin_log_as_sam_reads_it(world) == (1, True, True)
    connection.close()
    migrate_divisions("0011_proof_checked_where_it_grants")
    try:
        assert admin_log_as_sam_reads_it(world) == (2, False, False)
    finally:
        connection.close()
        migrate_everything()
    assert admin_log_as_sam_reads_it(world) == (1, True, True)


def policies_ask_for_the_admins_tenant():
    """The policies whose text names proone_admin_tenant(), and whether the function exists."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(array_agg(tablename || '.' || policyname ORDER BY 1), '{}') "
            "FROM pg_policies WHERE qual LIKE '%%proone_admin_tenant()%%'"
        )
        (policies,) = cursor.fetchone()
        cursor.execute("SELECT to_regprocedure('public.proone_admin_tenant()') IS NOT NULL")
        return policies, cursor.fetchone()[0]


def notes_each_reads(world):
    """The note ids each of the world's users reads as the app role."""
    seen = {}
    for name in ("acme_admin", "alice", "sam", "elle", "gina", "nodiv", "inactive", "operator"):
        with acting_as(getattr(world.u, name)), connection.cursor() as cursor:
            cursor.execute("SELECT array_agg(id ORDER BY id) FROM jobs_jobnote")
            seen[name] = cursor.fetchone()[0]
    return seen


@pytest.mark.django_db(transaction=True)
def test_0013_reverses_to_the_tenant_asked_first_and_applies_again(world):
    """Backwards: 0003's job policy and 0006's note policies (the tenant asked first), no
    proone_admin_tenant(), the same rows for everyone; forwards: the list asked first again.
    A job with no division and the jobs of an everyone scope are among the rows compared."""
    with unscoped("test setup"):
        for job in vars(world.jobs).values():  # a note on every job, both tenants
            JobNote.objects.create(job=job, body="a note", author=world.u.acme_admin)
    before = what_each_sees(world), notes_each_reads(world)
    assert before[1]["sam"] != before[1]["acme_admin"] != before[1]["gina"]
    assert policies_ask_for_the_admins_tenant() == (["jobs_job.proone_scope"], True)
    connection.close()
    migrate_divisions("0012_admin_log_row_level_security")
    try:
        assert policies_ask_for_the_admins_tenant() == ([], False)
        assert (what_each_sees(world), notes_each_reads(world)) == before
    finally:
        connection.close()
        migrate_everything()
    assert policies_ask_for_the_admins_tenant() == (["jobs_job.proone_scope"], True)
    assert (what_each_sees(world), notes_each_reads(world)) == before


def search_totals(world):
    """Each of the world's users' capped total for "job" and the title matches function's
    existence."""
    from divisions import rls
    from jobs.pagination import capped_count
    from jobs.views import filtered_jobs

    rls._searchable.clear()  # its answers are remembered once positive
    totals = {}
    for name in ("acme_admin", "alice", "sam", "elle", "gina", "nodiv", "inactive"):
        with acting_as(getattr(world.u, name)):
            totals[name] = capped_count(filtered_jobs({"q": "job", "status": "", "division": None}))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regprocedure('public.proone_title_matches(text, text, bigint, integer, "
            "timestamptz, bigint)') IS NOT NULL"
        )
        return totals, cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0014_reverses_to_counting_the_newest_and_applies_again(world):
    """Backwards: no proone_title_matches, a search's total counted through the newest
    matches, the same numbers; forwards: the function again, the same numbers."""
    totals, exists = search_totals(world)
    assert exists and totals["sam"] == 3 and totals["acme_admin"] == 4 and totals["nodiv"] == 1
    connection.close()
    migrate_divisions("0013_job_policy_asks_the_list_first")
    try:
        assert search_totals(world) == (totals, False)
    finally:
        connection.close()
        migrate_everything()
    assert search_totals(world) == (totals, True)


def merges_in_one_statement():
    """Whether proone_title_search merges a few divisions in its own static statement (0015)
    rather than one it builds and runs with EXECUTE (0008)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc LIKE '%%searched[10]%%' AND prosrc NOT LIKE '%%EXECUTE%%' "
            "FROM pg_proc WHERE proname = 'proone_title_search'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_0015_reverses_to_the_built_merge_and_applies_again(world):
    """Backwards: 0009's function, which builds its merge, the same ids for every user and
    word; forwards: the static merge again, the same ids."""
    before = searches_by_user(world)
    assert before["sam", "job"] == sorted(
        j.pk for j in (world.jobs.sparks, world.jobs.electrical, world.jobs.plumbing)
    )
    assert merges_in_one_statement()
    connection.close()
    migrate_divisions("0014_title_matches_for_a_count")
    try:
        assert not merges_in_one_statement()
        assert searches_by_user(world) == before
    finally:
        connection.close()
        migrate_everything()
    assert merges_in_one_statement()
    assert searches_by_user(world) == before
