"""manage.py explain_access: the explain answers for support staff, unscoped and logged."""

import json
import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(*args):
    out = StringIO()
    call_command("explain_access", *args, stdout=out)
    return out.getvalue()


def test_who_can_see_a_job(world):
    job = world.jobs.electrical
    assert run("--job", str(job.pk)).splitlines() == [
        f"Job {job.pk} 'Electrical job' (acme, Electrical): 5 users",
        "  tenant admin: 1: acme-admin",
        "  own division: 1: elle",
        "  listed: 3: alice, sam, staff",
    ]


def test_what_a_user_can_see_as_json(world):
    answer = json.loads(run("--user", "alice", "--format", "json"))
    assert answer == {
        "user": {
            "username": "alice",
            "tenant": "acme",
            "division": "Head Office",
            "is_active": True,
        },
        "sees": [
            {"division": "Electrical", "case": "listed", "jobs": 1},
            {"division": "Head Office", "case": "own division", "jobs": 1},
            {"division": "Plumbing", "case": "everyone", "jobs": 1},
        ],
        "jobs": 3,
    }


def test_a_tenant_admin_and_a_platform_operator_as_text(world):
    assert run("--user", "acme-admin").splitlines()[-1] == (
        "  jobs of no division: tenant admin, 1 job"
    )
    assert run("--user", "operator").splitlines() == [
        "User operator (no tenant, no division): 0 jobs"
    ]


def test_a_job_as_json(world):
    job = world.jobs.acme_unassigned
    answer = json.loads(run("--job", str(job.pk), "--format", "json"))
    assert answer["job"]["division"] is None
    assert answer["seen_by"] == [{"case": "tenant admin", "users": 1, "names": ["acme-admin"]}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--job", "999999"], "No job 999999."),
        (["--job", "twelve"], "No job twelve."),
        (["--user", "nobody"], "No user nobody."),
        (["--job", "1", "--user", "alice"], "Give exactly one of --job N or --user NAME."),
        ([], "Give exactly one of --job N or --user NAME."),
        (["--user", "alice", "--format", "xml"], "Unknown --format 'xml': use text or json."),
    ],
)
def test_bad_input_is_one_line(world, args, message):
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert str(raised.value) == message


def test_each_run_is_logged_as_unscoped_work(world, caplog):
    with caplog.at_level(logging.INFO, logger="proone.scoping"):
        run("--job", str(world.jobs.sparks.pk))
        run("--user", "sam")
    lines = [r.getMessage() for r in caplog.records if r.name == "proone.scoping"]
    assert any(
        line.startswith(f"unscoped access: explain_access --job {world.jobs.sparks.pk} by ")
        for line in lines
    ), lines
    assert any(line.startswith("unscoped access: explain_access --user sam by ") for line in lines)


def test_a_job_number_in_other_digits_is_a_one_line_error(world):
    """`--job ²` (a digit to str.isdigit(), not to the database): one line, no traceback."""
    with pytest.raises(CommandError, match=r"^No job ²\.$"):
        call_command("explain_access", "--job", "²")
