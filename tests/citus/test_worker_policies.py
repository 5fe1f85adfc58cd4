"""Citus: the workers really enforce the rule. With the read policy of one worker's shards taken
away (as the owner on that worker, directly), the raw-SQL oracle comparison of
tests/divisions/test_rls.py fails for a member of the tenant there; restored, it passes again.

Runs only on the cluster of tests/citus_cluster.py (PROONE_TEST_CITUS_WORKERS); elsewhere every
test here is skipped, and says so."""

import pytest
from psycopg import sql

from divisions.scoping import acting_as
from tests import oracle
from tests.citus.test_principal_on_workers import owner, worker_of
from tests.cluster import DISTRIBUTED_TABLES, ON_CLUSTER
from tests.divisions.test_rls import database_view, matches, oracle_view

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]


def shards_on(port):
    """The shards of the distributed tables placed on the worker on `port`: [(table, shard)]."""
    with owner() as coordinator:
        return coordinator.execute(
            "SELECT s.logicalrelid::regclass::text, "
            "       s.logicalrelid::regclass::text || '_' || s.shardid "
            "FROM pg_dist_shard s JOIN pg_dist_shard_placement p USING (shardid) "
            "WHERE p.nodeport = %s AND s.logicalrelid::regclass::text = ANY(%s) "
            "ORDER BY s.shardid",
            [port, sorted(DISTRIBUTED_TABLES)],
        ).fetchall()


def read_policy(table):
    """CREATE POLICY proone_read for a shard of `table`, from the distributed table's own
    (pg_policies on the coordinator): the statement 0031 ran there, which Citus sent on."""
    with owner() as coordinator:
        (qual,) = coordinator.execute(
            "SELECT qual FROM pg_policies WHERE tablename = %s AND policyname = 'proone_read' "
            "AND cmd = 'SELECT' AND permissive = 'PERMISSIVE' AND roles = '{public}'",
            [table],
        ).fetchone()
    braces_kept = qual.replace("{", "{{").replace("}", "}}")  # sql.SQL's format reads them
    return "CREATE POLICY proone_read ON {} FOR SELECT USING (" + braces_kept + ")"


# How the read policy is taken away on the worker, and how it is given back.
REMOVALS = {
    "drop policy": ("DROP POLICY proone_read ON {}", None),
    "disable row level security": (
        "ALTER TABLE {} DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE {} ENABLE ROW LEVEL SECURITY",
    ),
}


def on_shards(port, statements):
    """Run each (statement, shard) as the owner on the worker on `port`."""
    with owner(port) as worker:
        # The shards are Citus's to change: a change by hand must say it means it.
        worker.execute("SET citus.enable_manual_changes_to_shards = on")
        for statement, shard in statements:
            worker.execute(sql.SQL(statement).format(sql.Identifier(shard)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("removal", REMOVALS)
def test_removing_the_read_policy_on_one_worker_breaks_the_oracle_match(apart, removal):
    """Alice (Head Office, Acme) reads jobs and notes by raw SQL. With her tenant's worker
    enforcing the rule, she sees exactly the oracle's rows. Attack of a careless operator: the
    read policy goes from that worker's shards. Dropped, she sees none of the jobs there (no
    policy left for reads: closed, and still not the oracle's answer); row-level security
    switched off, she sees Sparks' job and the tenant's unassigned one. Either way the
    comparison fails: the workers, not the coordinator, enforce the rule."""
    alice, port = apart.u.alice, worker_of(apart.tenants.acme.pk)
    want = oracle_view(oracle.snapshot(), alice)
    with acting_as(alice):
        assert matches(database_view(), want)
    remove, restore = REMOVALS[removal]
    shards = shards_on(port)
    assert {table for table, _ in shards} == DISTRIBUTED_TABLES
    on_shards(port, [(remove, shard) for _, shard in shards])
    try:
        with acting_as(alice):
            got = database_view()
    finally:
        on_shards(
            port,
            [((restore or read_policy(table)), shard) for table, shard in shards],
        )
    assert not matches(got, want)
    if restore:
        assert got["table"] - want["table"] == {apart.jobs.sparks.pk, apart.jobs.acme_unassigned.pk}
    else:
        assert got["table"] == set()
    with acting_as(alice):
        assert matches(database_view(), want)
