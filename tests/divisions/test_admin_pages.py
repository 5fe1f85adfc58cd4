"""Every admin page each role can reach renders, and none answers with a server error."""

import pytest
from django.contrib import admin
from django.urls import reverse
from guardian.shortcuts import assign_perm

from divisions.models import User
from divisions.scoping import unscoped
from proone.gate.admin import readable


def own_object(world, model):
    """One object of `model` in Acme (any object for models without a tenant; none for tables
    the app's database role may not read, such as the migration gate's on PostgreSQL)."""
    with unscoped("test setup"):
        return {
            "division": world.d.electrical,
            "datascope": world.d.electrical.data_scope,
            "user": world.u.alice,
            "job": world.jobs.electrical,
            "tenant": world.tenants.acme,
        }.get(model._meta.model_name) or (
            model._default_manager.first() if readable(model) else None
        )


@pytest.mark.parametrize("role", ["acme_admin", "elle", "operator"])
def test_no_admin_page_is_a_server_error(client, world, role):
    user = getattr(world.u, role)
    if role == "elle":
        with unscoped("test setup"):
            assign_perm("divisions.change_datascope", user, world.d.electrical.data_scope)
            User.objects.filter(pk=user.pk).update(is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 200
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist = reverse(f"{prefix}_changelist")
        urls = [
            changelist,
            changelist + "?q=e&o=1&p=2&_popup=1&_to_field=id",
            changelist + "?division__id__exact=not-a-number",
            reverse(f"{prefix}_add"),
        ]
        obj = own_object(world, model)
        if obj is not None:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"{prefix}_{view}", args=[obj.pk]))
        urls.append(reverse(f"{prefix}_change", args=["not-a-number"]))
        for url in urls:
            # The test client raises any exception a view lets escape: a 500 fails here.
            assert client.get(url).status_code in (200, 302, 403, 404), url
