"""
SQL injection against django-axes' login history as the app role: what the database refuses.

Each test is one attack, run as the app role with no principal (an injection before anyone
signs in), inside a member's principal (sam) and inside a tenant admin's (acme-admin). The
rows name users of both tenants and a username nobody has. Stopped by the login history's
policies (divisions/database/policies.sql, axes_* sections): a row is read and written for
the username it names by that username's sign-in look-up, read by its tenant's admins, who
may delete an attempt (an unlock), and by system work; nobody else reaches any row.
"""

from contextlib import nullcontext

import pytest
from django.db import DatabaseError, connection, transaction

from divisions.scoping import acting_as, looking_up, unscoped
from tests.login_history import ADDRESS, BROWSER, history_of

pytestmark = pytest.mark.postgres

ACME = {"acme-admin", "alice", "sam"}
OTHERS = {"globex-admin", "gina", "no-such-user"}
TABLES = ("axes_accessattempt", "axes_accessfailurelog", "axes_accesslog")
ATTACKERS = ("nobody", "sam", "acme-admin")


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def in_savepoint(sql, params=()):
    """Run `sql` in a savepoint that is rolled back; returns rows or the row count."""
    with transaction.atomic():
        result = rows(sql, params)
        transaction.set_rollback(True)
    return result


def refused(sql, params=()):
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        rows(sql, params)


def as_attacker(world, attacker):
    """The principal an injection in `attacker`'s request runs under."""
    if attacker == "nobody":
        return nullcontext()
    return acting_as({"sam": world.u.sam, "acme-admin": world.u.acme_admin}[attacker])


def everything():
    """Every login history row, read as system work: {table: sorted rows}."""
    with unscoped("test check"):
        found = {table: sorted(rows(f"SELECT * FROM {table}")) for table in TABLES}  # noqa: S608
        found["axes_accessattemptexpiration"] = rows("SELECT * FROM axes_accessattemptexpiration")
        return found


@pytest.fixture
def history(world):
    """One attempt (a lockout: 99 failures), sign-in and failure per username, with an
    expiration for each attempt."""
    made = {name: history_of(name, failures=99) for name in ACME | OTHERS}
    with unscoped("test setup"):
        for name in made:
            rows(
                "INSERT INTO axes_accessattemptexpiration (access_attempt_id, expires_at) "
                "VALUES (%s, now() + interval '1 hour')",
                [made[name]["accessattempt"].pk],
            )
    return made


def usernames(table):
    return {name for (name,) in rows(f"SELECT username FROM {table}")}  # noqa: S608


INSERT_LOCKOUT = (
    "INSERT INTO axes_accessattempt (username, ip_address, user_agent, http_accept, path_info, "
    "attempt_time, get_data, post_data, failures_since_start) "
    "VALUES (%s, '198.51.100.7', 'x', 'x', '/accounts/login/', now(), '', '', 99)"
)


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_reading_every_row_shows_no_other_tenants_history(world, history, attacker):
    """Attack: SELECT * from each login history table (usernames, addresses, browsers).
    Stopped by proone_read: nobody and a member read no row; a tenant admin reads its own
    tenant's usernames only, never another tenant's or a username nobody has."""
    expected = ACME if attacker == "acme-admin" else set()
    with as_attacker(world, attacker):
        for table in TABLES:
            assert usernames(table) == expected, table
        assert rows("SELECT count(*) FROM axes_accessattemptexpiration") == [(len(expected),)]


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_deleting_another_tenants_lockout_matches_no_row(world, history, attacker):
    """Attack: DELETE globex-admin's lockout (or every lockout and its expiration), so the
    brute force on it can go on. Stopped by proone_delete: no row of another tenant passes;
    a member cannot unlock even itself."""
    before = everything()
    with as_attacker(world, attacker):
        assert in_savepoint("DELETE FROM axes_accessattempt WHERE username = 'globex-admin'") == 0
        assert in_savepoint("DELETE FROM axes_accessattemptexpiration WHERE true") == (
            3 if attacker == "acme-admin" else 0
        )
        if attacker != "acme-admin":
            assert in_savepoint("DELETE FROM axes_accessattempt") == 0
    assert everything() == before


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_inserting_a_lockout_for_another_user_is_refused(world, history, attacker):
    """Attack: INSERT an attempt with 99 failures for globex-admin (or for oneself, or a
    tenant's user) from an address, which locks that user out there. Stopped by proone_insert:
    only the sign-in look-up of that very username (and system work) adds its attempts."""
    with as_attacker(world, attacker):
        for victim in ("globex-admin", "alice", "sam"):
            refused(INSERT_LOCKOUT, [victim])
        refused(
            "INSERT INTO axes_accesslog (username, ip_address, user_agent, http_accept, "
            "path_info, attempt_time, session_hash) "
            "VALUES ('globex-admin', '198.51.100.7', 'x', 'x', '/', now(), '')"
        )
        refused(
            "INSERT INTO axes_accessattemptexpiration (access_attempt_id, expires_at) "
            "VALUES (%s, now() + interval '1 year')",
            [history["globex-admin"]["accessattempt"].pk],
        )


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_updating_failure_counts_or_the_history_matches_no_row(world, history, attacker):
    """Attack: reset the failure count (an unlock without trace), raise it (a lockout), move
    an expiration, rewrite or erase the sign-in and failure history. Stopped by proone_update
    and proone_delete: nobody, a member and even a tenant admin update no row, and only
    system work deletes history."""
    before = everything()
    with as_attacker(world, attacker):
        for change in ("failures_since_start = 0", "failures_since_start = 999"):
            assert in_savepoint(f"UPDATE axes_accessattempt SET {change}") == 0  # noqa: S608
        expire = "UPDATE axes_accessattemptexpiration SET expires_at = now() - interval '1 day'"
        assert in_savepoint(expire) == 0
        for table in ("axes_accesslog", "axes_accessfailurelog"):
            assert in_savepoint(f"UPDATE {table} SET ip_address = '10.0.0.1'") == 0  # noqa: S608
            assert in_savepoint(f"DELETE FROM {table}") == 0  # noqa: S608
    assert everything() == before


def test_a_sign_in_look_up_reaches_its_own_username_only(world, history):
    """Attack: an injection in a sign-in (the look-up principal of sam) reading or writing
    someone else's history. Stopped by every policy's username = proone_login_name()."""
    before = everything()
    with looking_up("sam"):
        for table in TABLES:
            assert usernames(table) == {"sam"}, table
        refused(INSERT_LOCKOUT, ["globex-admin"])
        assert in_savepoint("UPDATE axes_accessattempt SET failures_since_start = 0") == 1
        assert in_savepoint("DELETE FROM axes_accessattempt WHERE username <> 'sam'") == 0
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rows("UPDATE axes_accessattempt SET username = 'globex-admin'")
    assert everything() == before


def test_a_tenant_admin_unlocks_its_tenants_users_only(world, history):
    """A tenant admin deletes (unlocks) an attempt of its tenant, its expiration first (as the
    admin's delete does); another tenant's stay."""
    unlock = (
        "DELETE FROM axes_accessattemptexpiration WHERE access_attempt_id IN "
        "(SELECT id FROM axes_accessattempt WHERE username = %s)",
        "DELETE FROM axes_accessattempt WHERE username = %s",
    )
    with acting_as(world.u.acme_admin):
        assert [rows(sql, ["alice"]) for sql in unlock] == [1, 1]
        assert [rows(sql, ["gina"]) for sql in unlock] == [0, 0]
    with unscoped("test check"):
        left = {name for (name,) in rows("SELECT username FROM axes_accessattempt")}
    assert left == (ACME | OTHERS) - {"alice"}


def test_the_address_and_browser_are_kept_for_system_work(world, history):
    """System work (platform operators, django-axes' reset commands) reads every row."""
    with unscoped("test check"):
        assert usernames("axes_accessattempt") == ACME | OTHERS
        assert rows("SELECT DISTINCT host(ip_address), user_agent FROM axes_accesslog") == [
            (ADDRESS, BROWSER)
        ]
