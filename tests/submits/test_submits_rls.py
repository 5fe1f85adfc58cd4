"""PostgreSQL: SQL as the app role inside sam's principal (what an injection in one of his
requests gets) cannot read, spend, answer or delete another user's form tokens and keys."""

import pytest
from django.db import DatabaseError, connection, transaction

from divisions.scoping import acting_as, unscoped
from submits.models import Submit

pytestmark = pytest.mark.postgres


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


@pytest.fixture
def keys(world):
    """One spent key each for sam and alice, written in their own principals."""
    for user in (world.u.sam, world.u.alice):
        with acting_as(user):
            Submit.objects.create(
                user=user, key=f"{user.username}-key", request="r", status=201, body="{}"
            )


def test_injected_select_reads_only_the_principals_own_keys(world, keys):
    with acting_as(world.u.sam):
        assert rows("SELECT key FROM submits_submit") == [("sam-key",)]
    assert rows("SELECT count(*) FROM submits_submit") == [(0,)]  # no principal: nothing


def test_injected_insert_in_another_users_name_is_refused(world, keys):
    """Spending alice's next form token (or answering her key) ahead of her: WITH CHECK."""
    refused = pytest.raises(DatabaseError, match="row-level security")
    with acting_as(world.u.sam), refused, transaction.atomic():
        rows(
            "INSERT INTO submits_submit (user_id, key, request, status, body, created_at) "
            "VALUES (%s, 'form:alices-next', 'r', 302, '', now())",
            [world.u.alice.pk],
        )


def test_injected_update_and_delete_of_another_users_keys_match_nothing(world, keys):
    with acting_as(world.u.sam):
        assert rows("UPDATE submits_submit SET body = 'forged' WHERE key = 'alice-key'") == 0
        assert rows("DELETE FROM submits_submit WHERE key = 'alice-key'") == 0
        # Nor can his own row be handed to alice.
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rows("UPDATE submits_submit SET user_id = %s", [world.u.alice.pk])
    with unscoped("check"):
        assert Submit.objects.get(key="alice-key").body == "{}"
        assert Submit.objects.get(key="sam-key").user_id == world.u.sam.pk


def test_system_work_reads_and_deletes_but_writes_no_key(world, keys):
    """manage.py clearsubmits runs as system work: it deletes, it never inserts a key."""
    with unscoped("check"):
        assert rows("SELECT count(*) FROM submits_submit") == [(2,)]
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rows(
                "INSERT INTO submits_submit (user_id, key, request, body, created_at) "
                "VALUES (%s, 'planted', 'r', '', now())",
                [world.u.alice.pk],
            )
        assert rows("UPDATE submits_submit SET body = 'x'") == 0
        assert rows("DELETE FROM submits_submit") == 2
