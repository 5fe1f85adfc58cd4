"""The anchor remembers the gate key: a rotation cut from the audit table never brings the retired
key back, and a genuine restore from before a rotation is recorded with the newest key."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from proone.gate.signing import key_id

from .conftest import REPO
from .test_postgres_lock import refused_in_one_line

NEW_KEY = "new-gate-key-" + "n" * 40
THIRD_KEY = "third-gate-key-" + "t" * 40
REASON = "disk lost; restored the 02:00 backup"


def restore_across_rotation_commands():
    """The shell block of docs/operations.md for a backup from before a key rotation."""
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("**A backup from before a rotation of the gate's key**", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def anchored_key_lines(gate):
    text = Path(gate.env()["GATE_AUDIT_ANCHOR"]).read_text()
    return [line for line in text.splitlines() if " proone-gate-key " in line]


def rotated(gate):
    """Sign off with the first key (A), then rotate to NEW_KEY (B). Returns (the newest row
    before the rotation, A, B's environment)."""
    old = os.environ["GATE_SIGNING_KEY"]
    assert gate.signoff("0001_initial").returncode == 0
    kept = gate.query("SELECT max(id) FROM gate_auditentry")[0][0]
    new = {"GATE_SIGNING_KEY": NEW_KEY, "GATE_SIGNING_KEY_FALLBACKS": old}
    rotation = gate.manage("migrate_secure", "--rotate-key", **new)
    assert rotation.returncode == 0, rotation.stderr
    return kept, old, new


def test_a_retired_key_does_not_come_back_when_the_rotation_is_cut(gate):
    """Attack: the database owner holding the retired key A deletes the audit rows from the
    rotation on (the table then names A as the current key), records a "restore" with A and
    signs off and migrates with A. Stops it: the anchor, which the database roles cannot
    rewrite, records B as the newest gate key, and every gate command refuses any other key."""
    gate.protected = True
    kept, old, new = rotated(gate)
    a, b = key_id(old.encode()), key_id(NEW_KEY.encode())
    assert [line.rsplit(" key=", 1)[1] for line in anchored_key_lines(gate)] == [b]

    with sqlite3.connect(gate.db) as db:
        triggers = db.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='gate_auditentry'"
        ).fetchall()
        for (trigger,) in triggers:
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DELETE FROM gate_auditentry WHERE id > ?", (kept,))
    rows = gate.query("SELECT count(*) FROM gate_auditentry")

    restore = gate.manage("migrate_secure", "--record-restore", "--reason", "x")
    refused_in_one_line(restore, f"is key {a} but the anchor", f"records {b} as the newest")
    verify = gate.manage("migrate_secure", "--verify-audit")
    refused_in_one_line(verify, f"is key {a} but the anchor", f"records {b} as the newest")
    signoff = gate.signoff("0001_initial")
    assert signoff.returncode == 1 and f"records {b} as the newest" in signoff.stderr
    migrate = gate.migrate()
    refused_in_one_line(migrate, f"is key {a} but the anchor", f"records {b} as the newest")
    assert "sampleapp_widget" not in gate.tables()
    # Nor may A rotate to a key of the attacker's.
    third = {"GATE_SIGNING_KEY": THIRD_KEY, "GATE_SIGNING_KEY_FALLBACKS": old}
    rotate = gate.manage("migrate_secure", "--rotate-key", **third)
    refused_in_one_line(rotate, f"current gate key is {a}", f"records {b} as the newest")
    assert gate.query("SELECT count(*) FROM gate_auditentry") == rows
    assert not gate.audit(event="restore")


def test_a_restore_from_before_a_rotation_is_recorded_with_the_newest_key(gate, tmp_path):
    """The backup predates the rotation to B: the restored table names A. Recorded with B (A in
    the fallbacks, the commands of docs/operations.md), the restore verifies and the rotation is
    signed again, so A stays retired."""
    backup = tmp_path / "backup.sqlite3"
    old = os.environ["GATE_SIGNING_KEY"]
    assert gate.signoff("0001_initial").returncode == 0
    shutil.copy(gate.db, backup)
    new = {"GATE_SIGNING_KEY": NEW_KEY, "GATE_SIGNING_KEY_FALLBACKS": old}
    assert gate.manage("migrate_secure", "--rotate-key", **new).returncode == 0
    shutil.copy(backup, gate.db)
    a, b = key_id(old.encode()), key_id(NEW_KEY.encode())

    # Any other command first is refused without writing a row that would block the record.
    rows = gate.query("SELECT count(*) FROM gate_auditentry")
    early = gate.manage("migrate_secure", "--verify-audit", **new)
    refused_in_one_line(early, f"table's newest key row names {a}", "--record-restore")
    assert gate.query("SELECT count(*) FROM gate_auditentry") == rows

    env = gate.env(
        NEW_KEY=NEW_KEY,
        RETIRED_KEY=old,
        REASON=REASON,
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    recorded = subprocess.run(  # noqa: S603
        ["bash", "-e", "-c", restore_across_rotation_commands()],  # noqa: S607
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert "Recorded the restore" in recorded.stdout
    assert "lost with the restore" in recorded.stdout
    assert "Audit log chain intact." in recorded.stdout
    (newest_key,) = gate.query(
        "SELECT detail FROM gate_auditentry WHERE event='gate-key' AND outcome='rotated'"
    )
    assert f"key_id={b}; retired={a}; generation=1" in newest_key[0]
    assert [line.rsplit(" key=", 1)[1] for line in anchored_key_lines(gate)] == [b, b]

    retired = gate.signoff("0001_initial")
    assert retired.returncode == 1 and f"is key {a} (a retired key)" in retired.stderr
    assert gate.signoff("0001_initial", **new).returncode == 0
    assert gate.manage("migrate_secure", "--noinput", **new).returncode == 0
    assert "sampleapp_widget" in gate.tables()
    again = gate.manage("migrate_secure", "--verify-audit", **new)
    assert again.returncode == 0, again.stderr


def test_the_restore_needs_the_restored_key_in_the_fallbacks(gate, tmp_path):
    """Without the restored key A the rotation cannot be signed again: refused in one line,
    nothing written, and the restore can still be recorded once A is given."""
    backup = tmp_path / "backup.sqlite3"
    old = os.environ["GATE_SIGNING_KEY"]
    assert gate.signoff("0001_initial").returncode == 0
    shutil.copy(gate.db, backup)
    new = {"GATE_SIGNING_KEY": NEW_KEY, "GATE_SIGNING_KEY_FALLBACKS": old}
    assert gate.manage("migrate_secure", "--rotate-key", **new).returncode == 0
    shutil.copy(backup, gate.db)

    alone = gate.manage(
        "migrate_secure", "--record-restore", "--reason", REASON, GATE_SIGNING_KEY=NEW_KEY
    )
    refused_in_one_line(alone, f"{key_id(old.encode())} is not in GATE_SIGNING_KEY_FALLBACKS")
    assert not gate.audit(event="restore")
    recorded = gate.manage("migrate_secure", "--record-restore", "--reason", REASON, **new)
    assert recorded.returncode == 0, recorded.stderr
