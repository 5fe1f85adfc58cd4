"""The gate's lock and timeouts on PostgreSQL, and operator mistakes, run as an operator runs
them: manage.py in subprocesses against the throwaway server, the app role as the attacker."""

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext

import psycopg
import pytest

from proone.gate.privileges import LOCK_TABLE

from .conftest import PASSWORD, REPO, owner_url

pytestmark = pytest.mark.postgres

# The advisory lock keys the gate once used, which any role may take.
OLD_ADVISORY_LOCKS = (7_140_001, 7_140_002)


@pytest.fixture
def pg_gate(pg_gate):
    """As deployed: MIGRATIONS_REQUIRE_SIGNOFF on (so no system check warns either)."""
    pg_gate.protected = True
    return pg_gate


def connect(url):
    return psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True)


def refused_in_one_line(result, *fragments):
    """Exit 1 and one line on stderr (no traceback) that says each of `fragments`; before it
    only the system checks' warnings about the same settings may stand."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    stderr = result.stderr.strip()
    if stderr.startswith("System check identified some issues:"):
        stderr = stderr.rsplit("\n", 1)[-1]
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("CommandError: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_the_app_role_holding_the_old_advisory_locks_does_not_stall_the_gate(pg_gate):
    """Attack: an SQL injection in the portal takes the gate's former advisory locks and keeps
    its session open, so no migration (a security fix) can ever be applied. Stops it: the gate
    locks a table the app role holds no privilege on, and the app role cannot lock that."""
    assert pg_gate.signoff("0001_initial").returncode == 0
    with connect(os.environ["DATABASE_URL"]) as app:
        for key in OLD_ADVISORY_LOCKS:
            app.execute("SELECT pg_advisory_lock(%s)", [key])
        began = time.monotonic()
        run = pg_gate.migrate("--lock-wait", "5")
        assert run.returncode == 0, run.stderr
        assert time.monotonic() - began < 5
        assert pg_gate.widgets() in pg_gate.tables()
        for table in (LOCK_TABLE, "gate_auditentry"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                app.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE NOWAIT")


def test_an_owner_session_holding_the_lock_is_named_and_the_run_gives_up(pg_gate):
    assert pg_gate.signoff("0001_initial").returncode == 0
    pg_gate.manage("migrate_secure", "--verify-audit")  # creates the lock table if need be
    with connect(owner_url()) as holder:
        holder.execute("BEGIN")
        holder.execute(f"LOCK TABLE {LOCK_TABLE} IN EXCLUSIVE MODE")
        ((pid, role),) = holder.execute("SELECT pg_backend_pid(), current_user").fetchall()
        began = time.monotonic()
        run = pg_gate.migrate("--lock-wait", "0.5")
        assert time.monotonic() - began < 30
        holder.execute("ROLLBACK")
    line = refused_in_one_line(run, f"held by pid {pid} (role {role}, since ", "--lock-wait 0.5 s")
    assert re.search(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", line)
    (refusal,) = [
        row for row in pg_gate.audit(event="run", outcome="refused") if str(pid) in row["error"]
    ]
    assert "--lock-wait 0.5 s" in refusal["error"]
    assert pg_gate.widgets() not in pg_gate.tables()
    assert pg_gate.migrate().returncode == 0


def test_a_second_run_waits_for_the_first_names_it_and_gives_up(pg_gate):
    pg_gate.add_migration("0002_sleepy.py")
    assert pg_gate.signoff("0001_initial").returncode == 0
    assert pg_gate.signoff("0002_sleepy", "--acknowledge-findings").returncode == 0
    first = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "migrate_secure", "--noinput"],
        cwd=REPO,
        env=pg_gate.env(SAMPLE_SLEEP="20"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not pg_gate.audit(migration_name="0002_sleepy", outcome="started"):
            assert time.monotonic() < deadline and first.poll() is None, "the run never started"
            time.sleep(0.2)
        second = pg_gate.migrate("--lock-wait", "0.5")
    finally:
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    refused_in_one_line(second, "held by pid ", "application migrate_secure", "--lock-wait 0.5 s")


def test_a_migration_blocked_on_its_table_times_out_is_retried_then_fails_audited(pg_gate):
    """A long transaction reads the table a migration must alter: the migration waits at most
    GATE_LOCK_TIMEOUT (not queueing every query behind it), is tried again, then the run fails
    in one line, audited."""
    assert pg_gate.signoff("0001_initial").returncode == 0
    assert pg_gate.migrate().returncode == 0
    pg_gate.add_migration("0002_remove_widget_note.py", models="models_dropped.py")
    assert pg_gate.signoff("0002_remove_widget_note", "--acknowledge-findings").returncode == 0
    limits = {"GATE_LOCK_TIMEOUT": "0.3", "GATE_LOCK_RETRIES": "1"}
    with connect(owner_url()) as reader:
        reader.execute("BEGIN")
        reader.execute(f"SELECT count(*) FROM {pg_gate.widgets()}")
        run = pg_gate.manage("migrate_secure", "--noinput", **limits)
        reader.execute("ROLLBACK")
    refused_in_one_line(
        run,
        f"{pg_gate.label}.0002_remove_widget_note could not take its locks",
        "lock_timeout of 0.3 s, 2 times",
    )
    tries = pg_gate.audit(migration_name="0002_remove_widget_note", outcome="lock timeout")
    assert len(tries) == 2
    assert "lock timeout" in tries[0]["error"]
    assert pg_gate.audit(event="run", outcome="failed")
    assert "note" in pg_gate.columns(pg_gate.widgets())
    # Once the table is free, the same run applies it.
    after = pg_gate.manage("migrate_secure", "--noinput", **limits)
    assert after.returncode == 0, after.stderr
    assert "note" not in pg_gate.columns(pg_gate.widgets())
    verify = pg_gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 0, verify.stderr


APP_CREDENTIALS = "may not write the gate's tables"


@pytest.mark.parametrize(
    "command",
    [
        ("migrate_secure", "--plan"),
        ("migrate_secure", "--noinput"),
        ("migrate_secure", "--verify-audit"),
        ("signoff_release", "--reviewer", "rita", "--password-stdin"),
    ],
)
@pytest.mark.parametrize("migrate_url", ["unset", "equal"])
def test_the_app_credentials_are_refused_in_one_line(pg_gate, command, migrate_url):
    env = pg_gate.env()
    if migrate_url == "unset":
        del env["DATABASE_MIGRATE_URL"]
        why = "DATABASE_MIGRATE_URL is unset"
    else:
        env["DATABASE_MIGRATE_URL"] = env["DATABASE_URL"]
        why = "DATABASE_MIGRATE_URL connects as DATABASE_URL's role"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *command],
        cwd=REPO,
        env=env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    refused_in_one_line(result, APP_CREDENTIALS, why, "Set DATABASE_MIGRATE_URL")


def test_the_runbooks_migrate_step_with_the_app_credentials_is_one_line(pg_gate):
    env = {**pg_gate.env(PY=sys.executable), "DATABASE_MIGRATE_URL": os.environ["DATABASE_URL"]}
    result = subprocess.run(  # noqa: S603
        ["sh", "docs/deploy-runbook.sh", "migrate"],  # noqa: S607
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    refused_in_one_line(result, APP_CREDENTIALS)


def _with(url, **parts):
    """`url` with its database name or port replaced."""
    scheme, rest = url.split("://", 1)
    where, name = rest.rsplit("/", 1)
    if "name" in parts:
        name = parts["name"]
    if "port" in parts:
        where = re.sub(r":\d+$", f":{parts['port']}", where)
    return f"{scheme}://{where}/{name}"


@pytest.mark.parametrize(
    "change, fragment",
    [({"name": "no_such_database"}, "no_such_database"), ({"port": 1}, "Cannot connect")],
)
@pytest.mark.parametrize("command", [("migrate_secure", "--plan"), ("migrate_secure", "--noinput")])
def test_a_missing_database_or_server_is_one_line(pg_gate, change, fragment, command):
    url = _with(owner_url(), **change)
    result = pg_gate.manage(
        *command, DATABASE_MIGRATE_URL=url, DATABASE_URL=_with(os.environ["DATABASE_URL"], **change)
    )
    refused_in_one_line(
        result, "Cannot connect to the database", fragment, "Check DATABASE_MIGRATE_URL"
    )


@contextmanager
def lock_held():
    """An owner session holding the gate's lock (as a forgotten psql would) while inside."""
    with connect(owner_url()) as holder:
        holder.execute("BEGIN")
        holder.execute(f"LOCK TABLE {LOCK_TABLE} IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")


def _mistake(pg_gate, tmp_path, mistake):
    """(environment changes, fix the line must name) of the operator mistake `mistake`."""
    app_url = os.environ["DATABASE_URL"]
    anchor_dir = tmp_path / "anchor-dir"
    anchor_dir.mkdir()
    return {
        "migrate url unset": ({"DATABASE_MIGRATE_URL": None}, "Set DATABASE_MIGRATE_URL"),
        "migrate url equal": ({"DATABASE_MIGRATE_URL": app_url}, "Set DATABASE_MIGRATE_URL"),
        "missing database": (
            {
                "DATABASE_MIGRATE_URL": _with(owner_url(), name="no_such_database"),
                "DATABASE_URL": _with(app_url, name="no_such_database"),
            },
            "Check DATABASE_MIGRATE_URL",
        ),
        "no server": (
            {"DATABASE_MIGRATE_URL": _with(owner_url(), port=1), "DATABASE_URL": app_url},
            "Check DATABASE_MIGRATE_URL",
        ),
        "wrong key": ({"GATE_SIGNING_KEY": "another-key-" + "y" * 40}, "export the registered key"),
        "lock held": ({}, "--lock-wait 0.5 s"),
        "anchor directory missing": (
            {"GATE_AUDIT_ANCHOR": str(tmp_path / "no-such-dir" / "anchor")},
            "Point GATE_AUDIT_ANCHOR at a file the operator may append to",
        ),
        "anchor is a directory": (
            {"GATE_AUDIT_ANCHOR": str(anchor_dir)},
            "Point GATE_AUDIT_ANCHOR at a file the operator may append to",
        ),
        "anchor directory read-only": (
            {"GATE_AUDIT_ANCHOR": "/sys/proone-anchor"},
            "Point GATE_AUDIT_ANCHOR at a file the operator may append to",
        ),
    }[mistake]


MISTAKES = [
    "migrate url unset",
    "migrate url equal",
    "missing database",
    "no server",
    "wrong key",
    "lock held",
    "anchor directory missing",
    "anchor is a directory",
    "anchor directory read-only",
]


@pytest.mark.parametrize("command", [("--noinput",), ("--verify-audit",)])
@pytest.mark.parametrize("mistake", MISTAKES)
def test_every_operator_mistake_is_one_line_with_the_fix(pg_gate, tmp_path, mistake, command):
    """Each mistake an operator makes with migrate_secure (applying, and verifying the audit):
    exit 1, one line on stderr that says the fix, no traceback, nothing applied, and the audit
    still verifies once the mistake is undone."""
    assert pg_gate.signoff("0001_initial").returncode == 0
    pg_gate.manage("migrate_secure", "--verify-audit")  # creates the lock table if need be
    changes, fix = _mistake(pg_gate, tmp_path, mistake)
    env = pg_gate.env(**{k: v for k, v in changes.items() if v is not None})
    for name in [k for k, v in changes.items() if v is None]:
        del env[name]
    holding = lock_held() if mistake == "lock held" else nullcontext()
    with holding:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate_secure", *command, "--lock-wait", "0.5"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    refused_in_one_line(result, fix)
    assert pg_gate.widgets() not in pg_gate.tables()
    verify = pg_gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 0, verify.stderr
