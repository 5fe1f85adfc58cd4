"""`manage.py access_review` as an operator runs it (subprocesses), on SQLite and PostgreSQL:
what it lists, its csv and json, the signed attestation, and check --deploy's reminder."""

import csv
import io
import json
import re
import shlex

import pytest

from .conftest import PASSWORD, REPO

OPERATIONS = REPO / "docs" / "operations.md"

# Rita, Alice, Gone (inactive) hold the sign-off permission directly (conftest.CREATE_USERS).
WORLD = f"""
from datetime import timedelta
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from divisions.grants import make_manager
from divisions.scoping import unscoped
from tests.factories import DivisionFactory, TenantAdminFactory, TenantFactory, UserFactory
now = timezone.now()
with unscoped("access review test world"):
    reviewers, _ = Group.objects.get_or_create(name="Migration reviewers")
    reviewers.permissions.add(Permission.objects.get(codename="signoff_migration"))
    gina = UserFactory(username="gina", division=None, password="{PASSWORD}", last_login=now)
    gina.groups.add(reviewers)
    UserFactory(username="root", division=None, is_superuser=True, is_staff=True, last_login=now)
    acme, globex = TenantFactory(name="Acme"), TenantFactory(name="Globex")
    TenantAdminFactory(username="ada", tenant=acme, last_login=now)
    TenantAdminFactory(username="ben", tenant=globex, last_login=now)
    sales = DivisionFactory(tenant=acme, name="Sales")
    mona = UserFactory(username="mona", division=sales, last_login=now)
    make_manager(mona, sales.data_scope)
    UserFactory(username="old", division=None, is_staff=True, last_login=now - timedelta(days=200))
"""


def rows(result):
    """{(section, who): (what, last_login)} of a csv report."""
    assert result.returncode == 0, result.stderr
    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    return {(r["section"], r["who"]): (r["what"], r["last_login"]) for r in parsed}


def assert_lists_the_world(listed):
    assert listed[("signers", "gina")][0] == "through group 'Migration reviewers'"
    assert listed[("signers", "rita")][0] == "granted directly"
    assert listed[("signers", "root")][0] == "superuser"
    assert ("superusers", "root") in listed
    assert listed[("tenant_admins", "ada")][0] == "tenant admin of Acme"
    assert listed[("tenant_admins", "ben")][0] == "tenant admin of Globex"
    assert listed[("division_managers", "mona")][0] == "manages Acme: Who sees Sales"
    assert listed[("unused", "old")][0].startswith("no sign-in for 200 days; holds: Staff")
    assert listed[("unused", "gone")][0].startswith("inactive; holds: May sign off migrations")
    assert ("unused", "gina") not in listed
    assert listed[("signers", "gina")][1]  # a recent sign-in, shown


def attest(run, *extra, reviewer="gina", password=PASSWORD):
    return run(
        "access_review",
        "--attest",
        "--reviewer",
        reviewer,
        "--password-stdin",
        *extra,
        stdin=password + "\n",
    )


def check_deploy(run, **env):
    result = run("check", "--deploy", "--database", "default", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def world(gate, monkeypatch):
    # The browser tests' conftest allows async-unsafe calls; check --deploy rejects that.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    assert gate.manage("shell", "-c", WORLD).returncode == 0
    return gate


def test_review_lists_each_kind_of_access_in_csv_json_and_text(world):
    listed = rows(world.manage("access_review", "--format", "csv"))
    assert_lists_the_world(listed)
    assert not any(section == "database_roles" for section, _ in listed)  # SQLite has no roles
    report = json.loads(world.manage("access_review", "--format", "json").stdout)
    assert {r["who"] for r in report["sections"]["tenant_admins"]} == {"ada", "ben"}
    text = world.manage("access_review").stdout
    assert "Division managers (1):" in text and f"Digest: {report['digest']}" in text


def test_attestation_is_signed_in_the_audit_chain_and_quiets_the_check(world):
    assert "gate.W006" in check_deploy(world.manage)  # never attested
    attested = attest(world.manage, "--format", "json")
    assert attested.returncode == 0, attested.stderr
    digest = json.loads(attested.stdout)["digest"]
    (row,) = world.audit(event="access_review", outcome="ok")
    assert (row["reviewer"], row["sha256"]) == ("gina", digest)
    assert world.manage("migrate_secure", "--verify-audit").returncode == 0
    assert "gate.W006" not in check_deploy(world.manage)
    # An attestation older than ACCESS_REVIEW_MAX_AGE_DAYS is a reminder again.
    assert "attested 0 days ago" in check_deploy(world.manage, ACCESS_REVIEW_MAX_AGE_DAYS="-1")


def test_altered_attestation_fails_verify_audit(world):
    """Attack: rewrite the attested digest (and the row's hash) behind the gate's back.
    Stops it: the signature under the gate key covers the digest, reviewer and time."""
    assert attest(world.manage).returncode == 0
    # Another first hex digit, whatever the digest's is.
    world.query(
        "UPDATE gate_auditentry SET sha256 = "
        "CASE WHEN substr(sha256, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(sha256, 2) "
        "WHERE event = 'access_review'"
    )
    verify = world.manage("migrate_secure", "--verify-audit")
    assert verify.returncode == 1
    assert "access review attestation by 'gina': signature does not verify" in verify.stderr


@pytest.mark.parametrize(
    ("reviewer", "password", "refusal"),
    [
        ("gina", "wrong", "Wrong password for reviewer 'gina'."),
        ("ada", PASSWORD, "Reviewer 'ada' lacks the permission 'Can sign off a migration'"),
        ("gone", PASSWORD, "Reviewer 'gone' is inactive"),
    ],
)
def test_attestation_refused_in_one_line(world, reviewer, password, refusal):
    if reviewer == "ada":
        world.manage(
            "shell",
            "-c",
            "from divisions.models import User; u = User.objects.get("
            f"username='ada'); u.set_password('{PASSWORD}'); u.save()",
        )
    result = attest(world.manage, reviewer=reviewer, password=password)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"CommandError: {refusal}")
    assert not world.audit(event="access_review", outcome="ok")
    assert world.audit(event="access_review", outcome="refused")


def documented_commands():
    """The command lines of docs/operations.md's "Access review" section, as printed."""
    section = OPERATIONS.read_text().split("## Access review", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_the_operations_doc_commands_run_as_printed(world):
    commands = documented_commands()
    assert [c[:3] for c in commands][:3] == [["python", "manage.py", "access_review"]] * 3
    for python, _, *args in commands:
        assert python == "python"
        args = ["gina" if arg == "USERNAME" else arg for arg in args]
        result = world.manage(*args, stdin=PASSWORD + "\n")
        assert result.returncode == 0, (args, result.stderr)
    # The last is the check, after the attestation: no reminder.
    assert "gate.W006" not in result.stdout + result.stderr
    assert world.audit(event="access_review", outcome="ok")
