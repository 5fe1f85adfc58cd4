"""No admin edit silently lost: a change page gone stale is refused, naming what changed."""

import threading
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from divisions.admin_concurrency import LOADED_AS
from divisions.grants import make_manager, scope_managers
from divisions.models import DataScope, DataScopeChange, Division, User
from divisions.scoping import unscoped
from jobs.models import Job
from tests.admin_forms import opened, post_change_form


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def scope_url(division):
    return reverse("admin:divisions_datascope_change", args=[division.data_scope_id])


def stored(model, pk, *fields):
    with unscoped("test check"):
        return model.objects.values_list(*fields).get(pk=pk)


def listed(division):
    with unscoped("test check"):
        scope = DataScope.objects.get(pk=division.data_scope_id)
        return sorted(str(listed) for listed in scope.divisions.all())


def errors_of(response):
    """The page's non-field errors, as Django's admin shows them above the fieldsets."""
    assert response.status_code == 200
    return list(response.context["adminform"].form.non_field_errors())


def ids(*divisions):
    return [str(division.pk) for division in divisions]


# One row per model: the change page, the field two people edit, the two values they save,
# and how the value the first one saved reads in the refusal.
CASES = {
    "datascope": (
        lambda world: scope_url(world.d.electrical),
        "listed_divisions",
        lambda world: ids(world.d.hq, world.d.plumbing),
        lambda world: ids(world.d.sparks),
        "Divisions that also see these jobs",
        "Head Office, Plumbing",
    ),
    "division": (
        lambda world: reverse("admin:divisions_division_change", args=[world.d.plumbing.pk]),
        "name",
        lambda world: "Pipes",
        lambda world: "Plumbing and heating",
        "Name",
        "Pipes",
    ),
    "job": (
        lambda world: reverse("admin:jobs_job_change", args=[world.jobs.electrical.pk]),
        "status",
        lambda world: "done",
        lambda world: "cancelled",
        "Status",
        "Done",
    ),
    "user": (
        lambda world: reverse("admin:divisions_user_change", args=[world.u.elle.pk]),
        "email",
        lambda world: "elle@acme.example",
        lambda world: "elle.e@acme.example",
        "Email address",
        "elle@acme.example",
    ),
}


def value_now(world, model):
    with unscoped("test check"):
        if model == "datascope":
            return ids(*DataScope.objects.get(pk=world.d.electrical.data_scope_id).divisions.all())
        if model == "division":
            return Division.objects.get(pk=world.d.plumbing.pk).name
        if model == "job":
            return Job.objects.get(pk=world.jobs.electrical.pk).status
        return User.objects.get(pk=world.u.elle.pk).email


@pytest.mark.parametrize("model", CASES)
def test_second_of_two_stale_forms_is_refused_and_changes_nothing(world, model):
    """Two tenant admins open the same change page; the first saves; the second's save, made
    from the page loaded before, is a form error naming the field and its value now."""
    url, field, first, second, label, shown = CASES[model]
    url = url(world)
    one, two = signed_in(world.u.acme_admin), signed_in(world.u.acme_admin)
    page_one, page_two = opened(one, url), opened(two, url)

    assert one.post(url, {**page_one, field: first(world)}).status_code == 302
    assert sorted(value_now(world, model)) == sorted(first(world))
    with unscoped("test check"):
        # The page's fingerprint is no change of the row: the log names the field alone.
        assert LogEntry.objects.latest("pk").get_change_message() == f"Changed {label}."

    response = two.post(url, {**page_two, field: second(world)})
    assert errors_of(response) == [
        f"{label} was changed by someone else since you opened this page: now {shown}. "
        "Reload to see it."
    ]
    assert "Please correct the error below." in response.content.decode()
    assert sorted(value_now(world, model)) == sorted(first(world))

    # Reloaded, the same change saves.
    assert post_change_form(two, url, {field: second(world)}).status_code == 302
    assert sorted(value_now(world, model)) == sorted(second(world))


@pytest.mark.parametrize("model", CASES)
def test_a_page_that_does_not_say_what_it_was_opened_on_is_refused(world, model):
    """A POST without `loaded_as`, with a forged one, or with another row's, saves nothing."""
    url, field, first, _second, _label, _shown = CASES[model]
    url = url(world)
    client = signed_in(world.u.acme_admin)
    before = value_now(world, model)
    other_row = opened(client, scope_url(world.d.plumbing))[LOADED_AS]
    for loaded_as in (None, "", "garbage", opened(client, url)[LOADED_AS] + "x", other_row):
        data = {**opened(client, url), field: first(world)}
        if loaded_as is None:
            del data[LOADED_AS]
        else:
            data[LOADED_AS] = loaded_as
        [error] = errors_of(client.post(url, data))
        assert error.startswith("This page does not say which version of this "), loaded_as
        assert error.endswith("it was opened on. Reload it and make your change again.")
        assert value_now(world, model) == before


def test_manager_and_tenant_admin_on_the_same_scope(world):
    """The reported case: a division manager (alice, as acme-manager in the demo) and
    acme-admin open Electrical's scope; the manager saves Head Office and Plumbing; the
    admin's save of the page loaded earlier is refused, and the manager's change stays,
    recorded once."""
    with unscoped("test setup"):
        make_manager(world.u.alice, world.d.electrical.data_scope)
    manager, admin = signed_in(world.u.alice), signed_in(world.u.acme_admin)
    url = scope_url(world.d.electrical)
    manager_page, admin_page = opened(manager, url), opened(admin, url)
    assert "managers" not in manager_page and admin_page["managers"] == [str(world.u.alice.pk)]

    response = manager.post(
        url, {**manager_page, "listed_divisions": ids(world.d.hq, world.d.plumbing)}
    )
    assert response.status_code == 302
    response = admin.post(
        url, {**admin_page, "listed_divisions": ids(world.d.plumbing, world.d.sparks)}
    )
    assert errors_of(response) == [
        "Divisions that also see these jobs was changed by someone else since you opened this "
        "page: now Head Office, Plumbing. Reload to see it."
    ]
    assert listed(world.d.electrical) == ["Head Office", "Plumbing"]
    with unscoped("test check"):
        changes = list(DataScopeChange.objects.values_list("changed_by_name", "after"))
        assert list(scope_managers(world.d.electrical.data_scope)) == [world.u.alice]
    assert changes == [("alice", {"is_everyone": False, "divisions": ["Head Office", "Plumbing"]})]


def test_a_change_the_page_does_not_show_leaves_it_fit_to_save(world):
    """The tenant admin grants a second manager (a field the manager's page does not have):
    the manager's page, opened before, still saves, and the grant stays."""
    with unscoped("test setup"):
        make_manager(world.u.alice, world.d.electrical.data_scope)
    manager, admin = signed_in(world.u.alice), signed_in(world.u.acme_admin)
    url = scope_url(world.d.electrical)
    manager_page = opened(manager, url)
    response = post_change_form(admin, url, {"managers": ids(world.u.alice, world.u.elle)})
    assert response.status_code == 302

    response = manager.post(url, {**manager_page, "listed_divisions": ids(world.d.plumbing)})
    assert response.status_code == 302
    assert listed(world.d.electrical) == ["Plumbing"]
    with unscoped("test check"):
        managers = {user.username for user in scope_managers(world.d.electrical.data_scope)}
    assert managers == {"alice", "elle"}


def test_a_sign_in_does_not_make_the_user_page_stale(world):
    """elle signs in (last_login, shown read-only) after her page was opened: it still saves."""
    admin = signed_in(world.u.acme_admin)
    url = reverse("admin:divisions_user_change", args=[world.u.elle.pk])
    page = opened(admin, url)
    signed_in(world.u.elle)
    assert stored(User, world.u.elle.pk, "last_login")[0] is not None
    assert admin.post(url, {**page, "first_name": "Elle"}).status_code == 302
    assert stored(User, world.u.elle.pk, "first_name") == ("Elle",)


def test_the_same_change_made_twice_is_not_a_conflict(world):
    """Both pages rename Plumbing to Pipes: the second save replaces nothing, so it saves; a
    stale page that changes another field would put back the old name, so it is refused."""
    url = reverse("admin:divisions_division_change", args=[world.d.plumbing.pk])
    one, two = signed_in(world.u.acme_admin), signed_in(world.u.acme_admin)
    page_one, page_two = opened(one, url), opened(two, url)
    assert one.post(url, {**page_one, "name": "Pipes"}).status_code == 302
    assert two.post(url, {**page_two, "name": "Pipes"}).status_code == 302

    job_url = reverse("admin:jobs_job_change", args=[world.jobs.electrical.pk])
    page_one, page_two = opened(one, job_url), opened(two, job_url)
    assert one.post(job_url, {**page_one, "title": "Rewire Level 2"}).status_code == 302
    response = two.post(job_url, {**page_two, "status": "done"})
    assert errors_of(response) == [
        "Title was changed by someone else since you opened this page: now Rewire Level 2. "
        "Reload to see it."
    ]
    assert stored(Job, world.jobs.electrical.pk, "title", "status") == ("Rewire Level 2", "open")


def test_the_refusal_escapes_what_it_quotes(world):
    """A division named with markup is quoted as text in the refusal, never as HTML."""
    url = reverse("admin:divisions_division_change", args=[world.d.plumbing.pk])
    one, two = signed_in(world.u.acme_admin), signed_in(world.u.acme_admin)
    page_two = opened(two, url)
    post_change_form(one, url, {"name": "<script>alert(1)</script>"})
    page = two.post(url, {**page_two, "name": "Pipes"}).content.decode()
    assert "now &lt;script&gt;alert(1)&lt;/script&gt;." in page
    assert "<script>alert(1)" not in page


def test_the_page_carries_what_it_was_opened_on_as_a_hidden_field(world):
    admin = signed_in(world.u.acme_admin)
    for url in (
        scope_url(world.d.electrical),
        reverse("admin:divisions_division_change", args=[world.d.plumbing.pk]),
        reverse("admin:jobs_job_change", args=[world.jobs.electrical.pk]),
        reverse("admin:divisions_user_change", args=[world.u.elle.pk]),
    ):
        page = admin.get(url).content.decode()
        assert f'<input type="hidden" name="{LOADED_AS}" value="' in page, url
    # An add page has nothing to go stale.
    assert LOADED_AS not in admin.get(reverse("admin:divisions_division_add")).content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_save_waits_for_the_one_under_way_then_sees_it(world):
    """The race: while another transaction holds Electrical's scope (saving Head Office and
    Plumbing, not yet committed), the admin saves a page opened before. The admin's save
    waits on the row lock taken before its check, then sees the committed change and is
    refused; without that lock it would pass the check on the old row and overwrite."""
    admin = signed_in(world.u.acme_admin)
    url = scope_url(world.d.electrical)
    page = opened(admin, url)
    responses = []

    def save_stale_page():
        try:
            responses.append(admin.post(url, {**page, "listed_divisions": ids(world.d.sparks)}))
        finally:
            connection.close()

    saver = threading.Thread(target=save_stale_page)
    with unscoped("the other admin's save"), transaction.atomic():
        scope = DataScope.objects.select_for_update().get(pk=world.d.electrical.data_scope_id)
        scope.set_divisions([world.d.hq, world.d.plumbing])
        scope.save()
        saver.start()
        time.sleep(1.5)
        assert saver.is_alive(), "the stale save did not wait for the row lock"
    saver.join(30)
    [response] = responses
    assert errors_of(response) == [
        "Divisions that also see these jobs was changed by someone else since you opened this "
        "page: now Head Office, Plumbing. Reload to see it."
    ]
    assert listed(world.d.electrical) == ["Head Office", "Plumbing"]
