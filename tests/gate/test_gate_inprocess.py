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


@pytest.mark.django_db
def test_audit_rows_are_append_only_in_the_orm():
    entry = audit.record("default", "run", "ok", timezone.now(), detail="test")
    entry.outcome = "failed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.get().outcome == "ok"


@pytest.mark.django_db
def test_audit_chain_links_rows_and_detects_a_removed_row():
    rows = [audit.record("default", "run", "ok", timezone.now(), detail=str(i)) for i in range(3)]
    assert rows[0].prev_hash == audit.GENESIS
    assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
    assert audit.verify_chain("default") == []
    if connection.vendor == "postgresql":
        return  # the trigger forbids the raw delete below; see the PostgreSQL test
    AuditEntry.objects.filter(pk=rows[1].pk)._raw_delete("default")
    problems = audit.verify_chain("default")
    assert problems and "row missing" in problems[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_update_and_delete_of_audit_rows():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    entry = audit.record("default", "run", "ok", timezone.now())
    for statement in (
        "UPDATE gate_auditentry SET outcome = 'failed'",
        "DELETE FROM gate_auditentry",
        "TRUNCATE gate_auditentry",
    ):
        with (
            # The trigger refuses; TRUNCATE is refused earlier still to the app role, which
            # holds no TRUNCATE privilege (docs/security.md).
            pytest.raises(DatabaseError, match="append-only|permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).outcome == "ok"


def test_env_file_readable_by_others_is_flagged(tmp_path, settings):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=x\n")
    settings.ENV_FILE = env_file
    env_file.chmod(0o644)
    assert [w.id for w in checks.check_env_file(None)] == ["gate.W001"]
    env_file.chmod(0o600)
    assert checks.check_env_file(None) == []


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
