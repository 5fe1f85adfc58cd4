"""manage.py citus_nodes refuses an operator's mistakes in one line that says the fix, before
it connects anywhere (its work on a cluster: tests/citus/test_runbook.py)."""

from dataclasses import replace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from divisions.citus_nodes import (
    DISTRIBUTED_TABLES,
    TRANSACTION_ID_PATCHED,
    Distribution,
    address,
    unpatched,
)


@pytest.mark.parametrize("text", ["worker-1", "worker-1:", "w:0", "w:65536", "w:5432/db", ":5432"])
def test_a_worker_that_is_not_host_and_port_is_refused_by_name(text):
    with pytest.raises(ImproperlyConfigured, match=f"{text!r} is not HOST:PORT"):
        address(text)


def test_host_and_port():
    assert address("worker-1.internal:5433") == ("worker-1.internal", 5433)


def test_without_the_coordinators_superuser_url_nothing_runs(monkeypatch):
    monkeypatch.delenv("DATABASE_ADMIN_URL", raising=False)
    with pytest.raises(CommandError, match="Set DATABASE_ADMIN_URL"):
        call_command("citus_nodes", "w:5432")


def test_without_workers_it_asks_for_them(monkeypatch):
    monkeypatch.setenv("DATABASE_ADMIN_URL", "postgres://postgres@coordinator/postgres")
    with pytest.raises(CommandError, match="Name the workers"):
        call_command("citus_nodes")


def test_a_worker_whose_citus_lacks_the_transaction_id_patch_is_named():
    """What `citus_nodes --check` makes of each worker's answer to the probe: refused with the
    patch's message is patched; taking the id, or refusing for another reason (a worker that
    does not answer), is named with why."""
    probed = [
        ("w1", 5432, False, f"ERROR:  {TRANSACTION_ID_PATCHED}"),
        ("w2", 5432, True, ""),
        ("w3", 5433, False, "connection refused"),
    ]
    assert unpatched(probed) == ["w2:5432 (it took the id)", "w3:5433 (connection refused)"]


@pytest.mark.parametrize(
    ("field", "named", "fix"),
    [
        ("unanswered", "Workers that do not answer: w2:5432 (", "start them"),
        ("open_workers", "call more than Citus does: w2:5432 (", "citus_nodes with every worker"),
        ("unpatched", "take another transaction's id: w2:5432 (", "citus-transaction-id.patch"),
    ],
)
def test_the_check_fails_naming_the_worker_and_the_fix(monkeypatch, field, named, fix):
    """What `citus_nodes --check` says of a cluster whose tables are distributed but one worker
    fails one of its checks."""
    from divisions.management.commands import citus_nodes as command

    found = Distribution(
        nodes=[],
        partitions=[(table, "h", 1) for table in DISTRIBUTED_TABLES],
        unanswered=[],
        open_workers=[],
        unpatched=[],
    )
    found = replace(found, **{field: ["w2:5432 (why)"]})
    monkeypatch.setattr(command, "distribution", lambda admin_url, database: found)
    with pytest.raises(CommandError) as error:
        command.Command().check_distribution("postgres://coordinator/postgres", "proone")
    assert named in str(error.value) and fix in str(error.value)
