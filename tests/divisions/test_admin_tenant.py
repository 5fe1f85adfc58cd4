"""The admin for a tenant admin: their own tenant's rows, and a 404 or 403 for any other."""

import re

import pytest
from django.urls import reverse

from divisions.models import DataScopeChange, Division, User
from divisions.scoping import unscoped
from jobs.models import Job
from tests.admin_forms import loaded_as


def change_links(response, app, model):
    """The primary keys the page links to as change pages of `app.model`."""
    return {
        int(pk)
        for pk in re.findall(rf"/admin/{app}/{model}/(\d+)/change/", response.content.decode())
    }


def globex_objects(world):
    """Tenant B's objects, by admin model: (url prefix, pk)."""
    return [
        ("divisions_division", world.d.ops.pk),
        ("divisions_datascope", world.d.ops.data_scope_id),
        ("divisions_datascope", world.d.field.data_scope_id),
        ("divisions_user", world.u.gina.pk),
        ("divisions_user", world.u.globex_admin.pk),
        ("jobs_job", world.jobs.ops.pk),
        ("jobs_job", world.jobs.globex_unassigned.pk),
    ]


def snapshot_of_globex():
    """Everything about tenant B that an admin page could change."""
    with unscoped("test check"):
        divisions = list(
            Division.objects.filter(tenant__slug="globex").values_list(
                "pk", "name", "data_scope__is_everyone", "updated_at"
            )
        )
        listed = sorted(
            Division.objects.filter(tenant__slug="globex").values_list(
                "pk", "data_scope__divisions"
            ),
            key=str,
        )
        jobs = list(
            Job.objects.filter(tenant__slug="globex").values_list(
                "pk", "title", "division_id", "updated_at"
            )
        )
        changes = DataScopeChange.objects.count()
    users = list(
        User.objects.filter(tenant__slug="globex").values_list(
            "pk", "username", "password", "is_staff", "is_active", "division_id"
        )
    )
    return divisions, listed, jobs, users, changes


@pytest.fixture
def acme_admin(client, world):
    client.force_login(world.u.acme_admin)
    return client


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_other_tenants_objects_answer_404_or_403(acme_admin, world, view):
    for prefix, pk in globex_objects(world):
        response = acme_admin.get(reverse(f"admin:{prefix}_{view}", args=[pk]))
        assert response.status_code in (403, 404), (prefix, pk, view)


def test_other_tenants_user_password_page_is_404(acme_admin, world):
    url = reverse("admin:auth_user_password_change", args=[world.u.gina.pk])
    assert acme_admin.get(url).status_code == 404
    response = acme_admin.post(url, {"password1": "Hijacked-pw-1", "password2": "Hijacked-pw-1"})
    assert response.status_code == 404


def test_posts_against_other_tenants_objects_change_nothing(acme_admin, world):
    before = snapshot_of_globex()
    forged = {
        "name": "Hijacked",
        "title": "Hijacked",
        "status": "done",
        "is_everyone": "on",
        "listed_divisions": [world.d.hq.pk],
        "username": "hijacked",
        "is_active": "on",
        "post": "yes",
    }
    for prefix, pk in globex_objects(world):
        for view in ("change", "delete"):
            response = acme_admin.post(reverse(f"admin:{prefix}_{view}", args=[pk]), forged)
            assert response.status_code in (403, 404), (prefix, pk, view)
    assert snapshot_of_globex() == before


@pytest.mark.parametrize(
    ("app", "model"),
    [("divisions", "division"), ("divisions", "datascope"), ("divisions", "user"), ("jobs", "job")],
)
@pytest.mark.parametrize("popup", [False, True])
def test_changelists_show_only_the_own_tenant(acme_admin, world, app, model, popup):
    url = reverse(f"admin:{app}_{model}_changelist")
    if popup:
        url += "?_popup=1&_to_field=id"
    response = acme_admin.get(url)
    assert response.status_code == 200
    with unscoped("test expectation"):
        expected = {
            "division": set(
                Division.objects.filter(tenant__slug="acme").values_list("pk", flat=True)
            ),
            "datascope": set(
                Division.objects.filter(tenant__slug="acme").values_list("data_scope", flat=True)
            ),
            "job": set(Job.objects.filter(tenant__slug="acme").values_list("pk", flat=True)),
            "user": set(
                User.objects.filter(tenant__slug="acme", is_superuser=False).values_list(
                    "pk", flat=True
                )
            ),
        }
    if popup:
        # A popup row links back with its id, not to a change page.
        ids = {
            int(pk) for pk in re.findall(r'data-popup-opener="(\d+)"', response.content.decode())
        }
    else:
        ids = change_links(response, app, model)
    assert ids == expected[model]


def test_user_list_filter_offers_own_divisions_only(acme_admin, world):
    response = acme_admin.get(reverse("admin:divisions_user_changelist"))
    text = response.content.decode()
    assert f"division__id__exact={world.d.hq.pk}" in text
    assert f"division__id__exact={world.d.ops.pk}" not in text
    assert "Globex" not in text


def test_autocomplete_offers_own_divisions_only(acme_admin, world):
    url = reverse("admin:autocomplete")
    params = {"app_label": "jobs", "model_name": "job", "field_name": "division"}
    everything = acme_admin.get(url, {**params, "term": ""}).json()
    assert {row["text"] for row in everything["results"]} == {
        "Electrical",
        "Head Office",
        "Plumbing",
        "Sparks",
    }
    assert acme_admin.get(url, {**params, "term": "Ops"}).json()["results"] == []


def test_new_division_joins_the_admins_tenant(acme_admin, world):
    response = acme_admin.post(reverse("admin:divisions_division_add"), {"name": "Roofing"})
    assert response.status_code == 302
    with unscoped("test check"):
        division = Division.objects.get(name="Roofing")
        assert division.tenant == world.tenants.acme
        assert division.data_scope.tenant_id == world.tenants.acme.pk


def test_tenant_cannot_be_chosen_for_a_new_division(acme_admin, world):
    response = acme_admin.post(
        reverse("admin:divisions_division_add"),
        {"name": "Planted", "tenant": world.tenants.globex.pk},
    )
    assert response.status_code == 302
    with unscoped("test check"):
        assert Division.objects.get(name="Planted").tenant == world.tenants.acme


def test_duplicate_division_name_is_a_form_error(acme_admin, world):
    response = acme_admin.post(reverse("admin:divisions_division_add"), {"name": "Plumbing"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_job_cannot_be_put_in_another_tenants_division(acme_admin, world):
    response = acme_admin.post(
        reverse("admin:jobs_job_add"),
        {
            "title": "Forged",
            "status": "open",
            "division": world.d.ops.pk,
            "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    with unscoped("test check"):
        assert not Job.objects.filter(title="Forged").exists()


def test_new_user_joins_the_admins_tenant_and_division_is_checked(acme_admin, world):
    form = {
        "username": "newbie",
        "usable_password": "true",
        "password1": "A-long-passphrase-9",
        "password2": "A-long-passphrase-9",
    }
    forged = acme_admin.post(
        reverse("admin:divisions_user_add"), {**form, "division": world.d.ops.pk}
    )
    assert forged.status_code == 200
    with unscoped("check"):
        assert not User.objects.filter(username="newbie").exists()
    response = acme_admin.post(
        reverse("admin:divisions_user_add"), {**form, "division": world.d.hq.pk}
    )
    assert response.status_code == 302
    with unscoped("check"):
        user = User.objects.get(username="newbie")
    assert (user.tenant_id, user.division_id) == (world.tenants.acme.pk, world.d.hq.pk)


def test_tenant_admin_cannot_make_a_superuser(acme_admin, world):
    alice = world.u.alice
    url = reverse("admin:divisions_user_change", args=[alice.pk])
    page = acme_admin.get(url).content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="user_permissions"' not in page
    acme_admin.post(
        url,
        {
            "username": "alice",
            "division": world.d.hq.pk,
            "is_active": "on",
            "is_superuser": "on",
            "user_permissions": [1],
            **loaded_as(acme_admin, url),
        },
    )
    with unscoped("check"):
        alice.refresh_from_db()
        assert not alice.is_superuser
        assert not alice.user_permissions.exists()


def test_tenants_and_groups_are_not_a_tenant_admins(acme_admin):
    for name in ("admin:divisions_tenant_changelist", "admin:auth_group_changelist"):
        assert acme_admin.get(reverse(name)).status_code == 403
    index = acme_admin.get(reverse("admin:index")).content.decode()
    assert "/admin/divisions/tenant/" not in index
    assert "/admin/auth/group/" not in index


def test_bulk_delete_of_other_tenants_jobs_deletes_nothing(acme_admin, world):
    targets = [world.jobs.ops.pk, world.jobs.field.pk, world.jobs.globex_unassigned.pk]
    acme_admin.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "delete_selected", "_selected_action": targets, "post": "yes"},
    )
    with unscoped("test check"):
        assert Job.objects.filter(pk__in=targets).count() == 3
