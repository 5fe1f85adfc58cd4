"""
The squashed migrations through the gate, on a database the released history migrated (SQLite
here; tests/divisions/test_database_source.py runs the same history on PostgreSQL): the plan
names only the migrations generated since the squash, one release review signs them, the gate
applies them and the squashed migrations count as applied, and nothing runs twice.
"""

import shutil
import sqlite3

import pytest

from tests.history import SQUASHED, added_since, generated_since, released_checkout

from .conftest import CREATE_USERS, base_env, manage, release


@pytest.fixture(scope="module")
def released_db(tmp_path_factory):
    """A database migrated by the released checkout, with the gate's reviewers."""
    checkout = released_checkout(tmp_path_factory.mktemp("released"))
    db = tmp_path_factory.mktemp("history") / "db.sqlite3"
    env = dict(base_env(db), PYTHONPATH=str(checkout))
    for args in (("migrate", "--noinput"), ("shell", "-c", CREATE_USERS)):
        result = manage(env, *args, cwd=checkout)
        assert result.returncode == 0, result.stderr
    return db


def recorded(db):
    with sqlite3.connect(db) as connection:
        return set(connection.execute("SELECT app, name FROM django_migrations"))


def test_the_released_history_moves_on_through_the_gate(released_db, tmp_path):
    db = tmp_path / "db.sqlite3"
    shutil.copy(released_db, db)
    env = base_env(db)
    before = recorded(db)
    assert ("divisions", "0015_title_search_merge_planned_once") in before
    assert not SQUASHED & before

    plan = manage(env, "migrate_secure", "--plan")
    assert plan.returncode == 1, plan.stderr
    pending = [
        line.split()[0]
        for line in plan.stdout.splitlines()
        if line.split() and line.split()[0].startswith(("divisions.", "jobs.", "api.", "submits."))
    ]
    generated = [f"divisions.{name}" for name in generated_since()]
    assert generated[0] == "divisions.0016_unused_functions_removed"
    added = sorted(f"{app}.{name}" for app, name in added_since())
    assert set(generated) <= set(added)
    assert sorted(pending) == added, plan.stdout

    signed = release(env, "--acknowledge-findings")
    assert signed.returncode == 0, signed.stderr
    for label in added:
        assert label in signed.stdout
    applied = manage(env, "migrate_secure", "--noinput")
    assert applied.returncode == 0, applied.stderr
    assert recorded(db) - before == SQUASHED | added_since()
    with sqlite3.connect(db) as connection:
        runs = connection.execute(
            "SELECT app_label || '.' || migration_name FROM gate_auditentry "
            "WHERE event = 'apply' AND outcome = 'ok'"
        ).fetchall()
    assert sorted(label for (label,) in runs) == added
    again = manage(env, "migrate_secure", "--plan")
    assert again.returncode == 0, again.stdout + again.stderr
    verified = manage(env, "migrate_secure", "--verify-audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.fixture(scope="module")
def part_way_db(tmp_path_factory):
    """A database the released checkout migrated only to jobs 0003 (divisions 0005)."""
    checkout = released_checkout(tmp_path_factory.mktemp("part-way"))
    db = tmp_path_factory.mktemp("part-way-db") / "db.sqlite3"
    env = dict(base_env(db), PYTHONPATH=str(checkout))
    for args in (
        ("migrate", "--noinput", "jobs", "0003_jobnote"),
        ("migrate", "--noinput", "gate"),
    ):
        result = manage(env, *args, cwd=checkout)
        assert result.returncode == 0, result.stderr
    return db


def test_a_database_part_way_through_the_squashed_history_is_refused(part_way_db, tmp_path):
    """Mistake: deploying this release over a database that the release before it left part
    way (jobs 0003: the squashes would create what is there or miss what is not). Refused in
    one line naming the release to finish with; nothing applied."""
    db = tmp_path / "db.sqlite3"
    shutil.copy(part_way_db, db)
    env = base_env(db)
    before = recorded(db)
    plan = manage(env, "migrate_secure", "--plan")
    assert plan.returncode == 1
    assert (
        "of the 4 migrations jobs.0003_squashed_0006_notes replaces (up to jobs.0003_jobnote)"
        in (plan.stdout + plan.stderr)
    )
    assert "Traceback" not in plan.stderr
    plain = manage(env, "migrate", "--noinput")
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "apply the rest with the release that still has them" in plain.stderr
    assert recorded(db) == before
