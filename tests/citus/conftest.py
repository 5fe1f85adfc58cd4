"""Fixtures of the Citus tests: a world whose two tenants live on different workers."""

import pytest

from tests.citus.test_principal_on_workers import owner, worker_of


@pytest.fixture
def apart(request, db):
    """The conftest world, its tenants' ids chosen so that Acme's and Globex's shards are on
    different workers: the tenant id sequence is set (as the owner; a sequence is not rolled
    back) before the two consecutive ids that get_shard_id_for_distribution_column places on
    two workers."""
    with owner() as connection:
        sequence = connection.execute(
            "SELECT pg_get_serial_sequence('divisions_tenant', 'id')"
        ).fetchone()[0]
        first = connection.execute(f"SELECT last_value FROM {sequence}").fetchone()[0] + 1
        while worker_of(first) == worker_of(first + 1):
            first += 1
        connection.execute("SELECT setval(%s, %s)", [sequence, first - 1])
    world = request.getfixturevalue("world")
    assert worker_of(world.tenants.acme.pk) != worker_of(world.tenants.globex.pk)
    return world
