"""
SQL injection as the app role against the token table (PostgreSQL): no usable token for
anyone else.

Each test is one attack from the `api_accesstoken` row of docs/security.md, run in a savepoint
inside `acting_as(attacker)` (what an injected statement in that user's request gets), then
checks with the API itself that no request authenticates as the victim.
"""

import secrets
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from api import tokens
from api.models import AccessToken
from divisions.scoping import acting_as, unscoped

from .conftest import mint

pytestmark = pytest.mark.postgres

REFUSED_BY_POLICY = "row-level security"
REFUSED_BY_TRIGGER = "owner, hash, dates and revocation cannot change"


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def attempt(sql, params=(), match=REFUSED_BY_POLICY):
    """Run `sql` in a savepoint and expect the database to refuse it."""
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        rows(sql, params)


def known_token():
    """A token the attacker made up, and its digest."""
    token = tokens.PREFIX + secrets.token_urlsafe(32)
    return token, tokens.digest(token)


INSERT = (
    "INSERT INTO api_accesstoken (user_id, name, digest, created_at) VALUES (%s, 'x', %s, now())"
)


def acts_as(api, token):
    return api("get", "/api/jobs/", token).status_code == 200


class TestMinting:
    def test_a_member_cannot_mint_a_token_for_a_tenant_admin(self, world, api):
        """Attack: INSERT a token row with a known hash for the tenant admin, then call the
        API as them. Stopped by proone_insert: a row only in the principal's own name."""
        token, digest = known_token()
        with acting_as(world.u.sam):
            attempt(INSERT, [world.u.acme_admin.pk, digest])
        assert not acts_as(api, token)

    def test_a_tenant_admin_cannot_mint_a_token_for_their_users(self, world, api):
        """Attack: a tenant admin's injection mints a token for a member of the tenant.
        Stopped by proone_insert: tenant admins manage users, never act as them."""
        token, digest = known_token()
        with acting_as(world.u.acme_admin):
            attempt(INSERT, [world.u.alice.pk, digest])
        assert not acts_as(api, token)

    def test_system_work_cannot_mint_a_token_for_anyone(self, world, api):
        """Attack: an injection inside unscoped() (an export, the admin of a platform
        operator) mints a token for a tenant admin. Stopped: no system clause on insert."""
        token, digest = known_token()
        with unscoped("attack"):
            attempt(INSERT, [world.u.acme_admin.pk, digest])
        assert not acts_as(api, token)

    def test_a_member_cannot_hand_its_own_token_to_a_tenant_admin(self, world, api):
        """Attack: mint one's own token, then UPDATE its user_id to the tenant admin's.
        Stopped by proone_update's check (and the trigger: a token never changes hands)."""
        stored, token = mint(world.u.sam)
        with acting_as(world.u.sam):
            attempt(
                "UPDATE api_accesstoken SET user_id = %s WHERE id = %s",
                [world.u.acme_admin.pk, stored.pk],
                match=f"{REFUSED_BY_TRIGGER}|{REFUSED_BY_POLICY}",
            )
        assert acts_as(api, token)
        with unscoped("test check"):
            assert AccessToken.objects.get(pk=stored.pk).user_id == world.u.sam.pk

    def test_a_member_cannot_plant_its_hash_in_someone_elses_token(self, world, api):
        """Attack: UPDATE the tenant admin's token to a hash the attacker knows. Stopped by
        proone_update: another user's token matches no row."""
        stored, admins = mint(world.u.acme_admin)
        token, digest = known_token()
        with acting_as(world.u.sam):
            assert in_savepoint("UPDATE api_accesstoken SET digest = %s", [digest]) == 0
        assert not acts_as(api, token)
        assert acts_as(api, admins)

    def test_a_tenant_admin_cannot_plant_its_hash_in_a_users_token(self, world, api):
        """Attack: a tenant admin (who may read their users' tokens) rewrites one's hash.
        Stopped by proone_update: only the principal's own rows, and the trigger."""
        mint(world.u.alice)
        token, digest = known_token()
        with acting_as(world.u.acme_admin):
            assert in_savepoint("UPDATE api_accesstoken SET digest = %s", [digest]) == 0
        assert not acts_as(api, token)


def in_savepoint(sql, params=()):
    with transaction.atomic():
        result = rows(sql, params)
        transaction.set_rollback(True)
    return result


class TestReading:
    def test_a_member_reads_only_its_own_tokens(self, world):
        """Attack: SELECT every token row. Stopped by proone_read: own rows only."""
        mine, _ = mint(world.u.sam)
        mint(world.u.acme_admin)
        mint(world.u.gina)
        with acting_as(world.u.sam):
            assert rows("SELECT id FROM api_accesstoken") == [(mine.pk,)]

    def test_a_tenant_admin_does_not_read_another_tenants_tokens(self, world):
        mint(world.u.alice)
        mint(world.u.gina)
        with acting_as(world.u.acme_admin):
            users = {user for (user,) in rows("SELECT user_id FROM api_accesstoken")}
        assert users == {world.u.alice.pk}

    def test_a_digest_read_from_the_table_is_not_a_token(self, world, api):
        """Attack: read one's (or, as a tenant admin, a user's) stored digest and present it
        as the token. Stopped: proone_token_user hashes what it is given."""
        mint(world.u.alice)
        with acting_as(world.u.acme_admin):
            [(digest,)] = rows("SELECT digest FROM api_accesstoken")
        assert api("get", "/api/jobs/", digest).status_code == 401
        with acting_as(world.u.acme_admin):
            assert rows("SELECT * FROM proone_token_user(%s, NULL)", [digest]) == []

    def test_without_a_principal_no_token_row_is_visible(self, world):
        mint(world.u.alice)
        assert rows("SELECT count(*) FROM api_accesstoken") == [(0,)]


class TestRevocationAndExpiry:
    def test_a_revocation_is_final(self, world, api):
        """Attack: UPDATE one's revoked (perhaps leaked) token back to live. Stopped by the
        trigger: a revocation never changes."""
        stored, token = mint(world.u.sam)
        with acting_as(world.u.sam):
            tokens.revoke(stored)
            attempt(
                "UPDATE api_accesstoken SET revoked_at = NULL WHERE id = %s",
                [stored.pk],
                match=REFUSED_BY_TRIGGER,
            )
        assert not acts_as(api, token)

    def test_an_expiry_cannot_be_pushed_back(self, world, api):
        """Attack: UPDATE an expired token's expires_at into the future. Stopped by the
        trigger, which binds the owner role too."""
        stored, token = mint(world.u.sam, expires_at=timezone.now() + timedelta(seconds=1))
        with acting_as(world.u.sam):
            attempt(
                "UPDATE api_accesstoken SET expires_at = now() + interval '1 year' WHERE id = %s",
                [stored.pk],
                match=REFUSED_BY_TRIGGER,
            )

    def test_a_new_row_cannot_claim_it_was_used_or_revoked(self, world):
        """A row is inserted fresh: unrevoked and unused (proone_insert)."""
        _, digest = known_token()
        with acting_as(world.u.sam):
            attempt(
                INSERT.replace("created_at)", "created_at, last_used_at)").replace(
                    "now())", "now(), now())"
                ),
                [world.u.sam.pk, digest],
            )

    def test_the_check_function_refuses_every_unusable_token(self, world):
        """proone_token_user answers only for a live token of an active user."""
        _, live = mint(world.u.sam, "live")
        revoked, revoked_token = mint(world.u.sam, "revoked")
        _, expired = mint(world.u.sam, "expired", timezone.now() - timedelta(seconds=1))
        _, inactive = mint(world.u.inactive, "inactive")
        with acting_as(world.u.sam):
            tokens.revoke(revoked)

        def answer(token):
            return rows("SELECT user_id FROM proone_token_user(%s, NULL)", [token])

        assert answer(live) == [(world.u.sam.pk,)]
        assert answer(revoked_token) == answer(expired) == answer(inactive) == []
        assert answer("") == answer(live + "x") == []


class TestDeletingUsers:
    def test_deleting_a_user_deletes_their_tokens(self, world):
        """A platform operator (system work) deletes a user: the tokens go with them."""
        mint(world.u.nodiv)
        with unscoped("test: the admin deletes a user"):
            world.u.nodiv.delete()
            assert AccessToken.objects.filter(user_id=world.u.nodiv.pk).count() == 0
