"""signoff_release: one review and one password for every pending project migration (SQLite)."""

import json
import sqlite3

import pytest

from proone.gate.fingerprint import normalised_sha256
from proone.gate.models import SignOff
from proone.gate.signing import gate_key, signature_valid

from .conftest import PASSWORD, base_env, manage
from .conftest import release as run_release

BOB = "Bob Builder <bob@example.com>"


@pytest.fixture
def release_gate(gate):
    """Two pending migrations of the sample app: 0001 by Alice, 0002 (drops a field) by Bob."""
    gate.add_migration("0002_remove_widget_note.py", models="models_dropped.py", author=BOB)
    return gate


def release(gate, *extra, **reviewer):
    return run_release(gate.env(), *extra, **reviewer)


def signoffs(query):
    """Every sign-off row as a SignOff instance (unsaved), oldest first."""
    rows = query(
        "SELECT app_label, migration_name, kind, sha256, reviewer_id, reviewer_username, author, "
        "acknowledged, signature FROM gate_signoff ORDER BY id"
    )
    return [
        SignOff(
            app_label=app,
            migration_name=name,
            kind=kind,
            sha256=sha,
            reviewer_id=reviewer,
            reviewer_username=username,
            author=author,
            acknowledged=json.loads(acknowledged),
            signature=signature,
        )
        for app, name, kind, sha, reviewer, username, author, acknowledged, signature in rows
    ]


def one_line_refusal(result, *fragments):
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: "), result.stderr
    for fragment in fragments:
        assert fragment in last, last
    return last


def test_one_password_signs_off_each_pending_migration_bound_to_its_file(release_gate):
    gate = release_gate
    result = release(gate, "--acknowledge-findings", "--note", "MR 7")
    assert result.returncode == 0, result.stderr
    assert "This release has 2 migrations to sign off:" in result.stdout
    assert "Signed off 2 migrations as rita." in result.stdout

    rows = signoffs(gate.query)
    names = ["0001_initial", "0002_remove_widget_note"]
    assert [(s.app_label, s.migration_name) for s in rows] == [("sampleapp", n) for n in names]
    for signoff, name in zip(rows, names, strict=True):
        file_hash = normalised_sha256((gate.migrations / f"{name}.py").read_bytes())
        assert signoff.sha256 == file_hash
        assert signoff.kind == SignOff.Kind.APPLY and signoff.reviewer_username == "rita"
        assert signature_valid(signoff, gate_key())
    assert "Alice Author <alice@example.com>" in rows[0].author
    assert "Bob Builder <bob@example.com>" in rows[1].author
    assert rows[0].acknowledged == [] and rows[1].acknowledged == ["MG102"]
    notes = gate.query("SELECT note FROM gate_signoff")
    assert notes == [("release review of 2 migrations. MR 7",)] * 2
    assert [e["migration_name"] for e in gate.audit(event="signoff", outcome="ok")] == names

    assert gate.migrate().returncode == 0
    again = release(gate)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Nothing to sign off")


def test_an_author_of_any_of_them_refuses_the_whole_release(release_gate):
    gate = release_gate
    result = release(gate, "--acknowledge-findings", reviewer="alice")
    last = one_line_refusal(
        result, "'alice' is an author of sampleapp.0001_initial", "Ask another reviewer"
    )
    assert "0002_remove_widget_note" not in last  # Bob's alone: not hers
    assert gate.query("SELECT count(*) FROM gate_signoff") == [(0,)]
    (refusal,) = gate.audit(event="signoff", outcome="refused")
    assert refusal["reviewer"] == "alice"


def test_findings_are_listed_before_the_password_and_need_acknowledgement(release_gate):
    gate = release_gate
    # Findings refuse the review after the list and before any password is asked: no
    # terminal is needed to be told.
    unacknowledged = gate.manage("signoff_release", "--reviewer", "rita")
    one_line_refusal(unacknowledged, "run again with --acknowledge-findings")
    assert "sampleapp.0001_initial" in unacknowledged.stdout
    assert "sampleapp.0002_remove_widget_note" in unacknowledged.stdout
    assert "    MG102 Remove field note from widget" in unacknowledged.stdout
    # Acknowledged, with no terminal and no --password-stdin: refused at the prompt.
    unprompted = gate.manage("signoff_release", "--reviewer", "rita", "--acknowledge-findings")
    one_line_refusal(unprompted, "No terminal to ask the password on")

    result = release(gate)
    one_line_refusal(
        result,
        "1 of these migrations has findings that need acknowledgement",
        "sampleapp.0002_remove_widget_note (MG102)",
        "run again with --acknowledge-findings",
    )
    # Not even the migration without findings is signed.
    assert gate.query("SELECT count(*) FROM gate_signoff") == [(0,)]


@pytest.mark.parametrize(
    "password, reviewer, message",
    [
        ("not-it", "rita", "Wrong password for reviewer 'rita'"),
        (PASSWORD, "nope", "lacks the permission"),
        (PASSWORD, "gone", "inactive"),
        (PASSWORD, "nobody", "There is no user named 'nobody'"),
    ],
)
def test_a_bad_reviewer_signs_nothing_and_is_told_in_one_line(
    release_gate, password, reviewer, message
):
    gate = release_gate
    result = release(gate, "--acknowledge-findings", password=password, reviewer=reviewer)
    one_line_refusal(result, message)
    assert gate.query("SELECT count(*) FROM gate_signoff") == [(0,)]
    assert [e["outcome"] for e in gate.audit(event="signoff")] == ["refused"]


def test_installed_packages_migrations_are_not_part_of_a_release(bootstrapped_db, tmp_path):
    db = tmp_path / "db.sqlite3"
    db.write_bytes(bootstrapped_db.read_bytes())
    env = base_env(db)

    def query(sql):
        with sqlite3.connect(db) as connection:
            return connection.execute(sql).fetchall()

    result = run_release(env, "--acknowledge-findings")
    assert result.returncode == 0, result.stderr
    signed = {f"{s.app_label}.{s.migration_name}" for s in signoffs(query)}
    assert signed and all(label in result.stdout for label in signed)
    for package_migration in ("admin.0001_initial", "sessions.0001_initial", "axes.0001_initial"):
        assert package_migration not in signed
        assert package_migration not in result.stdout
    plan = manage(env, "migrate_secure", "--plan")
    assert "axes.0001_initial (from django-axes==" in plan.stderr  # still the packages' review
    assert "no sign-off to apply it" not in plan.stderr  # every project migration is signed
