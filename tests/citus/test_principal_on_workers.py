"""Citus: the signed principal reaches the workers within the transaction, and the workers
enforce the job policies with it (divisions/database/citus.sql).

Runs only on the cluster of tests/citus_cluster.py (PROONE_TEST_CITUS_WORKERS); elsewhere every
test here is skipped, and says so."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from tests.cluster import ON_CLUSTER, WORKERS

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]


def owner(port=None):
    """A connection as the owner role, to the coordinator or the worker on `port`."""
    from tests.pg_setup import owner_conninfo

    info = owner_conninfo()
    if port is not None:
        info["port"] = port
    return psycopg.connect(**info, autocommit=True)


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def titles(sql="SELECT title FROM jobs_job"):
    return {title for (title,) in rows(sql)}


def worker_of(tenant):
    """The port of the worker holding the jobs of `tenant` (a tenant id)."""
    with owner() as coordinator:
        return coordinator.execute(
            "SELECT nodeport FROM pg_dist_shard_placement "
            "WHERE shardid = get_shard_id_for_distribution_column('jobs_job', %s)",
            [tenant],
        ).fetchone()[0]


def test_member_sees_exactly_their_jobs_through_the_coordinator(world):
    """Alice (Head Office, Acme) reads jobs_job by raw SQL: the workers' policies hand back
    Head Office's, Electrical's (its scope lists Head Office) and Plumbing's (everyone)
    jobs; none of Sparks', Globex's, or the unassigned ones. Sam, Gina and the admin likewise."""
    assert {worker_of(world.tenants.acme.pk), worker_of(world.tenants.globex.pk)} <= set(WORKERS)
    with acting_as(world.u.alice):
        assert titles() == {"Head Office job", "Electrical job", "Plumbing job"}
    with acting_as(world.u.sam):
        assert titles() == {"Sparks job", "Electrical job", "Plumbing job"}
    with acting_as(world.u.gina):
        assert titles() == {"Field job"}
    with acting_as(world.u.acme_admin):
        assert titles() == {
            "Head Office job",
            "Electrical job",
            "Plumbing job",
            "Sparks job",
            "Acme unassigned",
        }


def test_leaving_a_scope_clears_the_claim_on_the_workers(world):
    """Attack: the tenant admin reads Sparks' job on a worker, its scope ends, and later SQL of
    the same transaction reads jobs_job again. The app's "nobody" (divisions/rls.py, a SET
    LOCAL Citus sends to the workers) empties the proof there, so the workers' policies act
    for nobody: no rows, although the sealed claim is still set."""
    with transaction.atomic():
        with acting_as(world.u.acme_admin):
            assert "Sparks job" in titles()
        assert rows("SELECT current_setting('proone.citus', true)")[0][0]
        assert titles() == set()


def test_made_up_proof_after_leaving_does_not_revive_the_claim(world):
    """Attack: after the tenant admin's scope ends, SQL of the same transaction sets the proof
    to a value of its own (a SET LOCAL, so Citus sends it to the workers) to make the left
    claim act again there. The claim is sealed to the proof it came with: refused."""
    forged = pytest.raises(DatabaseError, match="forged or from another transaction")
    with transaction.atomic():
        with acting_as(world.u.acme_admin):
            assert "Sparks job" in titles()
        with forged, transaction.atomic():
            rows("SET LOCAL proone.principal = 'u:1:0:made-up'")
            rows("SELECT title FROM jobs_job")


def test_each_tenant_query_routes_to_the_worker_holding_its_shard(world):
    """The tenant filter the scoped managers add routes to one shard, on one worker."""
    acme = world.tenants.acme.pk
    with acting_as(world.u.alice):
        plan = "\n".join(
            line for (line,) in rows(f"EXPLAIN SELECT title FROM jobs_job WHERE tenant_id = {acme}")
        )
    assert "Task Count: 1" in plan
    assert f"port={worker_of(acme)}" in plan


def test_forged_claim_is_refused_on_the_worker(world):
    """Attack: alice's session writes a claim of system work over the sealed one. The worker
    recomputes the seal with its key and refuses the statement."""
    forged = pytest.raises(DatabaseError, match="forged or from another transaction")
    with acting_as(world.u.alice), forged, transaction.atomic():
        rows("SET LOCAL proone.citus = 's;;{}|" + "0" * 64 + "'")
        rows("SELECT title FROM jobs_job")


def test_claim_replayed_in_another_transaction_is_refused(transactional_db, world):
    """Attack: the tenant admin's sealed claim, read in one transaction, is set in a later one
    for sam. It is bound to the first distributed transaction: refused."""
    with transaction.atomic(), acting_as(world.u.acme_admin):
        (captured,) = rows("SELECT current_setting('proone.citus')")[0]
    replayed = pytest.raises(DatabaseError, match="forged or from another transaction")
    with acting_as(world.u.sam), replayed, transaction.atomic():
        rows("SET LOCAL proone.citus = %s", [captured])
        rows("SELECT title FROM jobs_job")


def test_writes_on_the_workers_follow_the_policies(world):
    """Attack: sam (Sparks, not an admin) retitles every job by raw SQL. The jobs of other
    divisions are not his to update (0 rows there); on his own division's the worker's check
    refuses every column but the status, so the statement fails. The admin's update of
    another tenant's jobs touches nothing."""
    globex = world.tenants.globex.pk
    with acting_as(world.u.sam):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rows("UPDATE jobs_job SET title = 'x' RETURNING id")
        assert (
            rows(
                "UPDATE jobs_job SET status = 'done' WHERE division_id <> %s RETURNING id",
                [world.d.sparks.pk],
            )
            == []
        )
    with acting_as(world.u.acme_admin):
        assert (
            rows(f"UPDATE jobs_job SET status = status WHERE tenant_id = {globex} RETURNING id")
            == []
        )
    with unscoped("check"):
        assert not Job.objects.filter(title="x").exists()


def test_claim_replayed_under_a_forged_transaction_id_is_refused(transactional_db, world):
    """Attack: the app role keeps the admin's claim and its distributed transaction id, then in
    a later transaction gives itself that id (assign_distributed_transaction_id, which Citus
    lets every role call) so the seal matches again. The coordinator refuses the app role that
    function (the cluster's grants), so the replay never reaches a worker."""
    with transaction.atomic(), acting_as(world.u.acme_admin):
        (captured,) = rows("SELECT current_setting('proone.citus')")[0]
        forged_id = rows(
            "SELECT initiator_node_identifier, transaction_number, transaction_stamp "
            "FROM get_current_transaction_id()"
        )[0]
    seen = None
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        rows("SELECT assign_distributed_transaction_id(%s, %s, %s)", forged_id)
        with acting_as(world.u.sam):
            rows("SET LOCAL proone.citus = %s", [captured])
            seen = titles()
    assert seen is None


def test_a_scope_entered_after_a_distributed_write_in_the_same_transaction(world):
    """A request that writes jobs and then enters another scope in the same transaction (the
    admin saves a job, then unscoped work records it): entering reads the anchor table again
    after the workers were written over their connections, and must keep to those."""
    with transaction.atomic():
        with acting_as(world.u.acme_admin):
            assert rows("UPDATE jobs_job SET title = title || '!' RETURNING id")
        with acting_as(world.u.sam):
            assert titles() == {"Sparks job!", "Electrical job!", "Plumbing job!"}
        with unscoped("check"):
            assert len(titles()) == 8
        transaction.set_rollback(True)


def test_a_sealed_list_filed_under_another_label_is_refused(world):
    """Attack: the tenant admin's sealed list of divisions, copied by an injection into the
    setting the scope-change policies read, would let a division's id pass for a scope's. The
    label is part of what the workers check (proone_rls.citus_sealed()): refused as forged."""
    acme, hq = world.tenants.acme, world.d.hq
    with acting_as(world.u.acme_admin), transaction.atomic():
        (divisions,) = rows("SELECT current_setting('proone.citus_divisions')")[0]
        assert divisions.startswith("divisions {")
        rows("SET LOCAL proone.citus_scopes = %s", [divisions])
        with pytest.raises(DatabaseError, match="forged"), transaction.atomic():
            rows(
                "INSERT INTO divisions_datascopechange "
                "(tenant_id, datascope_id, changed_by_name, changed_at, before, after) "
                "VALUES (%s, %s, 'acme-admin', now(), '{}', '{}')",
                [acme.pk, hq.pk],
            )
