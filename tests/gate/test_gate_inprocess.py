"""The gate's pieces inside the test process: audit log, checks, admin, manifest, migrate."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from divisions.scoping import unscoped
from proone.gate import audit, checks
from proone.gate.bootstrap import GATE_MIGRATIONS, PROJECT_MIGRATIONS
from proone.gate.fingerprint import normalised_sha256
from proone.gate.models import AppendOnlyError, AuditEntry

GATE_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "proone" / "gate" / "migrations"


def test_bootstrap_manifest_matches_the_gate_migrations():
    on_disk = {
        path.stem: normalised_sha256(path.read_bytes())
        for path in GATE_MIGRATIONS_DIR.glob("[0-9]*.py")
    }
    assert on_disk == GATE_MIGRATIONS


def test_bootstrap_manifest_matches_the_row_level_security_migrations():
    root = GATE_MIGRATIONS_DIR.parents[2]
    on_disk = {
        label: normalised_sha256(
            (root / label.split(".")[0] / "migrations" / f"{label.split('.')[1]}.py").read_bytes()
        )
        for label in PROJECT_MIGRATIONS
    }
    assert on_disk == PROJECT_MIGRATIONS


def test_normalised_hash_ignores_line_endings_only():
    assert normalised_sha256(b"a\r\nb\rc\n") == normalised_sha256(b"a\nb\nc\n")
    assert normalised_sha256(b"a\nb\n") != normalised_sha256(b"a\nb \n")


ON_POSTGRES = connection.vendor == "postgresql"
APP_ROLE_LOCKED_OUT = pytest.mark.skipif(
    ON_POSTGRES,
    reason="on PostgreSQL the app role holds no privilege on the gate's tables "
    "(test_app_role_holds_no_privilege_on_the_gate_tables); the CLI tests cover the rest",
)


@APP_ROLE_LOCKED_OUT
@pytest.mark.django_db
def test_audit_rows_are_append_only_in_the_orm():
    entry = audit.record("default", "run", "ok", timezone.now(), detail="test")
    entry.outcome = "failed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.get().outcome == "ok"


@APP_ROLE_LOCKED_OUT
@pytest.mark.django_db
def test_audit_chain_links_rows_and_detects_a_removed_row():
    rows = [audit.record("default", "run", "ok", timezone.now(), detail=str(i)) for i in range(3)]
    assert rows[0].prev_hash == audit.GENESIS
    assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
    assert audit.verify_chain("default") == []
    AuditEntry.objects.filter(pk=rows[1].pk)._raw_delete("default")
    problems = audit.verify_chain("default")
    assert problems and "row missing" in problems[0]


AUDIT_ROW = """
INSERT INTO gate_auditentry (event, outcome, database, os_user, host, db_user, git_commit,
    tool_version, app_label, migration_name, sha256, reviewer, acknowledged, detail, error,
    started_at, ended_at, duration_ms, prev_hash, row_hash)
VALUES ('run', 'ok', 'default', 'ops', 'h', '', '', 'v', '', '', '', '', '[]', '', '', now(),
    now(), 0, '', '')
"""


@pytest.mark.postgres
@pytest.mark.django_db
def test_app_role_holds_no_privilege_on_the_gate_tables():
    """Attack: SQL as the app role (what an injection gets) writes a sign-off, an applied hash
    or the audit log. Stops it: the gate revokes every privilege of other roles on its tables
    after each migration run, whatever create_db_roles' default privileges granted."""
    from proone.gate.privileges import gate_relations

    statements = [
        "INSERT INTO gate_signoff (app_label, migration_name, kind, sha256, reviewer_id, "
        "reviewer_username, author, acknowledged, note, created_at) "
        "VALUES ('jobs', '0001_initial', 'apply', 'x', 1, 'x', 'x', '[]', '', now())",
        "UPDATE gate_appliedmigration SET sha256 = 'x'",
        "DELETE FROM gate_auditentry",
        "SELECT count(*) FROM gate_signoff",
        AUDIT_ROW,
    ]
    for statement in statements:
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND ("
            "has_table_privilege(c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,"
            "TRIGGER') OR (c.relkind = 'S' AND has_sequence_privilege(c.oid, 'USAGE,SELECT')))",
            [gate_relations()],
        )
        assert cursor.fetchall() == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_app_role_cannot_mark_a_migration_applied():
    """Attack: SQL as the app role inserts a pending migration into django_migrations, so the
    gate would adopt it as applied and never run it (a security migration skipped). Stops it:
    after each migration run the gate leaves other roles only SELECT on the recorder."""
    attacks = [
        "INSERT INTO django_migrations (app, name, applied) VALUES ('jobs', '9999_skip', now())",
        "DELETE FROM django_migrations WHERE app = 'divisions'",
        "UPDATE django_migrations SET name = name",
        "SELECT nextval('django_migrations_id_seq')",
    ]
    for statement in attacks:
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'divisions'")
        assert cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_create_db_roles_grants_leave_the_gate_tables_out():
    """Re-running create_db_roles' grants (GRANT ... ON ALL TABLES) gives the app role nothing
    on the gate's tables and only SELECT on the tables only migrations write (Django's
    migration recorder, content types, permissions)."""
    import environ
    import psycopg
    from django.conf import settings

    from divisions.dbroles import Role, _grant
    from tests.pg_setup import owner_conninfo, owner_url

    owner = Role.from_settings(environ.Env.db_url_config(owner_url()), "owner")
    app = Role.from_settings(settings.DATABASES["default"], "DATABASE_URL")
    with psycopg.connect(**owner_conninfo(), autocommit=True) as db:
        _grant(db, owner, app)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('gate_signoff', 'INSERT'), "
            "has_table_privilege('jobs_job', 'INSERT'), "
            "has_table_privilege('django_migrations', 'INSERT'), "
            "has_table_privilege('django_migrations', 'SELECT'), "
            "has_table_privilege('django_content_type', 'UPDATE'), "
            "has_table_privilege('django_content_type', 'SELECT'), "
            "has_table_privilege('auth_permission', 'INSERT'), "
            "has_table_privilege('auth_permission', 'SELECT'), "
            "has_sequence_privilege('auth_permission_id_seq', 'USAGE')"
        )
        assert cursor.fetchone() == (False, True, False, True, False, True, False, True, False)


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete_of_audit_rows_to_the_owner():
    """The owner role too meets the append-only trigger (it can drop it: docs/migrations.md
    says the owner is trusted and the anchor outside the database is what catches it)."""
    import psycopg

    from tests.pg_setup import owner_conninfo

    with psycopg.connect(**owner_conninfo()) as owner:
        owner.execute(AUDIT_ROW)
        for statement in (
            "UPDATE gate_auditentry SET outcome = 'failed'",
            "DELETE FROM gate_auditentry",
            "TRUNCATE gate_auditentry",
        ):
            owner.execute("SAVEPOINT attempt")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                owner.execute(statement)
            owner.execute("ROLLBACK TO SAVEPOINT attempt")
        owner.rollback()


def test_env_file_readable_by_others_is_flagged(tmp_path, settings):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=x\n")
    settings.ENV_FILE = env_file
    env_file.chmod(0o644)
    assert [w.id for w in checks.check_env_file(None)] == ["gate.W001"]
    env_file.chmod(0o600)
    assert checks.check_env_file(None) == []


@APP_ROLE_LOCKED_OUT
@pytest.mark.django_db
def test_each_audit_row_appends_its_head_to_the_anchor_and_syslog(tmp_path, monkeypatch):
    import syslog

    sent = []
    monkeypatch.setattr(syslog, "syslog", lambda priority, line: sent.append(line))
    monkeypatch.setenv("GATE_AUDIT_ANCHOR", str(tmp_path / "anchor"))
    monkeypatch.setenv("GATE_AUDIT_SYSLOG", "1")
    rows = [audit.record("default", "run", "ok", timezone.now()) for _ in range(2)]
    lines = (tmp_path / "anchor").read_text().splitlines()
    assert [line.split(" seq=")[1] for line in lines] == [f"{r.pk} head={r.row_hash}" for r in rows]
    assert [line.split(" ", 1)[1] for line in sent] == [line.split(" ", 1)[1] for line in lines]
    assert audit.verify_audit("default", b"k" * 32) == []


def test_gate_key_in_the_apps_environment_is_flagged(monkeypatch):
    monkeypatch.setenv("GATE_SIGNING_KEY", "k" * 40)
    assert [w.id for w in checks.check_gate_key_not_in_app_environment(None)] == ["gate.W005"]
    monkeypatch.delenv("GATE_SIGNING_KEY")
    assert checks.check_gate_key_not_in_app_environment(None) == []


def test_signoff_off_while_debug_off_is_flagged():
    with override_settings(DEBUG=False, MIGRATIONS_REQUIRE_SIGNOFF=False):
        assert [w.id for w in checks.check_signoff_required(None)] == ["gate.W004"]
    with override_settings(DEBUG=False, MIGRATIONS_REQUIRE_SIGNOFF=True):
        assert checks.check_signoff_required(None) == []


def test_migration_credentials_equal_to_the_apps_are_flagged(monkeypatch):
    from django.db import connections

    fake = {
        "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "p", "USER": "app"},
        "migrate": {"ENGINE": "django.db.backends.postgresql", "NAME": "p", "USER": "app"},
    }
    monkeypatch.setattr(connections, "settings", fake)
    assert [w.id for w in checks.check_migration_credentials(None)] == ["gate.W002"]
    fake["migrate"] = {**fake["migrate"], "USER": "owner"}
    assert checks.check_migration_credentials(None) == []
    del fake["migrate"]
    assert [w.id for w in checks.check_migration_credentials(None)] == ["gate.W003"]


@pytest.mark.django_db
def test_plain_migrate_refuses_when_signoff_is_required():
    """A plain `migrate` in a protected environment is refused, and the refusal is audited."""
    with (
        override_settings(MIGRATIONS_REQUIRE_SIGNOFF=True),
        pytest.raises(CommandError, match="migrate_secure") as refused,
    ):
        call_command("migrate", "jobs", verbosity=0)
    if connection.vendor == "postgresql":
        # The app role holds no privilege on the audit log, so it says so instead.
        assert "could not be audited: permission denied" in str(refused.value)
        return
    (entry,) = AuditEntry.objects.filter(event="migrate")
    assert entry.outcome == "refused" and entry.detail == "plain migrate jobs"


def test_migrate_command_is_the_gates():
    from django.core.management import get_commands

    assert get_commands()["migrate"] == "proone.gate"


@pytest.mark.postgres
@pytest.mark.django_db
def test_gate_admin_pages_are_hidden_from_the_app_role(admin_client):
    """On PostgreSQL the app role cannot read the gate's tables: the pages say 403, never 500."""
    assert admin_client.get("/admin/gate/auditentry/").status_code == 403
    assert admin_client.get("/admin/gate/signoff/").status_code == 403
    assert admin_client.get("/admin/gate/auditentry/pending/").status_code == 403
    assert b"Migration gate" not in admin_client.get("/admin/").content


@APP_ROLE_LOCKED_OUT
@pytest.mark.django_db
def test_admin_pages_are_read_only(admin_client):
    assert admin_client.get("/admin/gate/auditentry/").status_code == 200
    assert admin_client.get("/admin/gate/signoff/").status_code == 200
    assert admin_client.get("/admin/gate/auditentry/add/").status_code == 403
    assert admin_client.get("/admin/gate/signoff/add/").status_code == 403
    entry = audit.record("default", "run", "ok", timezone.now())
    page = admin_client.get(f"/admin/gate/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert admin_client.post(f"/admin/gate/auditentry/{entry.pk}/delete/").status_code == 403
    pending = admin_client.get("/admin/gate/auditentry/pending/")
    assert pending.status_code == 200
    assert b"Pending migrations" in pending.content


@pytest.mark.django_db
def test_pending_page_needs_a_staff_user(client, django_user_model):
    with unscoped("test setup"):
        user = django_user_model.objects.create_user("plain", password="pw-plain-123")
    client.force_login(user)
    assert client.get("/admin/gate/auditentry/pending/").status_code == 302
