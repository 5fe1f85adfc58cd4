"""Editing a DataScope in the admin: the picker, forged posts, the effect, history, managers."""

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from divisions.audience import audience_of
from divisions.models import DataScopeChange, User
from divisions.scoping import acting_as, unscoped
from jobs.audience import sight_of
from jobs.models import Job
from tests import oracle
from tests.admin_forms import loaded_as


def scope_url(division, view="change"):
    return reverse(f"admin:divisions_datascope_{view}", args=[division.data_scope_id])


def scope_post(divisions=(), everyone=False, managers=None):
    data = {"listed_divisions": [division.pk for division in divisions]}
    if everyone:
        data["is_everyone"] = "on"
    if managers is not None:
        data["managers"] = [user.pk for user in managers]
    return data


def save_scope(client, division, data, **kwargs):
    """Post `data` to the scope's change page, as saved from the page opened just before."""
    url = scope_url(division)
    return client.post(url, {**data, **loaded_as(client, url)}, **kwargs)


def listed(division):
    with unscoped("test check"):
        scope = division.data_scope
        scope.refresh_from_db()
        return scope.is_everyone, sorted(d.name for d in scope.divisions.all())


def make_manager(user, division):
    """Give `user` the object permission on `division`'s scope, as the admin form does."""
    with unscoped("test setup"):
        scope = division.data_scope
        assign_perm("divisions.change_datascope", user, scope)
        assign_perm("divisions.view_datascope", user, scope)
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.refresh_from_db()
    return user


class TestTenantAdminEditsScopes:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, world):
        client.force_login(world.u.acme_admin)
        self.client = client

    def test_picker_offers_same_tenant_divisions_only(self, world):
        form = self.client.get(scope_url(world.d.hq)).context["adminform"].form
        offered = {d.name for d in form.fields["listed_divisions"].queryset}
        assert offered == {"Electrical", "Plumbing", "Sparks"}

    def test_adding_and_removing_a_division(self, world):
        response = save_scope(self.client, world.d.hq, scope_post([world.d.sparks]), follow=True)
        assert response.redirect_chain
        messages = [str(message) for message in response.context["messages"]]
        assert "2 users could see Head Office's jobs before this change; 4 can now." in messages
        assert listed(world.d.hq) == (False, ["Sparks"])
        with unscoped("check"):
            assert world.jobs.hq.pk in Job.objects.visible_to(world.u.sam).values_list(
                "pk", flat=True
            )
        save_scope(self.client, world.d.hq, scope_post([]))
        assert listed(world.d.hq) == (False, [])
        assert not Job.objects.visible_to(world.u.sam).filter(pk=world.jobs.hq.pk).exists()

    def test_forged_post_with_another_tenants_division_is_rejected(self, world):
        before = listed(world.d.electrical)
        response = save_scope(
            self.client, world.d.electrical, scope_post([world.d.hq, world.d.ops], everyone=True)
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "listed_divisions" in errors
        assert "Select a valid choice" in str(errors["listed_divisions"])
        assert listed(world.d.electrical) == before
        with unscoped("check"):
            assert not DataScopeChange.objects.exists()

    def test_garbage_division_id_is_a_form_error(self, world):
        response = save_scope(
            self.client, world.d.hq, {"listed_divisions": ["not-a-number", "99999"]}
        )
        assert response.status_code == 200
        assert "listed_divisions" in response.context["adminform"].form.errors

    def test_is_everyone_switch(self, world):
        save_scope(self.client, world.d.hq, scope_post(everyone=True))
        assert listed(world.d.hq) == (True, [])
        assert Job.objects.visible_to(world.u.sam).filter(pk=world.jobs.hq.pk).exists()

    def test_history_records_who_when_before_and_after(self, world):
        save_scope(self.client, world.d.electrical, scope_post([world.d.sparks]))
        save_scope(self.client, world.d.electrical, scope_post([world.d.sparks]))  # no-op
        save_scope(self.client, world.d.electrical, scope_post(everyone=True))
        with unscoped("check"):
            changes = list(
                DataScopeChange.objects.filter(datascope_id=world.d.electrical.data_scope_id)
            )
        assert [(c.changed_by_id, c.changed_by_name) for c in changes] == [
            (world.u.acme_admin.pk, "acme-admin")
        ] * 2
        newest, oldest = changes
        assert oldest.before == {"is_everyone": False, "divisions": ["Head Office", "Sparks"]}
        assert oldest.after == {"is_everyone": False, "divisions": ["Sparks"]}
        assert newest.before == oldest.after
        assert newest.after == {"is_everyone": True, "divisions": []}
        page = self.client.get(scope_url(world.d.electrical)).content.decode()
        assert "listed divisions: Head Office, Sparks" in page
        assert "everyone in the tenant (listed divisions: none)" in page
        assert "acme-admin" in page

    def test_division_page_links_to_its_scope_and_shows_who_sees(self, world):
        page = self.client.get(
            reverse("admin:divisions_division_change", args=[world.d.electrical.pk])
        ).content.decode()
        assert scope_url(world.d.electrical) in page
        # elle (Electrical), alice (Head Office), sam and staff (Sparks), acme-admin.
        assert "5 users in all" in page
        assert "Sparks: 2 users" in page
        assert "Tenant admins (they see every job): 1 user" in page

    def test_scope_and_division_pages_carry_no_inline_style(self, world):
        """The CSP refuses style attributes; the admin's classes live in proone/admin.css."""
        for url in (
            scope_url(world.d.electrical),
            reverse("admin:divisions_division_change", args=[world.d.electrical.pk]),
        ):
            page = self.client.get(url).content.decode()
            assert "class='audience'" in page and "proone/admin.css" in page, url
            assert " style=" not in page, url

    def test_user_page_shows_what_the_user_sees(self, world):
        page = self.client.get(
            reverse("admin:divisions_user_change", args=[world.u.sam.pk])
        ).content.decode()
        # Each division, the case of the rule that shows it, its jobs (tests/jobs/test_explain*).
        assert "<td>Electrical</td><td>listed</td><td>1</td>" in page
        assert "<td>Plumbing</td><td>everyone</td><td>1</td>" in page
        assert "<td>Sparks</td><td>own division</td><td>1</td>" in page
        assert "3 jobs in all" in page

    def test_grant_and_revoke_a_division_manager(self, world):
        alice = world.u.alice
        save_scope(self.client, world.d.hq, scope_post(managers=[alice]))
        with unscoped("check"):
            alice.refresh_from_db()
            scope, other = world.d.hq.data_scope, world.d.electrical.data_scope
            assert alice.is_staff
            assert alice.has_perm("divisions.change_datascope", scope)
            assert not alice.has_perm("divisions.change_datascope", other)
        form = self.client.get(scope_url(world.d.hq)).context["adminform"].form
        assert [getattr(user, "pk", user) for user in form["managers"].value()] == [alice.pk]
        save_scope(self.client, world.d.hq, scope_post(managers=[]))
        with unscoped("check"):
            alice = User.objects.get(pk=alice.pk)  # a fresh permission cache
            assert not alice.has_perm("divisions.change_datascope", scope)

    def test_managers_are_same_tenant_users_only(self, world):
        form = self.client.get(scope_url(world.d.hq)).context["adminform"].form
        with acting_as(world.u.acme_admin):
            offered = {user.username for user in form.fields["managers"].queryset}
        assert offered == {"acme-admin", "alice", "sam", "elle", "nodiv", "staff"}
        response = save_scope(self.client, world.d.hq, scope_post(managers=[world.u.gina]))
        assert response.status_code == 200
        assert "managers" in response.context["adminform"].form.errors
        with unscoped("check"):
            assert not world.u.gina.has_perm("divisions.change_datascope", world.d.hq.data_scope)

    def test_scopes_are_not_added_or_deleted_on_their_own(self, world):
        assert self.client.get(reverse("admin:divisions_datascope_add")).status_code == 403
        assert self.client.post(scope_url(world.d.hq, "delete"), {"post": "yes"}).status_code == 403


class TestDivisionManager:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, world):
        self.elle = make_manager(world.u.elle, world.d.electrical)
        client.force_login(self.elle)
        self.client = client

    def test_edits_the_granted_scope(self, world):
        page = self.client.get(scope_url(world.d.electrical))
        assert page.status_code == 200
        assert "managers" not in page.context["adminform"].form.fields
        response = save_scope(
            self.client,
            world.d.electrical,
            scope_post([world.d.plumbing], managers=[world.u.alice]),
        )
        assert response.status_code == 302
        assert listed(world.d.electrical) == (False, ["Plumbing"])
        with unscoped("check"):
            scope = world.d.electrical.data_scope
            assert not world.u.alice.has_perm("divisions.change_datascope", scope)
            assert DataScopeChange.objects.get().changed_by_name == "elle"

    def test_changelist_lists_only_the_granted_scope(self, world):
        page = self.client.get(reverse("admin:divisions_datascope_changelist")).content.decode()
        assert scope_url(world.d.electrical) in page
        for other in (world.d.hq, world.d.plumbing, world.d.sparks, world.d.ops):
            assert scope_url(other) not in page

    @pytest.mark.parametrize("division", ["hq", "plumbing", "sparks", "ops"])
    def test_cannot_open_any_other_scope(self, world, division):
        other = getattr(world.d, division)
        before = listed(other)
        assert self.client.get(scope_url(other)).status_code == 404
        response = self.client.post(scope_url(other), scope_post([world.d.electrical]))
        assert response.status_code == 404
        assert listed(other) == before

    @pytest.mark.parametrize(
        "name",
        [
            "admin:divisions_division_changelist",
            "admin:divisions_user_changelist",
            "admin:jobs_job_changelist",
            "admin:divisions_tenant_changelist",
            "admin:auth_group_changelist",
            "admin:divisions_division_add",
            "admin:jobs_job_add",
        ],
    )
    def test_cannot_open_any_other_model(self, world, name):
        assert self.client.get(reverse(name)).status_code == 403

    def test_cannot_open_other_objects(self, world):
        assert (
            self.client.get(
                reverse("admin:divisions_division_change", args=[world.d.electrical.pk])
            ).status_code
            == 403
        )
        assert (
            self.client.get(
                reverse("admin:jobs_job_change", args=[world.jobs.electrical.pk])
            ).status_code
            == 403
        )
        autocomplete = self.client.get(
            reverse("admin:autocomplete"),
            {"app_label": "jobs", "model_name": "job", "field_name": "division", "term": ""},
        )
        assert autocomplete.status_code == 403

    def test_index_shows_data_scopes_only(self, world):
        page = self.client.get(reverse("admin:index")).content.decode()
        assert "/admin/divisions/datascope/" in page
        for other in ("division", "user", "tenant"):
            assert f"/admin/divisions/{other}/" not in page
        assert "/admin/jobs/job/" not in page

    def test_revoked_manager_is_refused(self, world):
        with unscoped("setup"):
            scope = world.d.electrical.data_scope
            remove_perm("divisions.change_datascope", self.elle, scope)
        response = self.client.get(scope_url(world.d.electrical))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


class TestPlatformOperator:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, world):
        client.force_login(world.u.operator)
        self.client = client

    def test_sees_every_tenant(self, world):
        page = self.client.get(reverse("admin:divisions_division_changelist")).content.decode()
        for division in vars(world.d).values():
            assert f"/admin/divisions/division/{division.pk}/change/" in page
        jobs = self.client.get(reverse("admin:jobs_job_changelist")).content.decode()
        assert "Ops job" in jobs and "Head Office job" in jobs
        users = self.client.get(reverse("admin:divisions_user_changelist")).content.decode()
        assert "gina" in users and "alice" in users
        tenants = self.client.get(reverse("admin:divisions_tenant_changelist")).content.decode()
        assert "Acme" in tenants and "Globex" in tenants

    def test_edits_any_tenants_scope_within_that_tenant(self, world):
        response = save_scope(self.client, world.d.ops, scope_post([world.d.hq]))
        assert response.status_code == 200
        assert "listed_divisions" in response.context["adminform"].form.errors
        response = save_scope(self.client, world.d.ops, scope_post([world.d.field]))
        assert response.status_code == 302
        assert listed(world.d.ops) == (False, ["Field"])
        with unscoped("check"):
            change = DataScopeChange.objects.get()
        assert (change.changed_by_name, change.tenant_id) == (
            "operator",
            world.tenants.globex.pk,
        )

    def test_admin_work_is_logged_as_unscoped(self, world, caplog):
        with caplog.at_level("INFO", logger="proone.scoping"):
            self.client.get(reverse("admin:divisions_division_changelist"))
        assert "platform operator operator" in caplog.text

    def test_portal_still_shows_no_jobs(self, world):
        assert Job.objects.visible_to(world.u.operator).count() == 0


@pytest.mark.parametrize("who", ["staff_only", "alice", "inactive"])
def test_everyone_else_is_refused(client, world, who):
    user = getattr(world.u, who)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    client.force_login(user)
    for url in (
        reverse("admin:index"),
        reverse("admin:divisions_division_changelist"),
        scope_url(world.d.sparks),
        reverse("admin:autocomplete"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(scope_url(world.d.hq))
    assert response.status_code == 302


class TestEffectMatchesTheOracle:
    """The admin's 'who sees' and 'what this user sees' agree with the oracle of the rule."""

    def test_audience_of_every_division(self, world):
        with unscoped("check"):
            snapshot = oracle.snapshot()
            users = [u for u in User.objects.all() if u.is_active]
            for division in vars(world.d).values():
                expected = {
                    u.pk for u in users if oracle.may_see_division_jobs(snapshot, u, division.pk)
                }
                groups = audience_of(division)
                assert sum(group.users for group in groups) == len(expected), division

    def test_sight_of_every_user(self, world):
        with unscoped("check"):
            snapshot = oracle.snapshot()
            for user in User.objects.all():
                divisions, jobs = sight_of(user)
                assert jobs == len(oracle.visible_jobs(snapshot, user)), user
                assert {d.pk for d in divisions} == {
                    pk
                    for pk in snapshot.divisions
                    if oracle.may_see_division_jobs(snapshot, user, pk)
                }, user


def test_operator_cannot_move_a_division_to_another_tenant(client, world):
    client.force_login(world.u.operator)
    url = reverse("admin:divisions_division_change", args=[world.d.ops.pk])
    data = {"name": "Ops", "tenant": world.tenants.acme.pk, **loaded_as(client, url)}
    response = client.post(url, data)
    assert response.status_code == 302
    with unscoped("check"):
        world.d.ops.refresh_from_db()
    assert world.d.ops.tenant_id == world.tenants.globex.pk
