"""The login history (django-axes) on both backends: sign-in, lockout, sign-out and resets work
for the username they are about, and each tenant admin sees and unlocks only its tenant's."""

import pytest
from axes.models import AccessAttempt, AccessLog
from django.core.management import call_command
from django.urls import reverse

from divisions.scoping import unscoped
from tests.login_history import history_of

PASSWORD = "pw-for-tests-1"
ATTEMPTS = "admin:axes_accessattempt_changelist"


def sign_in(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def lock_out(client, username, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, username, "wrong")
    assert sign_in(client, username).status_code == 429


def attempts():
    with unscoped("test check"):
        return {a.username: a.failures_since_start for a in AccessAttempt.objects.all()}


def test_failures_are_counted_for_the_username_and_reset_by_a_sign_in(client, world, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "sam", "wrong")
    sign_in(client, "gina", "wrong")
    assert attempts() == {"sam": settings.AXES_FAILURE_LIMIT - 1, "gina": 1}
    assert sign_in(client, "sam").status_code == 302
    assert attempts() == {"gina": 1}


def test_a_sign_in_and_its_sign_out_are_logged(client, world):
    assert sign_in(client, "sam").status_code == 302
    client.post("/accounts/logout/")
    with unscoped("test check"):
        (entry,) = AccessLog.objects.all()
    assert entry.username == "sam"
    assert entry.logout_time is not None


def test_a_tenant_admin_unlocks_a_user_of_its_tenant(client, world, settings):
    lock_out(client, "sam", settings)
    admin = type(client)()
    admin.force_login(world.u.acme_admin)
    attempt = _attempt_of("sam")
    response = admin.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert sign_in(client, "sam").status_code == 302


def _attempt_of(username):
    with unscoped("test check"):
        return AccessAttempt.objects.get(username=username)


@pytest.mark.parametrize("table", ["accessattempt", "accesslog", "accessfailurelog"])
def test_a_tenant_admin_sees_its_tenants_history_only(client, world, table):
    rows = {name: history_of(name)[table] for name in ("alice", "gina", "globex-admin", "x")}
    client.force_login(world.u.acme_admin)
    listed = client.get(reverse(f"admin:axes_{table}_changelist"))
    assert listed.status_code == 200
    shown = {row.username for row in listed.context["cl"].result_list}
    assert shown - {"acme-admin"} == {"alice"}  # acme-admin's own sign-in is its tenant's too
    for name in ("gina", "globex-admin", "x"):
        url = reverse(f"admin:axes_{table}_change", args=[rows[name].pk])
        assert client.get(url).status_code == 404


def test_a_tenant_admin_cannot_unlock_another_tenants_user(client, world):
    gina = history_of("gina")["accessattempt"]
    client.force_login(world.u.acme_admin)
    url = reverse("admin:axes_accessattempt_delete", args=[gina.pk])
    assert client.post(url, {"post": "yes"}).status_code == 404
    changelist = reverse(ATTEMPTS)
    forged = {"action": "delete_selected", "_selected_action": [gina.pk], "post": "yes"}
    client.post(changelist, forged)
    assert _attempt_of("gina")


def test_a_platform_operator_sees_and_unlocks_every_tenants_users(client, world):
    made = {name: history_of(name)["accessattempt"] for name in ("alice", "gina", "x")}
    client.force_login(world.u.operator)
    listed = client.get(reverse(ATTEMPTS))
    assert {row.username for row in listed.context["cl"].result_list} == set(made)
    url = reverse("admin:axes_accessattempt_delete", args=[made["gina"].pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert set(attempts()) == {"alice", "x"}


def test_members_get_no_login_history_page(client, world):
    history_of("sam")
    client.force_login(world.u.sam)
    assert client.get(reverse(ATTEMPTS)).status_code == 302  # to the admin's sign-in page


def test_django_axes_reset_commands_run_as_system_work(world):
    for name in ("alice", "gina"):
        history_of(name)
    call_command("axes_reset_username", "gina")
    assert set(attempts()) == {"alice"}
    call_command("axes_reset")
    call_command("axes_reset_logs", "--age", "0")
    assert attempts() == {}
    with unscoped("test check"):
        assert not AccessLog.objects.exists()
