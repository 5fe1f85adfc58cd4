"""Citus: every statement a tenant-scoped page sends for jobs or notes runs on one shard, on the
worker holding the member's tenant (Citus's router plan, "Task Count: 1"), never on every
shard. Each captured statement is EXPLAINed again as the app role inside the same member's
principal, as the page ran it.

Runs only on the cluster of tests/citus_cluster.py (PROONE_TEST_CITUS_WORKERS); elsewhere every
test here is skipped, and says so."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from divisions.scoping import acting_as, unscoped
from jobs.models import JobNote
from tests.api.conftest import bearer, mint
from tests.citus.test_principal_on_workers import worker_of
from tests.cluster import DISTRIBUTED_TABLES, ON_CLUSTER

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]

READS_DISTRIBUTED = re.compile(r'\b"?(?:' + "|".join(sorted(DISTRIBUTED_TABLES)) + r')"?\b')

# The pages of a member's tenant: {name: path for a member and their division's job}.
PAGES = {
    "job list": lambda job: "/jobs/",
    "job list searched": lambda job: "/jobs/?q=job&status=open",
    "job list of a division": lambda job: f"/jobs/?division={job.division_id}",
    "job detail with its notes": lambda job: f"/jobs/{job.pk}/",
    "API job list": lambda job: "/api/jobs/",
    "API job": lambda job: f"/api/jobs/{job.pk}/",
    "API notes": lambda job: f"/api/jobs/{job.pk}/notes/",
}


def page_statements(client, path, **headers):
    """The statements reading jobs or notes that the page at `path` sends."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    assert response.status_code == 200, response.content[:500]
    return [query["sql"] for query in captured if READS_DISTRIBUTED.search(query["sql"])]


def tasks(statement):
    """(task counts, worker ports) of the distributed plan of `statement`."""
    with connection.cursor() as cursor:  # no parameters: the statement's % are its own
        cursor.execute(f"EXPLAIN {statement}")
        plan = "\n".join(line for (line,) in cursor.fetchall())
    counts = [int(count) for count in re.findall(r"Task Count: (\d+)", plan)]
    ports = {int(port) for port in re.findall(r"Node: host=\S+ port=(\d+)", plan)}
    return counts, ports, plan


@pytest.fixture
def noted(apart):
    """The world, with a note on each tenant's first job (the detail pages read notes)."""
    with unscoped("test world"):
        for job in (apart.jobs.hq, apart.jobs.field):
            JobNote.objects.create(job=job, tenant_id=job.tenant_id, body="a note")
    return apart


# Each page in a transaction of its own, as served: not inside the test's, after its writes.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("member", "job"), [("alice", "hq"), ("gina", "field")])
def test_tenant_pages_route_each_statement_to_one_shard(client, noted, member, job, page):
    """Alice (Acme) and Gina (Globex), whose tenants live on different workers, open their
    pages; every statement reading jobs or notes is planned as one task on their tenant's
    worker."""
    user, job = getattr(noted.u, member), getattr(noted.jobs, job)
    client.force_login(user)
    _, token = mint(user)
    statements = page_statements(client, PAGES[page](job), **bearer(token))
    assert statements, f"{page} read no jobs or notes"
    home = worker_of(user.tenant_id)
    for statement in statements:
        with acting_as(user):
            counts, ports, plan = tasks(statement)
        assert counts and set(counts) == {1}, f"fans out:\n{statement}\n{plan}"
        assert ports == {home}, f"not on the tenant's worker:\n{statement}\n{plan}"


# The admin pages of a tenant admin that read its distributed records: {name: path for a scope}.
ADMIN_PAGES = {
    "DataScope page with its history": lambda scope: f"/admin/divisions/datascope/{scope}/change/",
    "access reviews": lambda scope: "/admin/divisions/accessreview/",
    "access matrix": lambda scope: "/admin/divisions/accessreview/matrix/",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_tenant_admin_pages_route_each_statement_to_one_shard(client, noted, page):
    """Acme's admin opens the pages that read the tenant's recorded scope changes, its access
    reviews and its jobs: every such statement is one task on Acme's worker."""
    admin, scope = noted.u.acme_admin, noted.d.hq.data_scope_id
    client.force_login(admin)
    statements = page_statements(client, ADMIN_PAGES[page](scope))
    assert statements, f"{page} read no distributed table"
    home = worker_of(admin.tenant_id)
    for statement in statements:
        with acting_as(admin):
            counts, ports, plan = tasks(statement)
        assert counts and set(counts) == {1}, f"fans out:\n{statement}\n{plan}"
        assert ports == {home}, f"not on the tenant's worker:\n{statement}\n{plan}"
