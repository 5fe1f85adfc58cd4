"""manage.py citus_nodes refuses an operator's mistakes in one line that says the fix, before
it connects anywhere (its work on a cluster: tests/citus/test_runbook.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from divisions.citus_nodes import TRANSACTION_ID_FIXED, address, unfixed


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


def test_a_worker_whose_citus_lacks_the_transaction_id_fix_is_named():
    """What `citus_nodes --check` makes of each worker's answer to the probe: refused with the
    fix's message is fixed; taking the id, or refusing for another reason (a worker that
    does not answer), is named with why."""
    probed = [
        ("w1", 5432, False, f"ERROR:  {TRANSACTION_ID_FIXED}"),
        ("w2", 5432, True, ""),
        ("w3", 5433, False, "connection refused"),
    ]
    assert unfixed(probed) == ["w2:5432 (it took the id)", "w3:5433 (connection refused)"]
