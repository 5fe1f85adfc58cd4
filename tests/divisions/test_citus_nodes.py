"""manage.py citus_nodes refuses an operator's mistakes in one line that says the fix, before
it connects anywhere (its work on a cluster: tests/citus/test_runbook.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from divisions.citus_nodes import address


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
