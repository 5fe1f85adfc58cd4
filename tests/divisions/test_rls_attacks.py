"""
SQL injection as the app role inside a member's signed principal: what the database refuses.

Each test is one attack from the threat table in docs/security.md, run in a savepoint inside
`acting_as(member)` (what an injected statement in that member's request gets), and checks
that the attack is refused or changes nothing that decides visibility.
"""

import time
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from guardian.shortcuts import assign_perm

from divisions import rls
from divisions.grants import tenant_admin_group
from divisions.middleware import ScopeMiddleware
from divisions.models import DataScope
from divisions.scoping import Scope, acting_as, looking_up, unscoped
from divisions.sessions import SessionStore
from tests.cluster import DISTRIBUTED_TABLES, ON_CITUS
from tests.factories import DivisionFactory, JobFactory, allow

pytestmark = pytest.mark.postgres

REFUSED_BY_POLICY = "row-level security"


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def attempt(sql, params=(), match=REFUSED_BY_POLICY, error=DatabaseError):
    """Run `sql` in a savepoint and expect the database to refuse it."""
    with pytest.raises(error, match=match), transaction.atomic():
        rows(sql, params)


def in_savepoint(sql, params=()):
    """Run `sql` in a savepoint that is rolled back; returns rows or the row count."""
    with transaction.atomic():
        result = rows(sql, params)
        transaction.set_rollback(True)
    return result


def job_titles():
    return {title for (title,) in rows("SELECT title FROM jobs_job")}


SAMS_JOBS = {"Electrical job", "Plumbing job", "Sparks job"}


def user_columns(user):
    with unscoped("test check"):
        return rows(
            "SELECT tenant_id, division_id, is_active, is_staff, is_superuser, is_tenant_admin "
            "FROM divisions_user WHERE id = %s",
            [user.pk],
        )


class TestOwnUserRow:
    def test_member_cannot_move_into_another_tenant_as_its_admin(self, world):
        """Attack: UPDATE one's own user row into another tenant, as tenant admin and staff.
        Stopped by divisions_user's policies: a member's own-row update must keep the
        columns that decide visibility (proone_update_self), only tenant admins may change
        them (proone_update)."""
        sam = world.u.sam
        before = user_columns(sam)
        with acting_as(sam):
            attempt(
                "UPDATE divisions_user SET tenant_id = %s, division_id = NULL, "
                "is_tenant_admin = true, is_staff = true WHERE id = %s",
                [world.tenants.globex.pk, sam.pk],
            )
            assert job_titles() == SAMS_JOBS
        assert user_columns(sam) == before

    @pytest.mark.parametrize(
        "change",
        [
            "division_id = {hq}",
            "is_tenant_admin = true, is_staff = true",
            "is_superuser = true",
            "is_active = false",
        ],
    )
    def test_member_cannot_change_a_visibility_column_of_its_own_row(self, world, change):
        """Attack: move oneself into another division, or raise one's own flags. Stopped by
        proone_update_self's WITH CHECK (the stored row's guarded columns must not change)."""
        sam = world.u.sam
        before = user_columns(sam)
        with acting_as(sam):
            attempt(
                f"UPDATE divisions_user SET {change.format(hq=world.d.hq.pk)} WHERE id = %s",
                [sam.pk],
            )
            assert "Head Office job" not in job_titles()
        assert user_columns(sam) == before

    def test_member_may_still_change_its_own_other_columns(self, world):
        """Django's own writes (last_login, a new password) under the member's principal."""
        with acting_as(world.u.sam):
            assert (
                in_savepoint(
                    "UPDATE divisions_user SET last_login = now(), password = 'x' WHERE id = %s",
                    [world.u.sam.pk],
                )
                == 1
            )

    def test_member_cannot_touch_other_users(self, world):
        """Attack: reset a colleague's password or delete them. Stopped by proone_update and
        proone_delete: only tenant admins write other users' rows (zero rows match)."""
        with acting_as(world.u.sam):
            assert (
                in_savepoint(
                    "UPDATE divisions_user SET password = 'x' WHERE id = %s", [world.u.alice.pk]
                )
                == 0
            )
            assert in_savepoint("DELETE FROM divisions_user WHERE id <> %s", [world.u.sam.pk]) == 0

    def test_member_cannot_create_a_user(self, world):
        """Attack: INSERT a tenant admin of one's own tenant. Stopped by proone_insert."""
        with acting_as(world.u.sam):
            attempt(
                "INSERT INTO divisions_user (password, is_superuser, username, first_name, "
                "last_name, email, is_staff, is_active, date_joined, is_tenant_admin, tenant_id) "
                "VALUES ('x', false, 'planted', '', '', '', true, true, now(), true, %s)",
                [world.tenants.acme.pk],
            )


class TestTenantAdminLimits:
    def test_tenant_admin_cannot_mint_a_superuser_or_export_a_user(self, world):
        """Attack: a tenant admin's injection makes a user superuser or moves one to another
        tenant. Stopped by proone_update's WITH CHECK (own tenant, never a superuser)."""
        with acting_as(world.u.acme_admin):
            attempt(
                "UPDATE divisions_user SET is_superuser = true WHERE id = %s", [world.u.alice.pk]
            )
            attempt(
                "UPDATE divisions_user SET tenant_id = %s, division_id = NULL WHERE id = %s",
                [world.tenants.globex.pk, world.u.alice.pk],
            )
            # The admin feature itself still works through the same connection.
            assert (
                in_savepoint(
                    "UPDATE divisions_user SET division_id = %s WHERE id = %s",
                    [world.d.electrical.pk, world.u.alice.pk],
                )
                == 1
            )


class TestReadingUsers:
    def test_member_reads_only_its_own_user_row(self, world):
        """Attack: SELECT every user's password hash. Stopped by proone_read on divisions_user:
        a member reads its own row only."""
        with acting_as(world.u.sam):
            assert rows("SELECT username FROM divisions_user") == [("sam",)]

    def test_tenant_admin_reads_its_tenant_only(self, world):
        """Attack: a tenant admin's injection reads another tenant's users. Stopped by
        proone_read: tenant admins read their own tenant's users."""
        with acting_as(world.u.acme_admin):
            names = {name for (name,) in rows("SELECT username FROM divisions_user")}
        assert "alice" in names and "gina" not in names and "globex-admin" not in names
        assert "operator" not in names

    def test_sign_in_look_up_shows_one_row(self, world):
        """The sign-in look-up by username sees that row and no other."""
        with looking_up("alice"):
            assert rows("SELECT username FROM divisions_user") == [("alice",)]
            assert rows("SELECT count(*) FROM jobs_job") == [(0,)]


class TestTenants:
    def test_member_reads_its_own_tenant_and_writes_none(self, world):
        """Attack: list every customer of the platform, or rename one. Stopped by
        divisions_tenant's policies (own tenant read, system work writes)."""
        with acting_as(world.u.sam):
            assert rows("SELECT slug FROM divisions_tenant") == [("acme",)]
            assert in_savepoint("UPDATE divisions_tenant SET name = 'x'") == 0
            attempt("INSERT INTO divisions_tenant (name, slug) VALUES ('Planted', 'planted')")


class TestScopes:
    def test_member_cannot_open_a_scope_to_everyone(self, world):
        """Attack: UPDATE divisions_datascope SET is_everyone = true on a scope of one's tenant.
        Stopped by proone_update on divisions_datascope (tenant admins and the scope's
        division managers only): no row matches."""
        with acting_as(world.u.sam):
            assert in_savepoint("UPDATE divisions_datascope SET is_everyone = true") == 0
            assert "Head Office job" not in job_titles()

    def test_member_cannot_list_its_division_in_a_scope(self, world):
        """Attack: INSERT a membership listing one's division in Head Office's scope. Stopped
        by proone_insert on divisions_datascopedivision."""
        with acting_as(world.u.sam):
            attempt(
                "INSERT INTO divisions_datascopedivision (tenant_id, datascope_id, division_id) "
                "VALUES (%s, %s, %s)",
                [world.tenants.acme.pk, world.d.hq.data_scope_id, world.d.sparks.pk],
            )
            assert in_savepoint("DELETE FROM divisions_datascopedivision") == 0

    def test_member_cannot_repoint_a_division_at_another_scope(self, world):
        """Attack: UPDATE divisions_division to swap scopes. Stopped by proone_update on
        divisions_division (tenant admins only)."""
        with acting_as(world.u.sam):
            assert in_savepoint("UPDATE divisions_division SET name = name || '!'") == 0

    def test_division_manager_writes_its_scope_and_no_other(self, world):
        """A division manager's injection may change the scope it manages, not another."""
        elle = world.u.elle
        with unscoped("grant"):
            assign_perm("divisions.change_datascope", elle, world.d.electrical.data_scope)
        with acting_as(elle):
            assert (
                in_savepoint(
                    "UPDATE divisions_datascope SET is_everyone = true WHERE id = %s",
                    [world.d.electrical.data_scope_id],
                )
                == 1
            )
            assert (
                in_savepoint(
                    "UPDATE divisions_datascope SET is_everyone = true WHERE id = %s",
                    [world.d.hq.data_scope_id],
                )
                == 0
            )


class TestObjectPermissions:
    def test_member_cannot_grant_itself_change_datascope(self, world):
        """Attack: INSERT INTO guardian_userobjectpermission a change_datascope on Head
        Office's scope for oneself. Stopped by proone_insert on guardian_userobjectpermission
        (tenant admins grant, to their tenant's users, on their tenant's scopes)."""
        with unscoped("ids"):
            scope_type = ContentType.objects.get_for_model(DataScope)
            permission = rows("SELECT id FROM auth_permission WHERE codename = 'change_datascope'")[
                0
            ][0]
        with acting_as(world.u.sam):
            attempt(
                "INSERT INTO guardian_userobjectpermission "
                "(user_id, permission_id, content_type_id, object_pk) VALUES (%s, %s, %s, %s)",
                [world.u.sam.pk, permission, scope_type.pk, str(world.d.hq.data_scope_id)],
            )
            assert in_savepoint("UPDATE divisions_datascope SET is_everyone = true") == 0

    def test_tenant_admin_cannot_grant_on_another_tenants_scope(self, world):
        """Attack: a tenant admin's injection grants a user a permission on a scope of another
        tenant. Stopped by proone_insert's scope check (the scope must be visible)."""
        with unscoped("ids"):
            scope_type = ContentType.objects.get_for_model(DataScope)
            permission = rows("SELECT id FROM auth_permission WHERE codename = 'change_datascope'")[
                0
            ][0]
        with acting_as(world.u.acme_admin):
            attempt(
                "INSERT INTO guardian_userobjectpermission "
                "(user_id, permission_id, content_type_id, object_pk) VALUES (%s, %s, %s, %s)",
                [world.u.alice.pk, permission, scope_type.pk, str(world.d.ops.data_scope_id)],
            )

    def test_group_object_permissions_are_system_work(self, world):
        """Attack: grant a permission through a group. Stopped by guardian_groupobjectpermission's
        policies (system work only)."""
        with acting_as(world.u.acme_admin):
            attempt(
                "INSERT INTO guardian_groupobjectpermission "
                "(group_id, permission_id, content_type_id, object_pk) "
                "SELECT g.id, p.id, p.content_type_id, %s FROM auth_group g, auth_permission p "
                "WHERE p.codename = 'change_datascope' LIMIT 1",
                [str(world.d.hq.data_scope_id)],
            )


class TestModelPermissions:
    def test_member_cannot_grant_itself_a_model_permission(self, world):
        """Attack: INSERT INTO divisions_user_user_permissions the gate's sign-off permission
        for oneself. Stopped by proone_insert on that table (system work only)."""
        with acting_as(world.u.sam):
            attempt(
                "INSERT INTO divisions_user_user_permissions (user_id, permission_id) "
                "SELECT %s, id FROM auth_permission WHERE codename = 'signoff_migration'",
                [world.u.sam.pk],
            )

    def test_member_cannot_join_a_group_or_widen_one(self, world):
        """Attack: join the tenant admin group, or add a permission to it. Stopped by
        proone_insert on divisions_user_groups (tenant admins, for their tenant's users) and
        on auth_group_permissions (system work only)."""
        group = tenant_admin_group()
        with acting_as(world.u.sam):
            attempt(
                "INSERT INTO divisions_user_groups (user_id, group_id) VALUES (%s, %s)",
                [world.u.sam.pk, group.pk],
            )
            attempt(
                "INSERT INTO auth_group_permissions (group_id, permission_id) "
                "SELECT %s, id FROM auth_permission WHERE codename = 'signoff_migration'",
                [group.pk],
            )

    def test_tenant_admin_adds_only_the_tenant_admin_group(self, world):
        """A tenant admin's injection may put its tenant's users in the tenant admin group
        (the admin does), not in any other group, and not another tenant's users."""
        with unscoped("a platform group"):
            other = Group.objects.create(name="Reviewers")
        group = tenant_admin_group()
        with acting_as(world.u.acme_admin):
            assert (
                in_savepoint(
                    "INSERT INTO divisions_user_groups (user_id, group_id) VALUES (%s, %s)",
                    [world.u.alice.pk, group.pk],
                )
                == 1
            )
            attempt(
                "INSERT INTO divisions_user_groups (user_id, group_id) VALUES (%s, %s)",
                [world.u.alice.pk, other.pk],
            )
            attempt(
                "INSERT INTO divisions_user_groups (user_id, group_id) VALUES (%s, %s)",
                [world.u.gina.pk, group.pk],
            )


class TestSessions:
    def test_sessions_are_not_a_readable_list_of_keys(self, client, world):
        """Attack: SELECT session keys (the operator's included) to hijack a session. Stopped by
        row-level security on django_session with no policy for the app role; sessions are
        reached only by key, through SECURITY DEFINER functions."""
        client.force_login(world.u.operator)
        key = client.session.session_key
        with acting_as(world.u.sam):
            assert rows("SELECT count(*) FROM django_session") == [(0,)]
            attempt(
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "VALUES ('planted-session-key', '', now() + interval '1 day')"
            )
            assert rows("SELECT proone_session_exists(%s)", [key]) == [(True,)]
        with unscoped("even system work"):
            assert rows("SELECT count(*) FROM django_session") == [(0,)]

    def test_sessions_still_work_by_key(self, world):
        """Saving, loading, ending and clearing expired sessions as the app role."""
        session = SessionStore()
        session["note"] = "kept"
        session.create()
        assert SessionStore(session.session_key).load() == {"note": "kept"}
        expired = SessionStore()
        expired.set_expiry(timezone.now() - timedelta(seconds=5))
        expired.create()
        SessionStore.clear_expired()
        assert rows("SELECT proone_session_exists(%s)", [expired.session_key]) == [(False,)]
        session.delete()
        assert SessionStore(session.session_key).load() == {}

    def test_keys_and_tokens_never_show_in_pg_stat_activity(self, world):
        """Attack: from another connection of the app role, read the query text that
        pg_stat_activity shows for every connection of that role, to harvest a live session key
        or a signed principal token and replay it. Stopped by binding both server-side
        (rls.execute_bound): the query text holds a placeholder, never the value."""
        own_pid = rows("SELECT pg_backend_pid()")[0][0]
        session = SessionStore()
        session["note"] = "kept"
        session.create()
        params = connection.get_connection_params()
        conninfo = {
            k: params[k] for k in ("dbname", "user", "password", "host", "port") if k in params
        }

        def last_statement_of_the_app_connection():
            with psycopg.connect(**conninfo, autocommit=True) as spy:
                return spy.execute(
                    "SELECT query FROM pg_stat_activity WHERE pid = %s", [own_pid]
                ).fetchone()[0]

        saved = last_statement_of_the_app_connection()
        assert "proone_session_save" in saved
        assert session.session_key not in saved
        with transaction.atomic():
            rls.set_principal(Scope(reason="system work"))
            entered = last_statement_of_the_app_connection()
        assert "proone_enter" in entered
        assert "s:" not in entered and "$1" in entered


class TestRequestPrincipal:
    def seen_by_request(self, session_key):
        """Job count raw SQL sees inside a request carrying `session_key`, through the real
        session, authentication and scope middleware."""
        seen = []

        def view(request):
            seen.append(rows("SELECT count(*) FROM jobs_job")[0][0])
            with unscoped("a nested scope, which hands the principal back when it ends"):
                pass
            seen.append(rows("SELECT count(*) FROM jobs_job")[0][0])
            return HttpResponse()

        request = RequestFactory().get("/jobs/")
        request.session = SessionStore(session_key)
        AuthenticationMiddleware(ScopeMiddleware(view))(request)
        return seen

    def test_session_names_the_principal_until_its_user_signs_out_elsewhere(self, client, world):
        """The session's user id is the request's principal while the session is valid; after
        a password change (Django signs the session out) the request acts for nobody."""
        alice = world.u.alice
        client.force_login(alice)
        key = client.session.session_key
        assert self.seen_by_request(key) == [3, 3]
        with unscoped("password changed elsewhere"):
            alice.set_password("a-new-passphrase-1")
            alice.save()
        assert self.seen_by_request(key) == [0, 0]


class TestPrincipalKind:
    def test_no_user_id_below_one_can_exist(self, world):
        """Attack: INSERT a user with id 0, which once signed as system. Stopped by the CHECK
        constraint user_id_positive, even for system work."""
        for user_id in (0, -1):
            with unscoped("even system work"):
                attempt(
                    "INSERT INTO divisions_user (id, password, is_superuser, username, "
                    "first_name, last_name, email, is_staff, is_active, date_joined, "
                    "is_tenant_admin) VALUES (%s, 'x', false, %s, '', '', '', false, true, "
                    "now(), false)",
                    [user_id, f"planted{user_id}"],
                    match="user_id_positive",
                    error=IntegrityError,
                )

    def test_signed_user_zero_is_not_system(self, world):
        """A validly signed token for user 0 is refused: system is a kind, not an id."""
        with acting_as(world.u.sam):
            attempt("SELECT proone_enter(%s)", [rls.principal_token("u", 0)], match="malformed")
            assert job_titles() == SAMS_JOBS

    def test_kind_is_explicit(self, world):
        with unscoped("check"):
            assert rows("SELECT proone_principal(), proone_acting_system()") == [(None, True)]
        with acting_as(world.u.sam):
            assert rows("SELECT proone_principal(), proone_acting_system()") == [
                (world.u.sam.pk, False)
            ]


class TestTokenLifetime:
    @pytest.mark.parametrize(
        ("offset", "match"),
        [
            (-(rls.TOKEN_LIFETIME + 2), "older than"),
            (-290, "older than"),
            (rls.CLOCK_SKEW + 2, "in the future"),
            (290, "in the future"),
        ],
    )
    def test_old_or_future_dated_tokens_are_refused(self, world, offset, match):
        """Attack: replay a leaked token later, or use one dated ahead. Stopped by
        proone_enter's time checks (10 seconds of life, 2 seconds of skew)."""
        token = rls.principal_token("u", world.u.acme_admin.pk, now=time.time() + offset)
        with acting_as(world.u.sam):
            attempt("SELECT proone_enter(%s)", [token], match=match)
            assert job_titles() == SAMS_JOBS

    def test_fresh_token_is_accepted(self, world):
        token = rls.principal_token("u", world.u.acme_admin.pk)
        with acting_as(world.u.sam):
            rows("SELECT proone_enter(%s)", [token])
            assert len(job_titles()) == 5


# The owner's title search functions: the newest matches, for a page (divisions 0007, 0008,
# 0009), and any matches, for a count (0014). TestTitleSearch attacks each in turn as SEARCH.
TITLE_FUNCTIONS = ("proone_title_search", "proone_title_matches")
SEARCH = "SELECT public.proone_title_search(%s, %s, %s, %s, NULL, NULL)"


def searched(term, status=None, division_id=None, wanted=100):
    """The job ids the title search function under attack (SEARCH) returns, in a savepoint."""
    return {pk for (pk,) in in_savepoint(SEARCH, [term, status, division_id, wanted])}


def titles_of(ids):
    with unscoped("test check"):
        return {
            title for (title,) in rows("SELECT title FROM jobs_job WHERE id = ANY(%s)", [list(ids)])
        }


@pytest.mark.skipif(ON_CITUS, reason="Citus: the app searches titles without these functions")
class TestTitleSearch:
    """proone_title_search (divisions migration 0007) and proone_title_matches (0014) run as
    the table owner, who reads every job: what they return must still be the caller's
    visible jobs only. Each test runs against each function."""

    @pytest.fixture(autouse=True, params=TITLE_FUNCTIONS)
    def function(self, request, monkeypatch):
        monkeypatch.setitem(globals(), "SEARCH", SEARCH.replace(TITLE_FUNCTIONS[0], request.param))
        return request.param

    def test_member_finds_only_its_visible_jobs_by_walk_and_by_index(self, world):
        """Attack: call the owner's search for a word in jobs out of scope. Stopped by the
        function's own rule (the verified principal's tenant and visible divisions) on both
        of its paths: the newest-first walk ("job", in many titles) and the trigram index
        ("Head Office", in none of sam's)."""
        with acting_as(world.u.sam):
            assert titles_of(searched("job")) == SAMS_JOBS
            assert searched("Head Office") == set()
            assert searched("unassigned") == set()
            assert searched("Field") == set()  # another tenant's everyone division
            # The owner's policy is the owner's: the app role still reads sam's jobs only.
            assert job_titles() == SAMS_JOBS

    def test_a_division_filter_cannot_reach_a_hidden_division(self, world):
        """Attack: name a hidden division (or another tenant's) as the filter. Stopped by the
        rule: the filter only narrows the visible jobs."""
        with acting_as(world.u.sam):
            for wanted in (1, 100):  # answered from the first reads, and read on
                assert searched("job", division_id=world.d.hq.pk, wanted=wanted) == set()
                assert searched("job", division_id=world.d.field.pk, wanted=wanted) == set()
            assert titles_of(searched("job", division_id=world.d.sparks.pk)) == {"Sparks job"}

    def test_tenant_admin_finds_its_tenant_only(self, world):
        with acting_as(world.u.acme_admin):
            found = titles_of(searched("job")) | titles_of(searched("unassigned"))
            # Another tenant's division as the filter (read division by division) finds none,
            # whether the first reads answer (wanted 1) or it reads on.
            for wanted in (1, 100):
                assert searched("job", division_id=world.d.field.pk, wanted=wanted) == set()
            assert titles_of(searched("job", division_id=world.d.hq.pk)) == {"Head Office job"}
        assert found == {
            "Head Office job", "Electrical job", "Plumbing job", "Sparks job", "Acme unassigned"
        }  # fmt: skip

    def test_no_principal_finds_nothing(self, world):
        """Attack: call it with the principal cleared (set_config to ''). Stopped: no
        verified user, no tenant, no rows."""
        with acting_as(world.u.sam):
            rows("SELECT set_config('proone.principal', '', true)")
            assert searched("job") == set()
        with acting_as(world.u.anonymous):
            assert searched("job") == set()

    def test_a_forged_principal_is_refused(self, world):
        """Attack: write a principal naming the tenant admin with a made-up proof. Stopped by
        proone_rls.verified_principal(): the HMAC does not match."""
        forged = f"u:{world.u.acme_admin.pk}:{'0' * 64}"
        refused = pytest.raises(DatabaseError, match="forged")
        with acting_as(world.u.sam), refused, transaction.atomic():
            rows("SELECT set_config('proone.principal', %s, true)", [forged])
            rows(SEARCH, ["job", None, None, 100])

    def test_app_role_cannot_redefine_or_weaken_it(self, world, function):
        """Attack: replace the function with one returning every id, or make it run as the
        caller. Stopped: only its owner (the table owner) may, and the app role owns
        nothing."""
        with acting_as(world.u.sam):
            attempt(
                f"CREATE OR REPLACE FUNCTION public.{function}("
                "term text, only_status text, only_division bigint, wanted integer, "
                "before_created timestamptz, before_id bigint) RETURNS SETOF bigint "
                "LANGUAGE sql AS $$ SELECT id FROM jobs_job $$",
                match="permission denied for schema public|must be owner",
            )
            attempt(
                f"ALTER FUNCTION public.{function}("
                "text, text, bigint, integer, timestamptz, bigint) SECURITY INVOKER",
                match="must be owner",
            )
            attempt("DROP POLICY proone_owner_search ON jobs_job", match="must be owner")
        with unscoped("test check"):
            (config, definer, owner, table_owner) = rows(
                "SELECT p.proconfig, p.prosecdef, p.proowner::regrole::text, "
                "c.relowner::regrole::text FROM pg_proc p, pg_class c "
                "WHERE p.proname = %s AND c.oid = 'jobs_job'::regclass",
                [function],
            )[0]
        assert "search_path=pg_catalog, pg_temp" in config
        assert definer and owner == table_owner

    def test_a_temporary_function_cannot_hijack_its_search(self, world):
        """Attack: create pg_temp.upper() so that the pattern matches every title. Stopped by
        the app role having no TEMPORARY privilege, and behind it by the pinned search_path
        (pg_catalog first), which the test above holds the search functions to."""
        with acting_as(world.u.sam):
            attempt(
                "CREATE FUNCTION pg_temp.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT '' $$",
                match="permission denied",
            )

    @pytest.mark.parametrize("extra", [0, 2, 8])
    def test_a_member_of_more_divisions_finds_only_its_visible_jobs(self, world, extra):
        """Attack: search as a member who sees 3, 5 or 11 divisions, each way the search reads
        (division by division, the trigram index among them, the tenant newest first).
        Stopped by the rule on every path: the hidden Head Office job and the other tenant's
        jobs never come back, and `wanted` keeps the newest visible matches."""
        newest = timezone.now()
        extras = []
        for number in range(extra):
            division = DivisionFactory(tenant=world.tenants.acme, name=f"Extra {number}")
            allow(division, everyone=True)
            extras.append(
                JobFactory(
                    division=division,
                    title=f"Extra {number} job",
                    created_at=newest + timedelta(minutes=number),
                )
            )
        foreign = DivisionFactory(tenant=world.tenants.globex, name="Foreign extra")
        allow(foreign, everyone=True)
        JobFactory(division=foreign, title="Foreign extra job", created_at=newest)
        visible_jobs = SAMS_JOBS | {job.title for job in extras}
        with acting_as(world.u.sam):
            assert titles_of(searched("job")) == visible_jobs
            assert titles_of(searched("extra")) == {job.title for job in extras}
            assert searched("Head Office") == set()
            assert searched("Foreign") == set()
            assert searched("job", division_id=world.d.hq.pk) == set()
            first_two = [pk for (pk,) in in_savepoint(SEARCH, ["job", None, None, 2])]
        visible = [world.jobs.electrical, world.jobs.plumbing, world.jobs.sparks, *extras]
        visible.sort(key=lambda job: (job.created_at, job.pk), reverse=True)
        if SEARCH.startswith("SELECT public.proone_title_search("):
            assert first_two == [job.pk for job in visible[:2]]  # a page's: the newest
        else:
            assert len(set(first_two)) == 2  # a count's: any two visible matches
            assert set(first_two) <= {job.pk for job in visible}

    def test_its_statement_built_per_division_takes_no_text_from_the_caller(self, world):
        """Attack: a term and a status that would close a statement built for each division
        (0008 to 0014 built one) and read every job. Stopped: since 0015 no statement is built
        (before, it named only the rule's division ids); the term and the status travel as
        parameters and match no title or status."""
        escape = "x' OR true) UNION ALL (SELECT id, created_at FROM jobs_job"
        with acting_as(world.u.sam):
            assert searched(escape) == set()
            assert searched("job", status=escape) == set()
            assert titles_of(searched("job")) == SAMS_JOBS


def kept_list():
    """The visible divisions kept for this transaction ('{ids}|seal'), after a statement on
    jobs worked them out."""
    job_titles()
    return rows("SELECT current_setting('proone.visible', true)")[0][0]


ALICES_JOBS = {"Head Office job", "Electrical job", "Plumbing job"}


class TestKeptVisibleDivisions:
    """proone_visible_divisions() keeps its list for the transaction in `proone.visible`, a
    setting the app role can write (divisions migration 0010): only a sealed list counts."""

    def test_a_list_written_by_the_app_role_is_ignored(self, world):
        """Attack: write Head Office into the kept list, with a made-up seal and with none.
        Stopped by the seal (an HMAC under the owner's key): the list is worked out again."""
        hq = world.d.hq.pk
        with acting_as(world.u.sam):
            assert job_titles() == SAMS_JOBS
            for forged in (f"{{{hq}}}|{'0' * 64}", f"{{{hq}}}", f"{{{hq}}}|"):
                rows("SELECT set_config('proone.visible', %s, true)", [forged])
                assert job_titles() == SAMS_JOBS, forged

    def test_a_list_kept_for_another_user_is_ignored(self, world):
        """Attack: in one transaction, keep the list sealed for alice (who sees Head Office),
        then put it back while acting for sam. Stopped: the seal covers the principal's proof,
        and sam's proof is not alice's."""
        with acting_as(world.u.alice):
            alices = kept_list()
            assert job_titles() == ALICES_JOBS
            with acting_as(world.u.sam):
                rows("SELECT set_config('proone.visible', %s, true)", [alices])
                assert job_titles() == SAMS_JOBS

    def test_a_scope_change_counts_from_the_next_statement(self, world):
        """A kept list must not outlive a change to what it was read from: listing sam's
        division in Head Office's scope (and taking it out again) inside sam's transaction
        shows (and hides) Head Office's job at the next statement. Kept current by the
        statement triggers that forget the list on every write to its tables."""
        sam, hq = world.u.sam, world.d.hq
        with acting_as(sam):
            assert kept_list()
            with unscoped("test: list sparks in Head Office's scope"):
                allow(hq, world.d.sparks)
            assert job_titles() == SAMS_JOBS | {"Head Office job"}
            with unscoped("test: and take it out again"):
                rows(
                    "DELETE FROM divisions_datascopedivision WHERE datascope_id = %s",
                    [hq.data_scope_id],
                )
            assert job_titles() == SAMS_JOBS

    def test_a_users_move_counts_from_the_next_statement(self, world):
        """The acting user's own row is one of the list's tables too: moving sam to Head
        Office (as system work) inside sam's transaction changes sam's jobs at once."""
        sam = world.u.sam
        with acting_as(sam):
            assert kept_list()
            with unscoped("test: move sam"):
                rows(
                    "UPDATE divisions_user SET division_id = %s WHERE id = %s",
                    [world.d.hq.pk, sam.pk],
                )
            assert job_titles() == ALICES_JOBS


@pytest.mark.django_db(transaction=True)
def test_a_list_kept_in_an_earlier_transaction_is_ignored(world):
    """Attack: keep sam's list while Head Office's scope lists sam's division, and put it back
    in a later transaction of sam's, after the scope no longer does, with and without the
    earlier proof. Stopped: the seal covers the proof and the transaction (backend and start
    time), so the list is worked out again, and the earlier proof is refused outright."""
    allow(world.d.hq, world.d.sparks)
    with acting_as(world.u.sam):
        wider = kept_list()
        earlier_proof = rows("SELECT current_setting('proone.principal')")[0][0]
        assert job_titles() == SAMS_JOBS | {"Head Office job"}
    with unscoped("test: Head Office's scope no longer lists sparks"):
        rows(
            "DELETE FROM divisions_datascopedivision WHERE datascope_id = %s",
            [world.d.hq.data_scope_id],
        )
    with acting_as(world.u.sam):
        rows("SELECT set_config('proone.visible', %s, true)", [wider])
        assert job_titles() == SAMS_JOBS
        # On a Citus cluster jobs are read on the workers, which the proof does not reach.
        statements = ["SELECT proone_visible_divisions()"]
        if not ON_CITUS:
            statements.append("SELECT title FROM jobs_job")
        for statement in statements:
            with pytest.raises(DatabaseError, match="forged"), transaction.atomic():
                rows("SELECT set_config('proone.principal', %s, true)", [earlier_proof])
                rows("SELECT set_config('proone.visible', %s, true)", [wider])
                rows(statement)


def forged(kind, principal_id):
    """A principal claiming `kind` and `principal_id` with a made-up proof."""
    return f"{kind}:{principal_id}:{'0' * 64}"


def tables_whose_reads_ask(*functions):
    """The tables holding rows whose read policies call any of `functions` (a policy calls
    its functions for the rows it reads: an empty table calls none)."""
    with unscoped("test check"):
        tables = rows(
            "SELECT DISTINCT tablename::text FROM pg_policies WHERE schemaname = 'public' "
            "AND cmd IN ('SELECT', 'ALL') AND 'public' = ANY (roles) AND qual LIKE ANY (%s) "
            "ORDER BY 1",
            [[f"%{function}()%" for function in functions]],
        )
        return [t for (t,) in tables if rows(f"SELECT EXISTS (SELECT 1 FROM {t})")[0][0]]  # noqa: S608


def workers_keep_the_entered_principal(proof):
    """On a Citus cluster: after a set_config() of `proof`, the distributed tables, read on
    the workers it does not reach, still answer for the principal entered (sam)."""
    if not ON_CITUS:
        return
    with transaction.atomic():
        rows("SELECT set_config('proone.principal', %s, true)", [proof])
        assert job_titles() == SAMS_JOBS


def a_group_object_permission():
    """One row in guardian_groupobjectpermission, a table only system work reads."""
    with unscoped("test: a group object permission to hide"):
        rows(
            "INSERT INTO guardian_groupobjectpermission "
            "(group_id, permission_id, content_type_id, object_pk) "
            "SELECT g.id, p.id, p.content_type_id, '1' FROM auth_group g, auth_permission p "
            "WHERE p.codename = 'change_datascope' LIMIT 1"
        )
        assert rows("SELECT count(*) FROM guardian_groupobjectpermission") == [(1,)]


class TestProofWhereItGrants:
    """proone_acting_system() and proone_login_name() answer "no" to a principal that does not
    claim system work or a sign-in look-up without reading its proof (divisions migration
    0011); every answer that grants rows still checks it."""

    def test_a_forged_system_claim_is_refused_on_every_table_it_would_open(self, world):
        """Attack: claim system work with a made-up proof and read each table whose policy
        lets system work read everything (one of them readable by system work alone).
        Stopped: a claim of system work is checked."""
        a_group_object_permission()
        with acting_as(world.u.sam):
            tables = tables_whose_reads_ask("proone_acting_system")
            expected = {"jobs_job", "divisions_user", "guardian_groupobjectpermission"}
            assert expected - (DISTRIBUTED_TABLES if ON_CITUS else set()) <= set(tables)
            for table in tables:
                with pytest.raises(DatabaseError, match="forged"), transaction.atomic():
                    rows("SELECT set_config('proone.principal', %s, true)", [forged("s", 0)])
                    rows(f"SELECT count(*) FROM {table}")  # noqa: S608 - catalog names
            workers_keep_the_entered_principal(forged("s", 0))

    def test_a_forged_user_principal_is_refused_wherever_it_could_read_a_row(self, world):
        """Attack: name the tenant admin with a made-up proof and read each table whose
        policy grants rows to a user. Stopped: the user's id, tenant and tenant admin flag
        are answered from a checked proof only."""
        admin = world.u.acme_admin.pk
        with acting_as(world.u.sam):
            tables = tables_whose_reads_ask(
                "proone_acting_tenant",
                "proone_principal",
                "proone_acting_tenant_admin",
                "proone_admin_tenant",
                "proone_visible_divisions",
            )
            expected = {"jobs_job", "divisions_division", "divisions_user"}
            assert expected - (DISTRIBUTED_TABLES if ON_CITUS else set()) <= set(tables)
            for table in tables:
                with pytest.raises(DatabaseError, match="forged"), transaction.atomic():
                    rows("SELECT set_config('proone.principal', %s, true)", [forged("u", admin)])
                    rows(f"SELECT count(*) FROM {table}")  # noqa: S608 - catalog names
            workers_keep_the_entered_principal(forged("u", admin))

    def test_a_forged_user_principal_opens_no_system_work_table(self, world):
        """Attack: a made-up user principal against a table only system work reads (group
        object permissions). Stopped: "not system work" needs no proof, and it grants no
        row; sam is still sam afterwards."""
        a_group_object_permission()
        with acting_as(world.u.sam):
            seen = in_savepoint(
                "SELECT set_config('proone.principal', %s, true), "
                "(SELECT count(*) FROM guardian_groupobjectpermission)",
                [forged("u", world.u.acme_admin.pk)],
            )
            assert seen[0][1] == 0
            assert job_titles() == SAMS_JOBS

    def test_a_forged_look_up_is_refused(self, world):
        """Attack: claim the sign-in look-up of the tenant admin's username with a made-up
        proof, and read the user table or ask for the name. Stopped: the user table's policy
        asks proone_principal() first, which checks any proof; proone_login_name() checks a
        claim of a look-up itself (the second read)."""
        name = world.u.acme_admin.username.encode().hex()
        with acting_as(world.u.sam):
            for read in ("(SELECT count(*) FROM divisions_user)", "proone_login_name()"):
                attempt(
                    f"SELECT set_config('proone.principal', %s, true), {read}",
                    [forged("n", name)],
                    match="forged",
                )


class TestOwnerReads:
    """The table owner reads divisions, scopes and scope lists whole (divisions migration
    0011), for its functions that filter by the verified principal themselves."""

    def test_the_owners_read_policy_is_the_owners_alone(self, world):
        """Attack: read another tenant's divisions, scopes and scope lists as the app role,
        and drop or rewrite the owner's policy. Stopped: the policy names the owner role
        only, which owns the tables; the app role owns nothing."""
        tables = ("divisions_division", "divisions_datascope", "divisions_datascopedivision")
        with unscoped("test: Globex's Ops lists Field"):
            allow(world.d.ops, world.d.field)
        with unscoped("test check"):
            owners = rows(
                "SELECT DISTINCT p.roles::text[], c.relowner::regrole::text "
                "FROM pg_policies p "
                "JOIN pg_class c ON c.oid = format('%%I', p.tablename)::regclass "
                "WHERE p.policyname = 'proone_owner_reads' AND p.cmd = 'SELECT'"
            )
            all_divisions = rows("SELECT count(*) FROM divisions_division")[0][0]
            acme = world.tenants.acme.pk
            acme_divisions = rows(
                "SELECT count(*) FROM divisions_division WHERE tenant_id = %s", [acme]
            )[0][0]
        [(roles, owner)] = owners
        assert roles == [owner]
        assert all_divisions > acme_divisions
        with acting_as(world.u.sam):
            assert rows("SELECT count(*) FROM divisions_division") == [(acme_divisions,)]
            assert rows("SELECT DISTINCT tenant_id FROM divisions_datascope") == [(acme,)]
            assert set(rows("SELECT tenant_id FROM divisions_datascopedivision")) == {(acme,)}
            for table in tables:
                attempt(f"DROP POLICY proone_owner_reads ON {table}", match="must be owner")
                attempt(
                    f"ALTER POLICY proone_owner_reads ON {table} TO PUBLIC",
                    match="must be owner",
                )

    def test_the_owners_functions_keep_to_the_principals_tenant(self, world):
        """Attack: rely on the owner reading every tenant's divisions and scopes: another
        tenant's everyone scope for the visible divisions, and a change_datascope grant on
        another tenant's scope written behind the app's back for the managed scopes. Stopped
        by the functions' own filter on the verified principal's tenant."""
        d = world.d
        with unscoped("test: elle manages Electrical's scope, and a grant on Globex's Ops"):
            assign_perm("divisions.change_datascope", world.u.elle, d.electrical.data_scope)
            rows(
                "INSERT INTO guardian_userobjectpermission "
                "(user_id, permission_id, content_type_id, object_pk) "
                "SELECT %s, p.id, p.content_type_id, %s FROM auth_permission p "
                "WHERE p.codename = 'change_datascope'",
                [world.u.elle.pk, str(d.ops.data_scope_id)],
            )
        with acting_as(world.u.sam):
            [(visible,)] = rows("SELECT proone_visible_divisions()")
        assert set(visible) == {d.sparks.pk, d.electrical.pk, d.plumbing.pk}
        with acting_as(world.u.elle):
            [(managed,)] = rows("SELECT proone_managed_scopes()")
        assert managed == [d.electrical.data_scope_id]
