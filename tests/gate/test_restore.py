"""Restoring an older backup, recorded with `migrate_secure --record-restore`, as an operator
runs it (SQLite: the backup is a copy of the database file; PostgreSQL's runbook is in
tests/gate/test_backup_runbook.py)."""

import json
import shutil
import sqlite3
from pathlib import Path

from django.utils import timezone

from proone.gate import audit
from proone.gate.models import AuditEntry

from .test_postgres_lock import refused_in_one_line

REASON = "disk lost; restored the 02:00 backup"


def anchor_text(gate):
    return Path(gate.env()["GATE_AUDIT_ANCHOR"]).read_text()


def newest(gate):
    return gate.query("SELECT max(id) FROM gate_auditentry")[0][0]


def restored_older_backup(gate, tmp_path):
    """Back up, write more audit rows (anchored), then restore the backup: the rows written
    after it are gone from the table and still named by the anchor. Returns (kept, lost)."""
    assert gate.signoff("0001_initial").returncode == 0
    backup = tmp_path / "backup.sqlite3"
    shutil.copy(gate.db, backup)
    kept = newest(gate)
    assert gate.migrate().returncode == 0
    lost = newest(gate)
    shutil.copy(backup, gate.db)
    return kept, lost


def test_a_recorded_restore_verifies_and_new_rows_chain_on(gate, tmp_path):
    kept, lost = restored_older_backup(gate, tmp_path)
    before = gate.manage("migrate_secure", "--verify-audit")
    assert before.returncode == 1
    assert f"rows {kept + 1}..{lost} are missing" in before.stderr

    recorded = gate.manage("migrate_secure", "--record-restore", "--reason", REASON)
    assert recorded.returncode == 0, recorded.stderr
    (row,) = gate.query("SELECT id, prev_hash, detail FROM gate_auditentry WHERE event='restore'")
    assert row[0] == lost + 1  # the lost rows' ids are never given again
    assert row[1] == gate.query("SELECT row_hash FROM gate_auditentry WHERE id=?", kept)[0][0]
    body = json.loads(row[2].split("; ", 2)[2])
    assert body["restored_to"] == kept and sorted(map(int, body["lost"])) == list(
        range(kept + 1, lost + 1)
    )
    anchor = anchor_text(gate)
    assert f" seq={lost + 1} head=" in anchor  # the anchor stays append-only: the restore's head

    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 0, verify.stderr
    today = timezone.now().strftime("%Y-%m-%d")
    assert (
        f"restored on {today} to row {kept}; rows {kept + 1}..{lost} recorded in the anchor "
        "were lost with the restore" in verify.stdout
    )
    # The migration the restore undid is applied again; its rows chain on and are anchored.
    assert gate.migrate().returncode == 0
    assert newest(gate) > lost + 1
    again = gate.manage("migrate_secure", "--verify-audit")
    assert again.returncode == 0, again.stderr
    assert f" seq={newest(gate)} head=" in anchor_text(gate)


def test_the_same_cut_without_the_restore_row_still_fails(gate, tmp_path):
    """Attack: cut the restore row too (or never record it). Stops it: the anchor names the
    restore row's head as well, so the cut is reported as before."""
    kept, lost = restored_older_backup(gate, tmp_path)
    assert gate.manage("migrate_secure", "--record-restore", "--reason", REASON).returncode == 0
    gate.query("DELETE FROM gate_auditentry WHERE event = 'restore'")
    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert f"rows {kept + 1}..{lost + 1} are missing" in verify.stderr
    assert "lost with the restore" not in verify.stdout


def test_nothing_lost_is_refused_in_one_line(gate):
    assert gate.signoff("0001_initial").returncode == 0
    result = gate.manage("migrate_secure", "--record-restore", "--reason", REASON)
    refused_in_one_line(result, "No anchored row is missing", "nothing was done")
    unexplained = gate.manage("migrate_secure", "--record-restore")
    refused_in_one_line(unexplained, '--reason "..."')
    assert not gate.audit(event="restore")


def _forged_restore(gate, kept, lost, signature):
    """A restore row the owner writes by hand, chained as the gate would chain it."""
    prev = gate.query("SELECT row_hash FROM gate_auditentry ORDER BY id DESC LIMIT 1")[0][0]
    lost_heads = {}
    anchor = anchor_text(gate).splitlines()
    for line in anchor:
        seq, head = line.split(" seq=")[1].split(" head=")
        if int(seq) > kept:
            lost_heads[seq] = head
    body = {"restored_to": kept, "restored_head": prev, "lost": lost_heads, "reason": "cover-up"}
    now = timezone.now()
    entry = AuditEntry(
        event="restore",
        outcome="ok",
        database="default",
        os_user="mallory",
        host="h",
        db_user="",
        git_commit="",
        tool_version="x",
        acknowledged=[],
        detail=f"key_id=0000000000000000; signature={signature}; {json.dumps(body)}",
        started_at=now,
        ended_at=now,
        duration_ms=0,
        prev_hash=prev,
    )
    entry.row_hash = audit.row_hash(entry)
    with sqlite3.connect(gate.db) as db:
        db.execute(
            "INSERT INTO gate_auditentry (id, event, outcome, database, os_user, host, db_user, "
            "git_commit, tool_version, app_label, migration_name, sha256, reviewer, "
            "acknowledged, detail, error, started_at, ended_at, duration_ms, prev_hash, "
            "row_hash) VALUES (?, 'restore', 'ok', 'default', 'mallory', 'h', '', '', 'x', '', "
            "'', '', '', '[]', ?, '', ?, ?, 0, ?, ?)",
            [lost + 1, entry.detail, now.isoformat(), now.isoformat(), prev, entry.row_hash],
        )


def test_a_forged_or_unsigned_restore_row_fails_verification(gate, tmp_path):
    """Attack: the owner cuts the newest audit rows and writes a chained restore row of its
    own to explain the cut away. Stops it: the row carries no signature of the gate key."""
    kept, lost = restored_older_backup(gate, tmp_path)
    _forged_restore(gate, kept, lost, "f" * 64)
    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1, verify.stdout
    assert f"row {lost + 1}: restore record: signature does not verify" in verify.stderr
    assert f"rows {kept + 1}..{lost} are missing" in verify.stderr


def test_a_cut_followed_by_new_rows_is_still_reported(gate):
    """Attack: delete the newest audit rows, then let the gate write on (its ids go on after
    the cut, and the new rows chain on the row before it). Stops it: every row the anchor
    records must be in the table, unless a signed restore row names it."""
    assert gate.signoff("0001_initial").returncode == 0
    cut = newest(gate)
    gate.query("DELETE FROM gate_auditentry WHERE id = ?", cut)
    assert gate.migrate().returncode == 0
    verify = gate.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert f"(removed, with later rows written after them): {cut}\n" in verify.stderr
