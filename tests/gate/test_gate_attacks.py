"""The gate attacked from behind its back: forged sign-offs, a cut audit log, a killed run."""

import os
import signal
import subprocess
import sys
import time

from proone.gate.fingerprint import normalised_sha256
from proone.gate.signing import key_id

from .conftest import REPO

WIDGETS = "sampleapp_widget"


def forge_signoff(gate, name, signature=""):
    """INSERT a sign-off row straight into the database file; return its id."""
    sha = normalised_sha256((gate.migrations / f"{name}.py").read_bytes())
    gate.query(
        "INSERT INTO gate_signoff (app_label, migration_name, kind, sha256, reviewer_id, "
        "reviewer_username, author, acknowledged, note, created_at, signature) SELECT "
        "'sampleapp', ?, 'apply', ?, id, 'rita', 'x', '[]', '', '2026-01-01', ? "
        "FROM divisions_user WHERE username='rita'",
        name,
        sha,
        signature,
    )
    return gate.query("SELECT max(id) FROM gate_signoff")[0][0]


def test_signoff_row_written_into_the_database_file_is_ignored_and_named(gate):
    """Attack: write a sign-off row into the SQLite file (right hash, a real reviewer).
    Stops it: the row carries no signature under GATE_SIGNING_KEY, so the gate ignores it."""
    forged = forge_signoff(gate, "0001_initial", signature="0" * 64)

    plan = gate.manage("migrate_secure", "--plan")
    assert plan.returncode == 1
    assert f"sign-off #{forged} of sampleapp.0001_initial" in plan.stderr
    assert "IGNORED: its signature does not verify" in plan.stderr
    assert "valid" not in plan.stdout and "missing" in plan.stdout

    run = gate.migrate()
    assert run.returncode == 1
    assert f"sign-off #{forged} of sampleapp.0001_initial" in run.stderr
    assert "sampleapp.0001_initial: no sign-off to apply it" in run.stderr
    assert WIDGETS not in gate.tables()
    (refused,) = gate.audit(event="run", outcome="refused")
    assert f"sign-off #{forged}" in refused["error"]

    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert f"sign-off #{forged} of sampleapp.0001_initial by 'rita': signature" in verify.stderr


def test_signoff_and_migrate_with_another_key_are_refused_naming_both_keys(gate):
    """Attack: a reviewer's password and database access, but another GATE_SIGNING_KEY: sign
    off with it, then migrate_secure with it. Stops it: the database's registered key id
    differs, so each command refuses in one line naming both key ids; nothing is applied."""
    other_key = "another-key-" + "x" * 40
    given, registered = key_id(other_key.encode()), key_id(os.environ["GATE_SIGNING_KEY"].encode())
    expected = f"GATE_SIGNING_KEY is key {given} but the registered gate key of this database "
    for result in (
        gate.signoff("0001_initial", GATE_SIGNING_KEY=other_key),
        gate.manage("migrate_secure", "--noinput", GATE_SIGNING_KEY=other_key),
        gate.manage("migrate_secure", "--plan", GATE_SIGNING_KEY=other_key),
        gate.manage("migrate_secure", "--verify-audit", GATE_SIGNING_KEY=other_key),
    ):
        assert result.returncode == 1
        (refusal,) = [line for line in result.stderr.splitlines() if "CommandError" in line]
        assert expected in refusal and f"is {registered} (audit row #" in refusal
        assert "Traceback" not in result.stderr
    assert WIDGETS not in gate.tables()
    assert gate.query("SELECT count(*) FROM gate_signoff") == [(0,)]
    assert len(gate.audit(event="gate-key", outcome="refused")) == 4

    genuine = gate.signoff("0001_initial")
    assert genuine.returncode == 0, genuine.stderr
    ((detail,),) = gate.query("SELECT detail FROM gate_auditentry WHERE event = 'signoff'")
    assert detail.endswith(f"key_id={registered}")
    assert gate.migrate().returncode == 0
    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 0, verify.stderr


def test_altering_a_signed_row_voids_its_signature(gate):
    """Attack: change the hash a genuine sign-off is bound to, to approve another file.
    Stops it: the signature covers the hash (and kind, acknowledgements, reviewer)."""
    assert gate.signoff("0001_initial").returncode == 0
    gate.edit("0001_initial.py", "\nfrom django.db import connection  # sneaked in\n")
    new_sha = normalised_sha256((gate.migrations / "0001_initial.py").read_bytes())
    gate.query("UPDATE gate_signoff SET sha256 = ?, acknowledged = '[\"MG109\"]'", new_sha)
    run = gate.migrate()
    assert run.returncode == 1 and "IGNORED" in run.stderr
    assert WIDGETS not in gate.tables()


def test_gate_commands_need_the_gate_key(gate):
    """Without GATE_SIGNING_KEY (or with a short one) every gate command stops, clearly."""
    for args in (
        ("migrate_secure", "--plan"),
        ("migrate_secure", "--noinput"),
        ("migrate_secure", "--verify-audit"),
        ("signoff_migration", "sampleapp", "0001_initial", "--reviewer", "rita"),
    ):
        missing = gate.manage(*args, GATE_SIGNING_KEY="")
        assert missing.returncode == 1, args
        assert "GATE_SIGNING_KEY is not set" in missing.stderr, args
        assert "Traceback" not in missing.stderr
        short = gate.manage(*args, GATE_SIGNING_KEY="short")
        assert short.returncode == 1 and "GATE_SIGNING_KEY is too short" in short.stderr
    assert WIDGETS not in gate.tables()


def test_protected_environment_needs_the_audit_anchor(gate):
    gate.protected = True
    result = gate.manage("migrate_secure", "--plan", GATE_AUDIT_ANCHOR="")
    assert result.returncode == 1
    assert "GATE_AUDIT_ANCHOR is not set" in result.stderr and "Traceback" not in result.stderr


def test_an_anchor_the_gate_cannot_append_to_is_refused_before_anything_is_done(gate, tmp_path):
    """Without the check the migration would be applied and its audit row written, and only
    then would appending its head fail."""
    assert gate.signoff("0001_initial").returncode == 0
    rows = len(gate.audit())
    for anchor in (tmp_path / "no-such-dir" / "anchor", tmp_path):
        result = gate.manage("migrate_secure", "--noinput", GATE_AUDIT_ANCHOR=str(anchor))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        (line,) = [line for line in result.stderr.splitlines() if "CommandError" in line]
        assert f"GATE_AUDIT_ANCHOR ({anchor}) cannot be appended to" in line
        assert "Point GATE_AUDIT_ANCHOR at a file the operator may append to" in line
    assert WIDGETS not in gate.tables()
    assert len(gate.audit()) == rows


def test_deleting_the_newest_audit_rows_is_reported(gate):
    """Attack: delete the last audit rows; the chain that is left still links.
    Stops it: the anchor file outside the database recorded the head that is now gone."""
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate().returncode == 0
    assert gate.manage("migrate_secure", "--verify-audit").returncode == 0
    (newest,) = gate.query("SELECT max(id) FROM gate_auditentry")[0]
    gate.query("DELETE FROM gate_auditentry WHERE id >= ?", newest - 1)

    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert "the newest audit rows were removed (cut tail)" in verify.stderr
    assert f"rows {newest - 1}..{newest} are missing" in verify.stderr
    assert "Traceback" not in verify.stderr


def test_rewriting_an_anchored_row_is_reported(gate):
    """Attack: replace the tail with rows of one's own and re-link the chain.
    Stops it: the anchored head of that row id no longer matches."""
    assert gate.signoff("0001_initial").returncode == 0
    (newest,) = gate.query("SELECT max(id) FROM gate_auditentry")[0]
    gate.query("UPDATE gate_auditentry SET row_hash = ? WHERE id = ?", "a" * 64, newest)
    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert f"row {newest}: its hash differs from the head anchored" in verify.stderr


def test_a_run_killed_mid_migration_is_reported_by_the_next_run(gate):
    """A run killed with SIGKILL while applying leaves its 'started' rows; the next run and
    --verify-audit report it with the migration that was in flight."""
    gate.add_migration("0002_sleepy.py")
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.signoff("0002_sleepy", "--acknowledge-findings").returncode == 0
    assert gate.migrate("sampleapp", "0001_initial").returncode == 0
    run = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "migrate_secure", "--noinput"],
        cwd=REPO,
        env=gate.env(SAMPLE_SLEEP="60"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not gate.audit(event="apply", migration_name="0002_sleepy", outcome="started"):
            assert time.monotonic() < deadline and run.poll() is None, "the run never started"
            time.sleep(0.2)
        time.sleep(0.5)  # inside the migration's sleep
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    assert gate.query(
        "SELECT count(*) FROM django_migrations WHERE app='sampleapp' AND name='0002_sleepy'"
    ) == [(0,)]
    (start,) = gate.audit(event="run", outcome="started")[-1:]

    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert "never finished (killed or crashed); in flight: sampleapp.0002_sleepy" in verify.stderr

    plan = gate.manage("migrate_secure", "--plan")
    assert "in flight" not in plan.stderr  # --plan reports nothing it does not record

    following = gate.migrate()
    assert following.returncode == 0, following.stderr
    assert "WARNING: an earlier run #" in following.stderr
    assert "in flight: sampleapp.0002_sleepy" in following.stderr
    (closed,) = gate.audit(event="run", outcome="interrupted")
    assert "sampleapp.0002_sleepy" in closed["error"]
    assert start["event"] == "run"
    assert gate.manage("migrate_secure", "--verify-audit").returncode == 0
    again = gate.migrate()
    assert "earlier run" not in again.stderr  # reported once, then closed
