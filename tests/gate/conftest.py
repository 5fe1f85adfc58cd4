"""A sample app with its own migrations in a temp git repository, and a database per test.

The commands run in subprocesses, as an operator runs them: `manage.py` with the gate's test
settings, a temp SQLite file as DATABASE_URL and the sample app on PYTHONPATH.
"""

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def owner_url():
    """The owner role's URL in the PostgreSQL pass (see tests/pg_setup.py)."""
    return os.environ["PROONE_TEST_OWNER_URL"]


SAMPLE = Path(__file__).parent / "sample"
PASSWORD = "pw-reviewer"

CREATE_USERS = f"""
from django.contrib.auth.models import Permission
from divisions.models import User
perm = Permission.objects.get(codename="signoff_migration")
for name, email, granted, active in [
    ("rita", "rita@example.com", True, True),
    ("alice", "alice@example.com", True, True),
    ("nope", "nope@example.com", False, True),
    ("gone", "gone@example.com", True, False),
]:
    if User.objects.filter(username=name).exists():
        continue
    user = User.objects.create_user(name, email=email, password="{PASSWORD}", is_active=active)
    if granted:
        user.user_permissions.add(perm)
"""

# What every gate command does first: on a database with no key registered, register this one.
REGISTER_KEY = ("shell", "-c", "from proone.gate.keys import current_key; current_key('default')")


def manage(env, *args, stdin=None, timeout=120, cwd=REPO):
    """Run manage.py (of the checkout `cwd`) with `env`; return the CompletedProcess (text)."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def release(env, *extra, reviewer="rita", password=PASSWORD):
    """`manage.py signoff_release` as a reviewer runs it, the password on standard input."""
    return manage(
        env,
        "signoff_release",
        "--reviewer",
        reviewer,
        "--password-stdin",
        *extra,
        stdin=password + "\n",
    )


def base_env(db, apps_dir=None, protected=False, label="sampleapp"):
    """The environment of one operator shell: settings, database file, sample app, anchor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "GATE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.gate.settings",
        DATABASE_URL=f"sqlite:///{db}",
        GATE_SIGNING_KEY=os.environ["GATE_SIGNING_KEY"],
        GATE_AUDIT_ANCHOR=f"{db}.anchor",
        GATE_PROTECTED="1" if protected else "0",
        PYTHONPATH=os.pathsep.join([str(REPO), str(apps_dir or REPO)]),
    )
    if apps_dir is not None:
        env["GATE_SAMPLE_APP"] = label
    return env


@pytest.fixture(scope="session")
def bootstrapped_db(tmp_path_factory):
    """A database after --bootstrap, with four reviewers: the packages' migrations that the
    database layer does not stand on, and the project's newer ones, pending (built once)."""
    db = tmp_path_factory.mktemp("bootstrapped") / "db.sqlite3"
    env = base_env(db)
    for args in (("migrate_secure", "--bootstrap"), ("shell", "-c", CREATE_USERS)):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A database with every project migration applied and four reviewers (built once)."""
    db = tmp_path_factory.mktemp("gate-template") / "db.sqlite3"
    env = base_env(db)
    # The gate key is registered as bootstrap registers it (here at its first use).
    for args in (("migrate", "--noinput"), ("shell", "-c", CREATE_USERS), REGISTER_KEY):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr
    return db


class Gate:
    """One test's database, sample app and git repository, and the commands to drive them."""

    label = "sampleapp"

    def __init__(self, tmp_path, template_db):
        self.db = tmp_path / "db.sqlite3"
        shutil.copy(template_db, self.db)
        self.make_app(tmp_path)
        self.start()

    def make_app(self, tmp_path):
        self.apps = tmp_path / "apps"
        self.migrations = self.apps / self.label / "migrations"
        self.migrations.mkdir(parents=True)
        (self.apps / self.label / "__init__.py").write_text("")
        (self.migrations / "__init__.py").write_text("")
        self.protected = False

    def start(self):
        self.git("init", "-q")
        self.add_migration("0001_initial.py", models="models_v1.py")

    def git(self, *args, author="Alice Author <alice@example.com>"):
        name, email = author[:-1].split(" <")
        subprocess.run(  # noqa: S603
            ["git", "-c", f"user.name={name}", "-c", f"user.email={email}", *args],  # noqa: S607
            cwd=self.apps,
            check=True,
            capture_output=True,
        )

    def add_migration(self, filename, models=None, commit=True, author=None):
        """Copy a sample migration (and models) into the app; commit them as `author`."""
        for source, target in ((filename, self.migrations / filename), (models, None)):
            if source:
                text = (SAMPLE / source).read_text().replace("sampleapp", self.label)
                (target or self.apps / self.label / "models.py").write_text(text)
        if commit:
            self.git("add", "-A")
            self.git(
                "commit", "-q", "-m", f"add {filename}", **({"author": author} if author else {})
            )

    def edit(self, filename, text="\n# an innocent-looking edit\n"):
        with open(self.migrations / filename, "a") as handle:
            handle.write(text)

    def env(self, **extra):
        """The environment the commands of this test run in (`extra` added)."""
        env = base_env(self.db, self.apps, protected=self.protected, label=self.label)
        return {**env, **extra}

    def manage(self, *args, stdin=None, **extra_env):
        return manage(self.env(**extra_env), *args, stdin=stdin)

    def signoff(self, name, *extra, reviewer="rita", password=PASSWORD, **extra_env):
        return self.manage(
            "signoff_migration",
            self.label,
            name,
            "--reviewer",
            reviewer,
            "--password-stdin",
            *extra,
            stdin=password + "\n",
            **extra_env,
        )

    def migrate(self, *extra):
        return self.manage("migrate_secure", "--noinput", *extra)

    def query(self, sql, *params):
        with sqlite3.connect(self.db) as connection:
            return connection.execute(sql, params).fetchall()

    def tables(self):
        return {row[0] for row in self.query("SELECT name FROM sqlite_master WHERE type='table'")}

    def columns(self, table):
        return {row[1] for row in self.query(f"PRAGMA table_info({table})")}

    def audit(self, **where):
        """Audit rows (as dicts) matching `where`, oldest first."""
        rows = self.query(
            "SELECT event, outcome, app_label, migration_name, reviewer, acknowledged, error, "
            "os_user, host, sha256 FROM gate_auditentry ORDER BY id"
        )
        keys = (
            "event outcome app_label migration_name reviewer acknowledged error os_user host sha256"
        )
        entries = [dict(zip(keys.split(), row, strict=True)) for row in rows]
        for entry in entries:
            if isinstance(entry["acknowledged"], str):
                entry["acknowledged"] = json.loads(entry["acknowledged"])
        return [e for e in entries if all(e[k] == v for k, v in where.items())]


@pytest.fixture
def gate(tmp_path, template_db):
    """A fresh database and sample app whose 0001_initial (by Alice) is pending."""
    return Gate(tmp_path, template_db)


class PgGate(Gate):
    """The same on the PostgreSQL test database: an app label of its own, the two roles."""

    def __init__(self, tmp_path):
        self.label = f"pg{secrets.token_hex(4)}"
        self.db = tmp_path / "postgres"  # names the anchor file only
        self.make_app(tmp_path)
        self.start()

    def env(self, **extra):
        env = super().env()
        env.update(DATABASE_URL=os.environ["DATABASE_URL"], DATABASE_MIGRATE_URL=owner_url())
        return {**env, **extra}

    def query(self, sql, *params, role="owner"):
        """Run `sql` (? placeholders) as the owner or the app role; rows or []."""
        import psycopg

        url = owner_url() if role == "owner" else os.environ["DATABASE_URL"]
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def tables(self):
        return {row[0] for row in self.query("SELECT tablename FROM pg_tables")}

    def columns(self, table):
        return {
            row[0]
            for row in self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", table
            )
        }

    def widgets(self):
        return f"{self.label}_widget"


@pytest.fixture(scope="module")
def pg_reviewers(django_db_setup, django_db_blocker, tmp_path_factory):
    """The four reviewers in the PostgreSQL test database, and the gate key registered;
    emptied again after the module."""
    from tests.pg_setup import flush_as_owner

    env = base_env(tmp_path_factory.mktemp("pg-reviewers") / "unused")
    env.update(DATABASE_URL=owner_url())
    for args in (("shell", "-c", CREATE_USERS), REGISTER_KEY):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr
    yield
    with django_db_blocker.unblock():
        flush_as_owner(None, database="default", verbosity=0)


@pytest.fixture
def pg_gate(tmp_path, pg_reviewers):
    """A sample app of its own whose 0001_initial is pending in the PostgreSQL test database."""
    return PgGate(tmp_path)
