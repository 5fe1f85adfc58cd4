"""Rotating the gate key with the commands of docs/operations.md, as an operator runs them."""

import os
import re
import subprocess
import sys
from pathlib import Path

from proone.gate.signing import key_id

from .conftest import REPO

WIDGETS = "sampleapp_widget"
NEW_KEY = "new-gate-key-" + "n" * 40


def rotation_commands():
    """The shell block of the "Rotating the gate's key" section, as printed."""
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## Rotating the gate's key", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def test_rotation_keeps_old_signoffs_verifying_and_retires_the_old_key(gate):
    """The documented rotation: old sign-offs and rows still verify with the retired key in the
    fallbacks; the retired key is refused for new signing (attack: a leaked old key); a
    pending sign-off under the old key no longer applies."""
    old_key = os.environ["GATE_SIGNING_KEY"]
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate("sampleapp", "0001_initial").returncode == 0
    gate.add_migration("0002_remove_widget_note.py", models="models_dropped.py")
    assert gate.signoff("0002_remove_widget_note", "--acknowledge-findings").returncode == 0
    assert gate.manage("migrate_secure", "--verify-audit").returncode == 0

    env = gate.env(NEW_KEY=NEW_KEY, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    rotated = subprocess.run(  # noqa: S603
        ["bash", "-e", "-c", rotation_commands()],  # noqa: S607
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert f"key_id={key_id(NEW_KEY.encode())}" in rotated.stdout
    assert "Audit log chain intact." in rotated.stdout

    new = {"GATE_SIGNING_KEY": NEW_KEY, "GATE_SIGNING_KEY_FALLBACKS": old_key}
    retired = gate.signoff("0002_remove_widget_note", "--acknowledge-findings")
    assert retired.returncode == 1
    assert f"is key {key_id(old_key.encode())} (a retired key) but the registered" in (
        retired.stderr
    )
    void = gate.manage("migrate_secure", "--noinput", **new)
    assert void.returncode == 1
    assert "sampleapp.0002_remove_widget_note: no sign-off to apply it" in void.stderr
    assert WIDGETS in gate.tables()
    resigned = gate.signoff("0002_remove_widget_note", "--acknowledge-findings", **new)
    assert resigned.returncode == 0, resigned.stderr
    assert gate.manage("migrate_secure", "--noinput", **new).returncode == 0
    assert gate.manage("migrate_secure", "--verify-audit", **new).returncode == 0

    without = gate.manage("migrate_secure", "--verify-audit", GATE_SIGNING_KEY=NEW_KEY)
    assert without.returncode == 1
    assert f"key {key_id(old_key.encode())} is neither GATE_SIGNING_KEY nor in" in without.stderr
    back = gate.manage(
        "migrate_secure",
        "--rotate-key",
        GATE_SIGNING_KEY=old_key,
        GATE_SIGNING_KEY_FALLBACKS=NEW_KEY,
    )
    assert back.returncode == 1 and "a retired key never comes back" in back.stderr
