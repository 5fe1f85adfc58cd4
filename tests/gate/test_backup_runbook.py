"""docs/operations.md, "Backups and restores", run as printed against a throwaway PostgreSQL
of its own: a dump and its restore, a base backup with WAL archiving and its point-in-time
restore, each of an older state, each recorded with `migrate_secure --record-restore`."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.postgres_server import PG_BIN, ThrowawayServer, url_with

from .conftest import REPO

pytestmark = pytest.mark.postgres

REASON = "the disk of db1 failed; restored the last backup"


def blocks():
    """The shell blocks of the "Backups and restores" section, in order, as printed."""
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## Backups and restores", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


class Host:
    """The database host and the operator's shell of one deployment on a throwaway server."""

    def __init__(self, server, admin_url):
        self.server = server
        self.admin_url = admin_url
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "PROONE_", "DJANGO_", "GATE_", "PG"))
        }
        self.env.update(
            PY=sys.executable,
            PATH=os.pathsep.join(
                [str(PG_BIN), str(Path(sys.executable).parent), os.environ["PATH"]]
            ),
            DJANGO_SETTINGS_MODULE="proone.settings",
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_ADMIN_URL=admin_url,
            DATABASE_URL=url_with(admin_url, "proone_app", secrets.token_urlsafe(16), "proone"),
            DATABASE_MIGRATE_URL=url_with(
                admin_url, "proone_owner", secrets.token_urlsafe(16), "proone"
            ),
            GATE_SIGNING_KEY=secrets.token_hex(32),
            GATE_AUDIT_ANCHOR=str(server.directory.parent / f"{server.directory.name}.anchor"),
            BACKUP_URL=admin_url.rsplit("/", 1)[0] + "/proone",
            BACKUP_DIR=str(server.directory),
            PGDATA=str(server.data),
            WAL_ARCHIVE=str(server.directory / "wal-archive"),
            BASE_BACKUP=str(server.directory / "base-backup"),
            REASON=REASON,
        )

    def operator(self, script, **extra):
        """`script` in the operator's shell (root here), from the checkout."""
        return subprocess.run(  # noqa: S603
            ["bash", "-e", "-c", script],  # noqa: S607
            cwd=REPO,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def postgres(self, script, **extra):
        """`script` as the `postgres` user on the database host (its output in a file: a
        server it starts keeps its standard output open)."""
        log = self.server.directory / "runbook.log"
        with open(log, "a") as output:
            result = subprocess.run(  # noqa: S603
                ["runuser", "-u", "postgres", "--", "bash", "-e", "-c", script],  # noqa: S607
                cwd=self.server.directory,
                env={**self.env, **extra},
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=600,
                check=False,
            )
        assert result.returncode == 0, log.read_text()[-3000:]

    def manage(self, *args):
        return self.operator(" ".join(["python", "manage.py", *args]))

    def newest(self):
        with psycopg.connect(self.env["BACKUP_URL"].replace("postgres://", "postgresql://")) as db:
            return db.execute("SELECT max(id) FROM gate_auditentry").fetchone()[0]

    def write_rows(self):
        """More audit rows, anchored: a run (refused: nothing is signed off)."""
        before = self.newest()
        run = self.manage("migrate_secure", "--noinput")
        assert run.returncode == 1
        assert self.newest() > before, run.stderr
        return self.newest()


@pytest.fixture(scope="module")
def host():
    server = ThrowawayServer()
    try:
        admin_url = server.start()
        host = Host(server, admin_url)
        for step in ("roles", "bootstrap"):
            result = host.operator(f"sh docs/deploy-runbook.sh {step}")
            assert result.returncode == 0, result.stderr
        yield host
    finally:
        server.stop()


def recorded(host, kept, lost):
    """The restore is reported as tampering until recorded; then it verifies."""
    before = host.manage("migrate_secure", "--verify-audit")
    assert before.returncode == 1
    assert f"rows {kept + 1}..{lost} are missing" in before.stderr
    # The first block that records a restore (a later one is for a backup from before a
    # rotation of the gate's key: tests/gate/test_key_anchor.py).
    record = host.operator(next(block for block in blocks() if "--record-restore" in block))
    assert record.returncode == 0, record.stderr
    assert (
        f"to row {kept}; rows {kept + 1}..{lost} recorded in the anchor were lost with the "
        "restore" in record.stdout
    )
    assert "Audit log chain intact." in record.stdout


def test_a_dump_of_an_older_state_restored_and_recorded(host):
    dump, restore = blocks()[0:2]
    made = host.operator(dump)
    assert made.returncode == 0, made.stderr
    kept = host.newest()
    lost = host.write_rows()
    restored = host.operator(restore)
    assert restored.returncode == 0, restored.stderr
    assert host.newest() == kept
    recorded(host, kept, lost)


def test_a_base_backup_restored_to_a_point_in_time_and_recorded(host):
    archive, backup, restore = blocks()[2:5]
    server = host.server
    os.makedirs(host.env["WAL_ARCHIVE"], exist_ok=True)
    shutil.chown(host.env["WAL_ARCHIVE"], "postgres")
    # The throwaway server's own settings, kept in the data directory (and so in the backup).
    with psycopg.connect(
        host.admin_url.replace("postgres://", "postgresql://"), autocommit=True
    ) as db:
        for name, value in (
            ("port", server.port),
            ("max_connections", 200),
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", str(server.directory)),
        ):
            db.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    host.postgres(archive)
    host.postgres(backup)
    host.write_rows()  # archived WAL after the backup, kept by the restore
    time.sleep(1.5)
    with psycopg.connect(host.env["BACKUP_URL"].replace("postgres://", "postgresql://")) as db:
        restore_to = db.execute("SELECT now()::text").fetchone()[0]
    kept = host.newest()
    time.sleep(1.5)
    lost = host.write_rows()
    host.postgres(restore, RESTORE_TO=restore_to)
    assert host.newest() == kept
    recorded(host, kept, lost)
