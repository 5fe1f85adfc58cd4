"""signoff_packages: installed packages' migrations reviewed as one set (subprocesses, SQLite)."""

import json
import sqlite3

import pytest

from proone.gate.models import SignOff
from proone.gate.signing import gate_key, sign

from .conftest import PASSWORD, base_env, manage


@pytest.fixture
def env(bootstrapped_db, tmp_path):
    db = tmp_path / "db.sqlite3"
    db.write_bytes(bootstrapped_db.read_bytes())
    return base_env(db)


def review(env, *extra, password=PASSWORD, reviewer="rita"):
    return manage(
        env,
        "signoff_packages",
        "--reviewer",
        reviewer,
        "--password-stdin",
        *extra,
        stdin=password + "\n",
    )


def query(env, sql):
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def resign(env, where):
    """Sign the rows matching `where` again with the gate key, as a genuine review would."""
    rows = query(
        env,
        "SELECT id, app_label, migration_name, kind, sha256, reviewer_id, reviewer_username, "
        f"author, acknowledged FROM gate_signoff WHERE {where}",
    )
    for pk, app, name, kind, sha, reviewer, username, author, acknowledged in rows:
        signoff = SignOff(
            app_label=app,
            migration_name=name,
            kind=kind,
            sha256=sha,
            reviewer_id=reviewer,
            reviewer_username=username,
            author=author,
            acknowledged=json.loads(acknowledged),
        )
        query(
            env,
            f"UPDATE gate_signoff SET signature = '{sign(signoff, gate_key())}' WHERE id = {pk}",
        )


def package_states(env):
    plan = manage(env, "migrate_secure", "--plan").stdout
    return {
        line.split()[0]: line.split()[2]
        for line in plan.splitlines()
        if line.split()
        and line.split()[0].startswith(("admin.", "sessions.", "guardian.", "axes."))
    }


def test_one_review_signs_off_every_pending_package_migration_bound_to_its_release(env):
    """One password covers admin, sessions, guardian and axes; each row names its release."""
    assert set(package_states(env).values()) == {"missing"}
    result = review(env, "--acknowledge-findings", "--note", "first deploy")
    assert result.returncode == 0, result.stderr
    for release in ("Django==", "django-guardian==", "django-axes=="):
        assert release in result.stdout
    assert "axes.0005_remove_accessattempt_trusted" in result.stdout
    assert "sha256" in result.stdout
    # axes.0007 adds a unique constraint to a table axes.0001 creates in the same plan.
    assert "axes.0007_alter_accessattempt_unique_together" in result.stdout
    assert "MG107" not in result.stdout

    states = package_states(env)
    assert states and set(states.values()) == {"valid"}
    authors = {row[0].split("==")[0] for row in query(env, "SELECT author FROM gate_signoff")}
    assert authors == {
        "installed package Django",
        "installed package django-guardian",
        "installed package django-axes",
    }
    # The project's own migrations are not part of a package review.
    assert not query(env, "SELECT 1 FROM gate_signoff WHERE app_label IN ('divisions', 'jobs')")
    again = review(env)
    assert again.returncode == 1
    assert "nothing signed" in again.stderr.strip().splitlines()[-1]


def test_a_new_package_version_or_a_changed_file_voids_the_review(env):
    """A sign-off recorded for another release, or another hash, is no sign-off for this one."""
    assert review(env, "--acknowledge-findings").returncode == 0
    query(
        env,
        "UPDATE gate_signoff SET author = 'installed package Django==5.1.0' "
        "WHERE app_label = 'admin' AND migration_name = '0001_initial'",
    )
    query(
        env,
        "UPDATE gate_signoff SET sha256 = 'ab' || substr(sha256, 3) "
        "WHERE app_label = 'sessions' AND migration_name = '0001_initial'",
    )
    # Rows edited by SQL fail their signature, the release included: ignored and named.
    plan = manage(env, "migrate_secure", "--plan")
    assert "sign-off #" in plan.stderr and "of admin.0001_initial" in plan.stderr
    assert "IGNORED" in plan.stderr
    assert package_states(env)["admin.0001_initial"] == "missing"
    # Signed again, they stand for genuine reviews of another release and of another file.
    resign(env, "migration_name = '0001_initial' AND app_label IN ('admin', 'sessions')")
    states = package_states(env)
    assert states["admin.0001_initial"] == "void"
    assert states["sessions.0001_initial"] == "void"
    refused = manage(env, "migrate_secure", "--noinput")
    assert refused.returncode == 1
    assert "admin.0001_initial: the review by rita covered Django==5.1.0, but Django==" in (
        refused.stderr
    )
    assert "sessions.0001_initial: the sign-off by rita is void because the file changed" in (
        refused.stderr
    )
    assert "manage.py signoff_packages --reviewer USERNAME" in refused.stderr

    # A new review covers exactly the two voided migrations.
    renewed = review(env, "--acknowledge-findings")
    assert renewed.returncode == 0, renewed.stderr
    assert "This review covers 2 migrations" in renewed.stdout


@pytest.mark.parametrize(
    "extra, password, reviewer, message",
    [
        (("--acknowledge-findings",), "wrong", "rita", "Wrong password for reviewer 'rita'"),
        (("--acknowledge-findings",), PASSWORD, "nope", "lacks the permission"),
        (("--acknowledge-findings",), PASSWORD, "gone", "inactive"),
        # Refused before any password is asked (a wrong one does not matter).
        ((), "wrong", "rita", "run again with --acknowledge-findings"),
    ],
)
def test_bad_reviews_sign_nothing_and_say_so_in_one_line(env, extra, password, reviewer, message):
    result = review(env, *extra, password=password, reviewer=reviewer)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: ") and message in last
    assert query(env, "SELECT count(*) FROM gate_signoff") == [(0,)]
    assert query(env, "SELECT outcome FROM gate_auditentry ORDER BY id DESC LIMIT 1") == [
        ("refused",)
    ]


def test_per_file_signoff_of_a_package_migration_points_to_the_set_review(env):
    result = manage(
        env,
        "signoff_migration",
        "sessions",
        "0001_initial",
        "--reviewer",
        "rita",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "installed package Django==" in last and "manage.py signoff_packages" in last
