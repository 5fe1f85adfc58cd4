"""The gate on PostgreSQL, run as an operator runs it: manage.py in subprocesses, two roles.

The app role (DATABASE_URL) is the attacker's: what an SQL injection in the portal gets. The
owner role (DATABASE_MIGRATE_URL) migrates; it can write the gate's tables but holds no gate key.
"""

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from proone.gate.fingerprint import normalised_sha256
from proone.gate.signing import key_id

from .conftest import REPO

pytestmark = pytest.mark.postgres

FORGE = (
    "INSERT INTO gate_signoff (app_label, migration_name, kind, sha256, reviewer_id, "
    "reviewer_username, author, acknowledged, note, created_at, signature) SELECT "
    "?, '0001_initial', 'apply', ?, id, 'rita', 'x', '[]', '', now(), ? "
    "FROM divisions_user WHERE username = 'rita' RETURNING id"
)


def test_signoff_inserted_by_sql_is_refused_and_named(pg_gate):
    """Attack: INSERT a sign-off row with the file's hash and a real reviewer, first as the
    app role, then as the owner. Stops it: the app role holds no privilege on gate_signoff,
    and the owner's row has no signature under GATE_SIGNING_KEY, so the gate ignores it."""
    sha = normalised_sha256((pg_gate.migrations / "0001_initial.py").read_bytes())
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg_gate.query(FORGE, pg_gate.label, sha, "", role="app")
    ((forged,),) = pg_gate.query(FORGE, pg_gate.label, sha, "f" * 64)
    try:
        plan = pg_gate.manage("migrate_secure", "--plan")
        assert plan.returncode == 1, plan.stderr
        assert f"sign-off #{forged} of {pg_gate.label}.0001_initial" in plan.stderr
        assert "IGNORED: its signature does not verify" in plan.stderr

        run = pg_gate.migrate()
        assert run.returncode == 1
        assert f"sign-off #{forged} of {pg_gate.label}.0001_initial" in run.stderr
        assert f"{pg_gate.label}.0001_initial: no sign-off to apply it" in run.stderr
        assert pg_gate.widgets() not in pg_gate.tables()
    finally:
        # The forged row would otherwise fail every later --verify-audit in this database.
        pg_gate.query("DELETE FROM gate_signoff WHERE id = ?", forged)


def test_signed_migration_applies_and_the_app_role_stays_locked_out(pg_gate):
    assert pg_gate.signoff("0001_initial").returncode == 0
    run = pg_gate.migrate()
    assert run.returncode == 0, run.stderr
    assert pg_gate.widgets() in pg_gate.tables()
    (applied,) = pg_gate.audit(app_label=pg_gate.label, event="apply", outcome="ok")
    assert applied["reviewer"] == "rita"
    # The run created no new gate table, but it re-checked: the app role still holds nothing.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg_gate.query("SELECT count(*) FROM gate_auditentry", role="app")
    verify = pg_gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 0, verify.stderr


def test_a_run_with_nothing_to_do_takes_back_writes_the_app_role_may_not_hold(pg_gate):
    """Attack surface left by an upgrade: the app role still writes content types (granted by
    an older create_db_roles, or by hand), and no migration is pending. Stops it: every
    migrate_secure run, even one with nothing to do, leaves the app role only SELECT there."""
    ((app,),) = pg_gate.query("SELECT current_user", role="app")
    pg_gate.query(f'GRANT INSERT, UPDATE, DELETE ON django_content_type TO "{app}"')
    writes = "SELECT has_table_privilege('django_content_type', 'INSERT,UPDATE,DELETE')"
    try:
        assert pg_gate.query(writes, role="app") == [(True,)]
        run = pg_gate.migrate("divisions")
        assert run.returncode == 0, run.stderr
        assert pg_gate.audit(event="run", outcome="nothing to do")
        assert pg_gate.query(writes, role="app") == [(False,)]
        assert pg_gate.query(
            "SELECT has_table_privilege('django_content_type', 'SELECT')", role="app"
        ) == [(True,)]
    finally:
        pg_gate.query(f'REVOKE INSERT, UPDATE, DELETE ON django_content_type FROM "{app}"')


def test_two_concurrent_runs_apply_each_migration_once(pg_gate):
    pg_gate.add_migration("0002_slow_data.py")
    assert pg_gate.signoff("0001_initial").returncode == 0
    assert pg_gate.signoff("0002_slow_data", "--acknowledge-findings").returncode == 0
    command = [sys.executable, "manage.py", "migrate_secure", "--noinput", "--lock-wait", "60"]
    runs = [
        subprocess.Popen(  # noqa: S603
            command,
            cwd=REPO,
            env=pg_gate.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert pg_gate.query(f"SELECT name FROM {pg_gate.widgets()}") == [("made once",)]
    for name in ("0001_initial", "0002_slow_data"):
        assert (
            len(
                pg_gate.audit(
                    event="apply", migration_name=name, app_label=pg_gate.label, outcome="ok"
                )
            )
            == 1
        )
    assert sum("No migrations to apply" in out for out, _ in outputs) == 1


def test_owner_deleting_the_newest_audit_rows_is_reported(pg_gate):
    """Attack: the owner switches the append-only trigger off and deletes the newest rows.
    Stops it: the head anchored in GATE_AUDIT_ANCHOR names the rows that are gone."""
    assert pg_gate.signoff("0001_initial").returncode == 0
    assert pg_gate.migrate().returncode == 0
    ((newest,),) = pg_gate.query("SELECT max(id) FROM gate_auditentry")
    pg_gate.query(
        "BEGIN; ALTER TABLE gate_auditentry DISABLE TRIGGER USER; "
        f"DELETE FROM gate_auditentry WHERE id = {int(newest)}; "
        "ALTER TABLE gate_auditentry ENABLE TRIGGER USER; COMMIT"
    )
    verify = pg_gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert "the newest audit rows were removed (cut tail)" in verify.stderr
    assert f"rows {newest}..{newest} are missing" in verify.stderr


def test_a_run_killed_mid_migration_is_reported_by_the_next_run(pg_gate):
    pg_gate.add_migration("0002_sleepy.py")
    assert pg_gate.signoff("0001_initial").returncode == 0
    assert pg_gate.signoff("0002_sleepy", "--acknowledge-findings").returncode == 0
    assert pg_gate.migrate(pg_gate.label, "0001_initial").returncode == 0
    run = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "migrate_secure", "--noinput"],
        cwd=REPO,
        env=pg_gate.env(SAMPLE_SLEEP="60"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not pg_gate.audit(migration_name="0002_sleepy", outcome="started"):
            assert time.monotonic() < deadline and run.poll() is None, "the run never started"
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    # PostgreSQL rolled the killed migration back, its row included.
    assert pg_gate.query(f"SELECT count(*) FROM {pg_gate.widgets()}") == [(0,)]
    following = pg_gate.migrate()
    assert following.returncode == 0, following.stderr
    assert "WARNING: an earlier run #" in following.stderr
    assert f"in flight: {pg_gate.label}.0002_sleepy" in following.stderr
    assert pg_gate.query(f"SELECT name FROM {pg_gate.widgets()}") == [("half-way",)]


def test_another_key_is_refused_in_one_line_and_the_audit_still_verifies(pg_gate):
    """Attack: the owner's database URL, a reviewer's password and another GATE_SIGNING_KEY:
    sign off, then migrate_secure, with it. Stops it: the registered key id differs; each
    command refuses in one line naming both ids, applies nothing, and the audit still verifies
    with the right key."""
    other_key = "another-key-" + "y" * 40
    given, registered = key_id(other_key.encode()), key_id(os.environ["GATE_SIGNING_KEY"].encode())
    signoffs = pg_gate.query("SELECT count(*) FROM gate_signoff")
    for result in (
        pg_gate.signoff("0001_initial", GATE_SIGNING_KEY=other_key),
        pg_gate.manage("migrate_secure", "--noinput", GATE_SIGNING_KEY=other_key),
    ):
        assert result.returncode == 1
        (refusal,) = [line for line in result.stderr.splitlines() if "CommandError" in line]
        assert f"GATE_SIGNING_KEY is key {given} but the registered gate key" in refusal
        assert f"of this database is {registered} (audit row #" in refusal
    assert pg_gate.widgets() not in pg_gate.tables()
    assert pg_gate.query("SELECT count(*) FROM gate_signoff") == signoffs
    verify = pg_gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 0, verify.stderr
