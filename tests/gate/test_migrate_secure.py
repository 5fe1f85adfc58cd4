"""migrate_secure and signoff_migration, run as an operator runs them (subprocesses, SQLite)."""

import fcntl
import subprocess
import sys

from proone.gate.fingerprint import normalised_sha256
from proone.gate.models import SignOff
from proone.gate.signing import gate_key, sign

from .conftest import REPO, base_env

WIDGETS = "sampleapp_widget"


def test_unsigned_migration_is_refused_and_nothing_applied(gate):
    result = gate.migrate()
    assert result.returncode == 1
    assert "REFUSED: nothing was applied to the database " in result.stderr
    assert "sampleapp.0001_initial: no sign-off" in result.stderr
    assert "signoff_migration sampleapp 0001_initial --reviewer" in result.stderr
    assert "Traceback" not in result.stderr
    assert WIDGETS not in gate.tables()
    assert gate.audit(event="run", outcome="refused")
    # A plan applies nothing anyway: it says what migrate_secure would do.
    plan = gate.manage("migrate_secure", "--plan")
    assert plan.returncode == 1
    assert "REFUSED: migrate_secure would refuse the database " in plan.stderr
    assert "nothing was applied" not in plan.stderr


def test_signed_migration_is_applied_and_audited(gate):
    signed = gate.signoff("0001_initial", "--note", "reviewed in MR 12")
    assert signed.returncode == 0, signed.stderr
    assert "Alice Author <alice@example.com>" in signed.stdout

    result = gate.migrate()
    assert result.returncode == 0, result.stderr
    assert WIDGETS in gate.tables()
    (applied,) = gate.audit(event="apply", migration_name="0001_initial", outcome="ok")
    assert applied["outcome"] == "ok" and applied["reviewer"] == "rita"
    assert applied["os_user"] and applied["host"] and len(applied["sha256"]) == 64
    assert gate.audit(event="run", outcome="ok")

    again = gate.migrate()
    assert again.returncode == 0
    assert "No migrations to apply" in again.stdout
    assert gate.audit(event="run", outcome="nothing to do")
    assert gate.manage("migrate_secure", "--verify-audit").returncode == 0


def test_file_edited_after_signoff_voids_the_signoff(gate):
    assert gate.signoff("0001_initial").returncode == 0
    gate.edit("0001_initial.py")
    result = gate.migrate()
    assert result.returncode == 1
    assert "sampleapp.0001_initial: the sign-off by rita is void" in result.stderr
    assert WIDGETS not in gate.tables()
    plan = gate.manage("migrate_secure", "--plan")
    assert "void (file changed)" in plan.stdout


def test_line_endings_do_not_change_the_hash(gate):
    assert gate.signoff("0001_initial").returncode == 0
    path = gate.migrations / "0001_initial.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert gate.migrate().returncode == 0


def test_author_cannot_sign_off_their_own_migration(gate):
    result = gate.signoff("0001_initial", reviewer="alice")
    assert result.returncode == 1
    assert "'alice' is an author of sampleapp.0001_initial" in result.stderr
    assert "Ask another reviewer" in result.stderr
    assert gate.audit(event="signoff", outcome="refused", reviewer="alice")


def test_every_committer_of_the_file_counts_as_an_author(gate):
    gate.edit("0001_initial.py")
    gate.git("commit", "-q", "-am", "tweak", author="Rita Reviewer <rita@example.com>")
    result = gate.signoff("0001_initial", reviewer="rita")
    assert result.returncode == 1
    assert "is an author" in result.stderr


def test_reviewer_with_wrong_password_without_permission_or_inactive_is_refused(gate):
    wrong = gate.signoff("0001_initial", password="not-it")
    assert wrong.returncode == 1 and "Wrong password for reviewer 'rita'" in wrong.stderr
    no_perm = gate.signoff("0001_initial", reviewer="nope")
    assert no_perm.returncode == 1
    assert "lacks the permission 'Can sign off a migration'" in no_perm.stderr
    inactive = gate.signoff("0001_initial", reviewer="gone")
    assert inactive.returncode == 1 and "inactive" in inactive.stderr
    assert gate.query("SELECT count(*) FROM gate_signoff") == [(0,)]
    assert len(gate.audit(event="signoff", outcome="refused")) == 3
    assert gate.migrate().returncode == 1


def test_destructive_migration_needs_acknowledgement(gate):
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate().returncode == 0
    gate.add_migration("0002_remove_widget_note.py", models="models_dropped.py")

    refused = gate.signoff("0002_remove_widget_note")
    assert refused.returncode == 1
    assert "MG102" in refused.stderr and "--acknowledge-findings" in refused.stderr
    plan = gate.manage("migrate_secure", "--plan")
    assert plan.returncode == 1 and "MG102" in plan.stdout and "missing" in plan.stdout

    # The former name of --acknowledge-findings keeps working for existing scripts.
    signed = gate.signoff("0002_remove_widget_note", "--acknowledge-destructive")
    assert signed.returncode == 0, signed.stderr
    assert gate.migrate().returncode == 0
    assert "note" not in gate.columns(WIDGETS)
    (applied,) = gate.audit(event="apply", migration_name="0002_remove_widget_note", outcome="ok")
    assert applied["acknowledged"] == ["MG102"]


def test_signoff_without_the_needed_acknowledgement_does_not_count(gate):
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate().returncode == 0
    gate.add_migration("0002_remove_widget_note.py", models="models_dropped.py")
    # A correctly signed sign-off row bound to the right hash but acknowledging nothing (e.g.
    # made by an older release of the gate, before this rule existed).
    sha = normalised_sha256((gate.migrations / "0002_remove_widget_note.py").read_bytes())
    (rita,) = gate.query("SELECT id FROM divisions_user WHERE username='rita'")[0]
    row = SignOff(
        app_label="sampleapp",
        migration_name="0002_remove_widget_note",
        kind="apply",
        sha256=sha,
        reviewer_id=rita,
        reviewer_username="rita",
        author="x",
        acknowledged=[],
    )
    gate.query(
        "INSERT INTO gate_signoff (app_label, migration_name, kind, sha256, reviewer_id, "
        "reviewer_username, author, acknowledged, note, created_at, signature) VALUES "
        "('sampleapp', '0002_remove_widget_note', 'apply', ?, ?, 'rita', 'x', '[]', '', "
        "'2026-01-01', ?)",
        sha,
        rita,
        sign(row, gate_key()),
    )
    result = gate.migrate()
    assert result.returncode == 1
    assert "does not acknowledge MG102" in result.stderr
    assert "note" in gate.columns(WIDGETS)


def test_applied_migration_changed_later_blocks_the_run(gate):
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate().returncode == 0
    gate.edit("0001_initial.py")
    result = gate.migrate()
    assert result.returncode == 1
    assert "sampleapp.0001_initial was applied from a file with hash" in result.stderr
    assert "Never edit an applied migration" in result.stderr


def test_model_changes_without_a_migration_block_the_run(gate):
    assert gate.signoff("0001_initial").returncode == 0
    gate.add_migration("0001_initial.py", models="models_drift.py")
    result = gate.migrate()
    assert result.returncode == 1
    assert "App 'sampleapp' has model changes without a migration" in result.stderr
    assert "makemigrations sampleapp" in result.stderr
    assert WIDGETS not in gate.tables()


def test_two_concurrent_runs_apply_each_migration_once(gate):
    gate.add_migration("0002_slow_data.py")
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.signoff("0002_slow_data", "--acknowledge-destructive").returncode == 0
    env = base_env(gate.db, gate.apps)
    command = ["manage.py", "migrate_secure", "--noinput", "--lock-wait", "60"]
    runs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, *command],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert gate.query(f"SELECT name FROM {WIDGETS}") == [("made once",)]
    for name in ("0001_initial", "0002_slow_data"):
        assert len(gate.audit(event="apply", migration_name=name, outcome="ok")) == 1
        assert gate.query(
            "SELECT count(*) FROM django_migrations WHERE app='sampleapp' AND name=?", name
        ) == [(1,)]
    assert len(gate.audit(event="run", outcome="ok")) == 1
    assert len(gate.audit(event="run", outcome="nothing to do")) == 1


def test_plain_migrate_refused_in_a_protected_environment(gate):
    gate.protected = True
    result = gate.manage("migrate", "--noinput")
    assert result.returncode == 1
    assert "migrate_secure" in result.stderr and "Traceback" not in result.stderr
    assert "not audited" not in result.stderr
    assert WIDGETS not in gate.tables()
    (refusal,) = gate.audit(event="migrate")
    assert refusal["outcome"] == "refused" and "MIGRATIONS_REQUIRE_SIGNOFF" in refusal["error"]


def test_plain_migrate_works_when_signoff_is_not_required(gate):
    assert gate.manage("migrate", "--noinput").returncode == 0
    assert WIDGETS in gate.tables()


def test_protected_environment_applies_only_committed_files(gate):
    gate.protected = True
    gate.add_migration("0002_remove_widget_note.py", models="models_dropped.py", commit=False)
    refused = gate.signoff("0002_remove_widget_note", "--acknowledge-destructive")
    assert refused.returncode == 1 and "is not committed" in refused.stderr
    assert gate.signoff("0001_initial").returncode == 0
    gate.edit("0001_initial.py", "\n")  # uncommitted, and it voids nothing else
    result = gate.migrate("sampleapp", "0001_initial")
    assert result.returncode == 1
    assert "applies only committed migration files" in result.stderr


def test_going_backwards_and_fake_need_their_own_signoff(gate):
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate().returncode == 0

    back = gate.migrate("sampleapp", "zero")
    assert back.returncode == 1
    assert "no sign-off to unapply it" in back.stderr and "--privileged unapply" in back.stderr
    assert WIDGETS in gate.tables()
    assert gate.signoff("0001_initial", "--privileged", "unapply").returncode == 0
    assert gate.migrate("sampleapp", "zero").returncode == 0
    assert WIDGETS not in gate.tables()
    assert gate.audit(event="unapply", outcome="ok")

    fake = gate.migrate("--fake")
    assert fake.returncode == 1 and "no sign-off to fake it" in fake.stderr
    assert gate.signoff("0001_initial", "--privileged", "fake").returncode == 0
    assert gate.migrate("--fake").returncode == 0
    assert WIDGETS not in gate.tables()
    assert gate.audit(event="fake", outcome="ok")


def test_bad_input_gives_a_clear_command_error(gate):
    cases = [
        (("migrate_secure", "nosuchapp"), "no installed app with the label 'nosuchapp'"),
        (("migrate_secure", "sampleapp", "0099"), "has no migration named '0099'"),
        (("migrate_secure", "--database", "nope"), "no database 'nope'"),
    ]
    for args, message in cases:
        result = gate.manage(*args, "--noinput")
        assert result.returncode == 1, args
        assert message in result.stderr and "Traceback" not in result.stderr
    refused_runs = gate.audit(event="run", outcome="refused")
    assert any("no installed app with the label" in run["error"] for run in refused_runs)
    unknown = gate.signoff("0001_initial", reviewer="nobody")
    assert unknown.returncode == 1 and "There is no user named 'nobody'" in unknown.stderr
    no_stdin = gate.manage("signoff_migration", "sampleapp", "0001_initial", "--reviewer", "rita")
    assert no_stdin.returncode == 1 and "--password-stdin" in no_stdin.stderr


def test_plan_shows_sql_and_applies_nothing(gate):
    assert gate.signoff("0001_initial").returncode == 0
    result = gate.manage("migrate_secure", "--plan", "--sql")
    assert result.returncode == 0, result.stderr
    assert "sampleapp.0001_initial" in result.stdout and "valid (rita" in result.stdout
    assert 'CREATE TABLE "sampleapp_widget"' in result.stdout
    assert WIDGETS not in gate.tables()


def test_rehearse_is_refused_clearly_on_sqlite(gate):
    result = gate.manage("migrate_secure", "--rehearse")
    assert result.returncode == 1
    assert "--rehearse needs PostgreSQL" in result.stderr


def test_tampered_audit_row_breaks_the_chain(gate):
    assert gate.signoff("0001_initial").returncode == 0
    assert gate.migrate().returncode == 0
    assert gate.manage("migrate_secure", "--verify-audit").returncode == 0
    gate.query("UPDATE gate_auditentry SET reviewer='mallory' WHERE event='apply'")
    result = gate.manage("migrate_secure", "--verify-audit")
    assert result.returncode == 1 and "row altered" in result.stderr


def test_bootstrap_installs_the_gate_on_an_empty_database(gate):
    gate.db.unlink()
    before = gate.migrate()
    assert before.returncode == 1 and "--bootstrap" in before.stderr
    result = gate.manage("migrate_secure", "--bootstrap")
    assert result.returncode == 0, result.stderr
    assert {"gate_signoff", "gate_auditentry", "divisions_user"} <= gate.tables()
    assert "jobs_job" not in gate.tables()
    assert gate.audit(event="bootstrap", migration_name="0001_initial", app_label="gate")
    assert gate.manage("migrate_secure", "--bootstrap").returncode == 1


def test_busy_lock_refuses_after_the_timeout_and_is_audited(gate):
    assert gate.signoff("0001_initial").returncode == 0
    with open(f"{gate.db}.migrate.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.write("pid 4242 since 2026-01-01 00:00:00 UTC")
        handle.flush()
        result = gate.migrate("--lock-wait", "0.5")
    assert result.returncode == 1
    assert (
        "The migration lock is held by pid 4242 since 2026-01-01 00:00:00 UTC; gave up after "
        "--lock-wait 0.5 s"
    ) in result.stderr
    assert WIDGETS not in gate.tables()
    assert gate.audit(event="run", outcome="refused")
    assert gate.migrate().returncode == 0
