"""Citus: a worker stopped in the middle of a load. The tenant whose shards it holds gets errors
(a 5xx page, or a DatabaseError), never another tenant's rows; the other tenant keeps being
served; no request ever returns a row the oracle does not allow; once the worker is started
again, both are served.

Runs only on the cluster of tests/citus_cluster.py (PROONE_TEST_CITUS_WORKERS); elsewhere every
test here is skipped, and says so."""

import pytest
from django.db import DatabaseError, close_old_connections, transaction
from django.test import Client

from divisions.scoping import acting_as
from jobs.models import Job
from tests import oracle
from tests.api.conftest import bearer, mint
from tests.citus.test_principal_on_workers import worker_of
from tests.cluster import ON_CLUSTER, start_worker, stop_worker

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]

ROUNDS = 12  # requests per member in each phase: up, worker stopped, worker back
SETTLE = 5  # requests a member may lose right after the worker is back (stale connections)
FAILED = "failed"


class Member:
    """A member of one tenant sending requests: the API job list by token, and the scoped ORM."""

    def __init__(self, user, allowed):
        self.user, self.allowed = user, allowed
        self.client = Client(raise_request_exception=False)
        self.token = mint(user)[1]
        self.leaks = set()

    def request(self, number):
        """The job ids one request returned, or FAILED when it failed with an error."""
        try:
            if number % 2:
                response = self.client.get("/api/jobs/", **bearer(self.token))
                if response.status_code >= 500:
                    return FAILED
                assert response.status_code == 200, response.content[:300]
                got = {job["id"] for job in response.json()["results"]}
            else:
                with acting_as(self.user), transaction.atomic():
                    got = set(Job.objects.values_list("id", flat=True))
        except DatabaseError:
            close_old_connections()
            return FAILED
        self.leaks |= got - self.allowed
        return got

    def load(self, rounds):
        return [self.request(number) for number in range(rounds)]


@pytest.mark.django_db(transaction=True)
def test_worker_stopped_mid_load(apart):
    """Alice (Acme) and Gina (Globex) load the coordinator in turns while Acme's worker is
    stopped (pg_ctl -m immediate) and started again. Stopped: every one of Alice's requests
    fails, every one of Gina's is served in full. Back: both are served again. Throughout, no
    request returns a job the oracle does not allow either of them."""
    world = oracle.snapshot()
    alice = Member(apart.u.alice, oracle.visible_jobs(world, apart.u.alice))
    gina = Member(apart.u.gina, oracle.visible_jobs(world, apart.u.gina))
    assert alice.allowed and gina.allowed and not alice.allowed & gina.allowed
    down = worker_of(apart.tenants.acme.pk)
    assert worker_of(apart.tenants.globex.pk) != down

    before = [alice.load(ROUNDS), gina.load(ROUNDS)]
    stop_worker(down)
    try:
        stopped = [alice.load(ROUNDS), gina.load(ROUNDS)]
    finally:
        start_worker(down)
    back = [alice.load(SETTLE + ROUNDS), gina.load(ROUNDS)]

    assert before == [[alice.allowed] * ROUNDS, [gina.allowed] * ROUNDS]
    assert stopped == [[FAILED] * ROUNDS, [gina.allowed] * ROUNDS]
    assert back[0][SETTLE:] == [alice.allowed] * ROUNDS, back[0]
    assert back[1] == [gina.allowed] * ROUNDS
    assert alice.leaks == gina.leaks == set()
