"""Every admin page each role can reach renders, and none answers with a server error."""

import pytest
from django.contrib import admin
from django.urls import reverse
from guardian.shortcuts import assign_perm

from divisions.models import AccessReview, User
from divisions.scoping import unscoped
from jobs.models import JobNote
from proone.gate.admin import readable
from tests.login_history import history_of


def own_object(world, model):
    """One object of `model` in Acme (any object for models without a tenant; none for tables
    the app's database role may not read, such as the migration gate's on PostgreSQL)."""
    with unscoped("test setup"):
        return {
            "division": world.d.electrical,
            "datascope": world.d.electrical.data_scope,
            "user": world.u.alice,
            "job": world.jobs.electrical,
            "jobnote": JobNote.objects.get_or_create(job=world.jobs.electrical, body="Cable")[0],
            "tenant": world.tenants.acme,
            "accessreview": AccessReview.objects.get_or_create(
                tenant=world.tenants.acme, reviewed_by_name="acme-admin", matrix={}
            )[0],
            **history_of("alice"),
        }.get(model._meta.model_name) or (
            model._default_manager.first() if readable(model) else None
        )


# Status of each page: changelist, add, change, history, delete, change of a missing id.
# A role's own pages answer 200; another role's 403; a missing row of a tenant-owned model 404
# (the same answer as another tenant's row); a DataScope is never added or deleted alone.
OPERATORS_ONLY = "403 403 403 403 403 403"
NOT_THEIRS = "403 403 403 403 403 404"
NOT_READ = "403 403 404 404 404 404"  # rows the role does not even read: as a missing row
SCOPE = "200 403 200 200 403 404"
TENANT_OWNED = "200 200 200 200 200 404"
PLATFORM_WIDE = "200 200 200 200 200 302"  # Django's own answer for a missing row
NOTES = "200 403 200 200 200 404"  # read-only: a note is written on its job's page
UNLOCK = "200 403 200 200 200 404"  # login attempts: read-only, deleting one unlocks
HISTORY = "200 403 200 200 403 404"  # sign-ins and failures: read-only
REVIEWS = "200 403 200 200 403 404"  # read-only: recorded on the access matrix page
LOGIN_HISTORY = {"accessattempt": UNLOCK, "accesslog": HISTORY, "accessfailurelog": HISTORY}
EXPECTED = {
    "acme_admin": {
        "tenant": OPERATORS_ONLY,
        "group": OPERATORS_ONLY,
        "datascope": SCOPE,
        "division": TENANT_OWNED,
        "job": TENANT_OWNED,
        "jobnote": NOTES,
        "user": TENANT_OWNED,
        "accessreview": REVIEWS,
        **LOGIN_HISTORY,
    },
    "elle": {
        "tenant": OPERATORS_ONLY,
        "group": OPERATORS_ONLY,
        "datascope": SCOPE,
        "division": NOT_THEIRS,
        "job": NOT_THEIRS,
        "jobnote": NOT_THEIRS,
        "user": NOT_THEIRS,
        "accessreview": NOT_READ,
        **dict.fromkeys(LOGIN_HISTORY, OPERATORS_ONLY),
    },
    "operator": {
        "tenant": PLATFORM_WIDE,
        "group": PLATFORM_WIDE,
        "datascope": SCOPE,
        "division": TENANT_OWNED,
        "job": TENANT_OWNED,
        "jobnote": NOTES,
        "user": TENANT_OWNED,
        "accessreview": REVIEWS,
        **LOGIN_HISTORY,
    },
}


def statuses(client, prefix, obj):
    """The statuses of a model's admin pages, in the order of EXPECTED."""
    urls = [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
    urls += [reverse(f"{prefix}_{view}", args=[obj.pk]) for view in ("change", "history", "delete")]
    urls.append(reverse(f"{prefix}_change", args=["not-a-number"]))
    # The test client raises any exception a view lets escape: a 500 fails here.
    return " ".join(str(client.get(url).status_code) for url in urls)


@pytest.mark.parametrize("role", ["acme_admin", "elle", "operator"])
def test_each_role_gets_its_pages_and_no_others(client, world, role):
    """Every organisation page answers each role as the admin's policy says, never a 500."""
    user = getattr(world.u, role)
    if role == "elle":
        with unscoped("test setup"):
            assign_perm("divisions.change_datascope", user, world.d.electrical.data_scope)
            User.objects.filter(pk=user.pk).update(is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:index")).status_code == 200
    got = {}
    for model in admin.site._registry:
        name = model._meta.model_name
        prefix = f"admin:{model._meta.app_label}_{name}"
        changelist = reverse(f"{prefix}_changelist")
        listed = client.get(changelist).status_code
        if name in EXPECTED[role]:
            got[name] = statuses(client, prefix, own_object(world, model))
        elif role != "operator":
            # The gate's pages are the platform operators' alone.
            assert listed == 403, changelist
        # Odd parameters on a page the role may list: the page or the admin's ?e=1, no error.
        odd = client.get(changelist + "?q=e&o=1&p=2&_popup=1&_to_field=id")
        bad_filter = client.get(changelist + "?division__id__exact=not-a-number")
        if listed == 200:
            assert odd.status_code == 200, changelist
            assert bad_filter.status_code == 302 and bad_filter["Location"].endswith("?e=1")
        else:
            assert odd.status_code == bad_filter.status_code == 403, changelist
    assert got == EXPECTED[role]
