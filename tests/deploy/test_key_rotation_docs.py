"""The rotations of the principal's key and of SECRET_KEY, with the commands of
docs/operations.md as printed, on a throwaway PostgreSQL made by create_db_roles (they need its
superuser). After each step the system check (divisions.E003) tells which keys the database
accepts: a process with that key, or one not yet restarted."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gate.conftest import REPO, base_env, manage
from tests.postgres_server import ThrowawayServer, url_with

pytestmark = pytest.mark.postgres

DB, OWNER, APP = "rotation", "rotation_owner", "rotation_app"
KEY, NEW_KEY = "principal-key-old-" + "o" * 30, "principal-key-new-" + "n" * 30
SECRET, NEW_SECRET = "secret-key-old-" + "s" * 40, "secret-key-new-" + "t" * 40


def steps(section):
    """The shell blocks of a section of docs/operations.md, in order, as printed."""
    text = (REPO / "docs" / "operations.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", body, re.DOTALL)


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    """(the operator's environment, with DATABASE_ADMIN_URL) on a migrated database."""
    throwaway = ThrowawayServer()
    try:
        admin_url = throwaway.start()
        env = base_env(tmp_path_factory.mktemp("rotation") / "db")
        env.update(
            DATABASE_URL=url_with(admin_url, APP, "rotation-app-pw", DB),
            DATABASE_MIGRATE_URL=url_with(admin_url, OWNER, "rotation-owner-pw", DB),
            DATABASE_ADMIN_URL=admin_url,
            PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            SECRET_KEY=SECRET,
            RLS_SIGNING_KEY=KEY,
        )
        # The browser tests' conftest allows async-unsafe calls; check --deploy rejects it.
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        for args, overrides in (
            (("create_db_roles",), {}),
            (("migrate", "--noinput"), {"DATABASE_URL": env["DATABASE_MIGRATE_URL"]}),
        ):
            result = manage({**env, **overrides}, *args)
            assert result.returncode == 0, result.stderr[-3000:]
        yield env
    finally:
        throwaway.stop()


def run_step(env, script, **overrides):
    result = subprocess.run(  # noqa: S603
        ["bash", "-e", "-c", script],  # noqa: S607
        cwd=REPO,
        env={**env, **overrides},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def accepted(env, **keys):
    """Whether the database takes the principal of a process with these settings."""
    settings = {k: v for k, v in {**env, **keys}.items() if v is not None}
    result = manage(settings, "check", "--database", "default")
    assert "divisions.E003" in result.stderr or result.returncode == 0, result.stderr[-3000:]
    return "divisions.E003" not in result.stderr


def test_the_principal_keys_rotation_as_documented(operator):
    first, retire = steps("Rotating the principal's key")
    assert accepted(operator) and not accepted(operator, RLS_SIGNING_KEY=NEW_KEY)
    out = run_step(operator, first, NEW_KEY=NEW_KEY)
    assert "stored the row-level security signing key and 1 retired keys" in out
    assert accepted(operator) and accepted(operator, RLS_SIGNING_KEY=NEW_KEY)
    # The restarted fleet's environment, as step 2 sets it.
    restarted = {**operator, "RLS_SIGNING_KEY": NEW_KEY}
    out = run_step(operator, retire, NEW_KEY=NEW_KEY)
    assert "stored the row-level security signing key and 0 retired keys" in out
    assert accepted(restarted) and not accepted(operator)
    run_step(operator, "python manage.py create_db_roles")  # the test's key back


def test_the_secret_keys_rotation_as_documented(operator):
    """Without RLS_SIGNING_KEY the principal's key follows SECRET_KEY: the same steps, with the
    session keys' fallbacks."""
    derived = {**operator, "RLS_SIGNING_KEY": None}
    env = {k: v for k, v in derived.items() if v is not None}
    first, retire = steps("Rotating SECRET_KEY")
    run_step(env, "python manage.py create_db_roles")
    assert accepted(env) and not accepted(env, SECRET_KEY=NEW_SECRET)
    out = run_step(env, first, NEW_KEY=NEW_SECRET)
    assert "and 1 retired keys" in out
    restarted = {**env, "SECRET_KEY": NEW_SECRET, "SECRET_KEY_FALLBACKS": SECRET}
    assert accepted(env) and accepted(restarted)
    out = run_step(env, retire, NEW_KEY=NEW_SECRET)
    assert "and 0 retired keys" in out
    # A process left on the retired SECRET_KEY is refused: the database no longer holds the
    # principal key derived from it.
    assert accepted({**restarted, "SECRET_KEY_FALLBACKS": None}) and not accepted(env)
    run_step(operator, "python manage.py create_db_roles")
