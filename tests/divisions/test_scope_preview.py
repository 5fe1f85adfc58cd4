"""The DataScope page's preview before saving: what it says, that it keeps nothing, who may
ask, and the confirm step a page without JavaScript stops on."""

import pytest
from django.contrib import admin
from django.urls import reverse
from guardian.shortcuts import assign_perm

from divisions.models import DataScope, DataScopeChange, User
from divisions.scoping import acting_as, unscoped
from tests import oracle
from tests.admin_forms import loaded_as
from tests.factories import UserFactory, allow


def preview_url(division):
    return reverse("admin:divisions_datascope_preview", args=[division.data_scope_id])


def scope_url(division):
    return reverse("admin:divisions_datascope_change", args=[division.data_scope_id])


def form_values(divisions=(), everyone=False):
    data = {"listed_divisions": [division.pk for division in divisions]}
    if everyone:
        data["is_everyone"] = "on"
    return data


def stored(division):
    """The scope as stored, and every change recorded for it."""
    with unscoped("test check"):
        scope = DataScope.objects.get(pk=division.data_scope_id)
        return (
            scope.is_everyone,
            sorted(d.name for d in scope.divisions.all()),
            scope.updated_at,
            DataScopeChange.objects.filter(datascope=scope).count(),
        )


def plus_plumbing(world):
    """Electrical's scope as stored (Head Office, Sparks) with Plumbing ticked too."""
    return form_values([world.d.hq, world.d.sparks, world.d.plumbing])


@pytest.fixture
def plumbers(world):
    """Two Plumbing members, so that ticking Plumbing shows its jobs to someone."""
    return [UserFactory(division=world.d.plumbing, username=f"plumber{n}") for n in range(2)]


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.u.acme_admin)
    return client


class TestPreviewSays:
    def test_ticking_plumbing_on_electricals_scope(self, admin_client, world, plumbers):
        before = stored(world.d.electrical)
        response = admin_client.post(preview_url(world.d.electrical), plus_plumbing(world))
        assert response.status_code == 200
        answer = response.json()
        assert answer["lines"] == ["+1 division (Plumbing), 2 users, 1 job"]
        assert answer["gained"] == {"divisions": ["Plumbing"], "divisionless": False, "users": 2}
        assert answer["lost"]["users"] == 0
        assert stored(world.d.electrical) == before

    def test_switching_everyone_off_on_plumbing(self, admin_client, world, plumbers):
        """Plumbing's scope is "everyone": switching it off hides its job from the others."""
        before = stored(world.d.plumbing)
        answer = admin_client.post(preview_url(world.d.plumbing), form_values()).json()
        # Head Office (alice), Electrical (elle), Sparks (sam, staff) and nodiv lose sight.
        assert answer["lines"] == [
            "-3 divisions (Electrical, Head Office, Sparks and users without a division), "
            "5 users, 1 job"
        ]
        assert stored(world.d.plumbing) == before

    def test_no_change_in_sight(self, admin_client, world):
        answer = admin_client.post(preview_url(world.d.hq), form_values([world.d.plumbing]))
        # Plumbing has no members here: nobody gains.
        assert answer.json()["lines"] == ["Nobody gains or loses sight of this division's jobs."]

    def test_another_tenants_division_is_a_400(self, admin_client, world):
        """A forged id (Globex's Field) fails the form's own check: a JSON error, no preview."""
        before = stored(world.d.electrical)
        response = admin_client.post(preview_url(world.d.electrical), form_values([world.d.field]))
        assert response.status_code == 400
        assert "listed_divisions" in response.json()["errors"]
        assert stored(world.d.electrical) == before

    def test_get_is_refused(self, admin_client, world):
        assert admin_client.get(preview_url(world.d.electrical)).status_code == 405


class TestWhoMayAsk:
    """Anyone but those who may change the scope gets the 404 of a scope that does not exist."""

    def asks(self, client, user, world):
        client.force_login(user)
        before = stored(world.d.electrical)
        response = client.post(preview_url(world.d.electrical), plus_plumbing(world))
        assert stored(world.d.electrical) == before
        return response.status_code

    def test_member(self, client, world):
        assert self.asks(client, world.u.elle, world) == 404

    def test_other_tenants_admin(self, client, world):
        assert self.asks(client, world.u.globex_admin, world) == 404

    def test_manager_of_another_scope(self, client, world):
        with unscoped("test setup"):
            assign_perm("divisions.change_datascope", world.u.alice, world.d.hq.data_scope)
            User.objects.filter(pk=world.u.alice.pk).update(is_staff=True)
        assert self.asks(client, world.u.alice, world) == 404

    def test_manager_of_this_scope(self, client, world, plumbers):
        with unscoped("test setup"):
            assign_perm("divisions.change_datascope", world.u.alice, world.d.electrical.data_scope)
            User.objects.filter(pk=world.u.alice.pk).update(is_staff=True)
        assert self.asks(client, world.u.alice, world) == 200

    def test_missing_scope(self, admin_client):
        assert admin_client.post("/admin/divisions/datascope/999999/preview/").status_code == 404

    def test_forged_post_without_csrf_token(self, world):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(world.u.acme_admin)
        response = client.post(preview_url(world.d.electrical), plus_plumbing(world))
        assert response.status_code == 403


class TestConfirmStep:
    """A page without JavaScript posts `_preview_first`: the first save previews, Confirm saves."""

    def save(self, client, division, data, **kwargs):
        url = scope_url(division)
        return client.post(url, {**data, **loaded_as(client, url), **kwargs})

    def test_first_save_previews_and_keeps_nothing(self, admin_client, world, plumbers):
        before = stored(world.d.electrical)
        response = self.save(
            admin_client, world.d.electrical, plus_plumbing(world), _preview_first="1"
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "Nothing is saved yet" in page
        assert "+1 division (Plumbing), 2 users, 1 job" in page
        assert 'value="Confirm and save"' in page
        assert stored(world.d.electrical) == before

    def test_confirming_saves(self, admin_client, world, plumbers):
        response = self.save(
            admin_client, world.d.electrical, plus_plumbing(world), _preview_first="1"
        )
        # The confirm page is the same form bound to what was posted, fingerprint included.
        confirm = response.context["adminform"].form
        data = {**plus_plumbing(world), "loaded_as": confirm.data["loaded_as"]}
        response = admin_client.post(scope_url(world.d.electrical), {**data, "_continue": "1"})
        assert response.status_code == 302
        assert stored(world.d.electrical)[:2] == (False, ["Head Office", "Plumbing", "Sparks"])

    def test_confirming_a_page_gone_stale_is_refused(self, admin_client, world, plumbers):
        response = self.save(
            admin_client, world.d.electrical, plus_plumbing(world), _preview_first="1"
        )
        fingerprint = response.context["adminform"].form.data["loaded_as"]
        allow(world.d.electrical, world.d.hq, world.d.sparks, everyone=True)  # someone else
        data = {**plus_plumbing(world), "loaded_as": fingerprint, "_continue": "1"}
        response = admin_client.post(scope_url(world.d.electrical), data)
        assert response.status_code == 200
        assert "was changed by someone else" in response.content.decode()
        assert stored(world.d.electrical)[:2] == (True, ["Head Office", "Sparks"])

    def test_a_save_that_changes_no_sight_field_is_not_held(self, admin_client, world):
        unchanged = form_values([world.d.hq, world.d.sparks])
        response = self.save(admin_client, world.d.electrical, unchanged, _preview_first="1")
        assert response.status_code == 302


@pytest.mark.postgres
def test_preview_as_the_admins_principal_keeps_nothing(world, plumbers):
    """On PostgreSQL the trial write runs under the admin's principal and row-level security,
    and is rolled back: the tables read the same after."""
    scope_admin = admin.site._registry[DataScope]
    world_before = oracle.snapshot()
    before = stored(world.d.electrical)
    with acting_as(world.u.acme_admin):
        scope = DataScope.objects.get(pk=world.d.electrical.data_scope_id)
        result = scope_admin.scope_preview(scope, True, [world.d.plumbing])
    assert result.lines()[0].startswith("+")
    assert oracle.snapshot() == world_before
    assert stored(world.d.electrical) == before
