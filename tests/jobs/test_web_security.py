"""Sign-in, sign-out, throttling, CSRF, CSP, error pages and the deploy checklist."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.views.defaults import bad_request, permission_denied, server_error

LOGIN = "/accounts/login/"
PASSWORD = "pw-for-tests-1"
ROOT = Path(__file__).resolve().parents[2]


def sign_in(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


class TestSignIn:
    def test_root_and_the_list_send_anonymous_visitors_to_the_login_page(self, client, world):
        response = client.get("/", follow=True)
        assert response.redirect_chain == [("/jobs/", 302), ("/accounts/login/?next=/jobs/", 302)]
        assert response.status_code == 200
        assert "Sign in" in response.content.decode()

    @pytest.mark.parametrize("path", ["/jobs/", "/jobs/1/", "/jobs/?q=x"])
    def test_every_portal_page_needs_a_login(self, client, world, path):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")

    def test_the_login_form_signs_in_and_lands_on_the_jobs(self, client, world):
        response = sign_in(client, "sam")
        assert response.status_code == 302
        assert response["Location"] == "/jobs/"
        body = client.get("/jobs/").content.decode()
        assert "Sparks" in body and "Acme" in body  # division and tenant in the header

    def test_a_wrong_password_says_so_without_saying_which_part(self, client, world):
        wrong_user = sign_in(client, "nobody-here")
        wrong_password = sign_in(client, "sam", "wrong")
        for response in (wrong_user, wrong_password):
            assert response.status_code == 200
            assert "Please enter a correct username and password" in response.content.decode()

    def test_inactive_users_cannot_sign_in_or_keep_a_session(self, client, world):
        sign_in(client, "inactive")
        assert client.get("/jobs/").status_code == 302
        client.force_login(world.u.inactive)
        assert client.get("/jobs/").status_code == 302

    def test_next_only_goes_to_this_site(self, client, world):
        response = client.post(
            f"{LOGIN}?next=https://evil.example/", {"username": "sam", "password": PASSWORD}
        )
        assert response["Location"] == "/jobs/"

    @pytest.mark.parametrize(
        "data",
        [
            {"username": "sam\x00", "password": PASSWORD},
            {"username": "s" * 5000, "password": "p" * 5000},
            {"username": "", "password": ""},
            {"username": "💥‮", "password": "\x00"},
            {},
        ],
    )
    def test_odd_input_is_a_form_error(self, client, world, data):
        response = client.post(LOGIN, data)
        assert response.status_code == 200
        assert not response.wsgi_request.user.is_authenticated


class TestSignOut:
    def test_get_does_not_sign_out(self, client, world):
        client.force_login(world.u.sam)
        assert client.get("/accounts/logout/").status_code == 405
        assert client.get("/jobs/").status_code == 200

    def test_post_signs_out_and_returns_to_the_login_page(self, client, world):
        client.force_login(world.u.sam)
        response = client.post("/accounts/logout/")
        assert response.status_code == 302
        assert response["Location"] == LOGIN
        assert "You have signed out." in client.get(LOGIN).content.decode()
        assert client.get("/jobs/").status_code == 302

    def test_every_page_offers_a_csrf_protected_logout(self, client, world):
        client.force_login(world.u.sam)
        body = client.get("/jobs/").content.decode()
        form = re.search(
            r'<form class="logout" method="post" action="/accounts/logout/">.*?</form>', body, re.S
        )
        assert form and "csrfmiddlewaretoken" in form.group(0)


class TestCsrf:
    def test_login_without_a_token_is_refused(self, world):
        client = Client(enforce_csrf_checks=True)
        response = client.post(LOGIN, {"username": "sam", "password": PASSWORD})
        assert response.status_code == 403
        assert "Your form expired" in response.content.decode()

    def test_logout_without_a_token_is_refused(self, world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.u.sam)
        assert client.post("/accounts/logout/").status_code == 403
        assert client.get("/jobs/").status_code == 200

    def test_login_with_the_forms_token_works(self, world):
        client = Client(enforce_csrf_checks=True)
        body = client.get(LOGIN).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
        response = client.post(
            LOGIN, {"username": "sam", "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302


class TestThrottling:
    def test_locked_out_after_repeated_failures_even_with_the_right_password(
        self, client, world, settings
    ):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert sign_in(client, "sam", "wrong").status_code == 200
        assert sign_in(client, "sam", "wrong").status_code == 429
        response = sign_in(client, "sam")
        assert response.status_code == 429
        assert "Too many failed sign-in attempts" in response.content.decode()
        assert client.get("/jobs/").status_code == 302

    def test_another_username_from_the_same_address_is_not_locked(self, client, world, settings):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, "sam", "wrong")
        assert sign_in(client, "alice").status_code == 302

    def test_a_success_before_the_limit_resets_the_count(self, client, world, settings):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            sign_in(client, "sam", "wrong")
        assert sign_in(client, "sam").status_code == 302
        client.post("/accounts/logout/")
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            sign_in(client, "sam", "wrong")
        assert sign_in(client, "sam").status_code == 302


class TestHeaders:
    @pytest.mark.parametrize("path", ["/accounts/login/", "/jobs/", "/jobs/999999/"])
    def test_csp_allows_only_own_scripts_and_styles(self, client, world, path):
        client.force_login(world.u.sam)
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(
            (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
        )
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy

    @pytest.mark.parametrize("path", ["/accounts/login/", "/jobs/", "/jobs/999999/"])
    def test_pages_carry_no_inline_script_or_style(self, client, world, path):
        if path != "/accounts/login/":
            client.force_login(world.u.acme_admin)
        body = client.get(path).content.decode()
        assert "<script" not in body
        assert "<style" not in body and " style=" not in body
        assert re.search(r"\son[a-z]+=", body) is None  # no inline event handlers
        assert "http://" not in body and "https://" not in body  # no CDN, works offline

    def test_pages_forbid_framing_and_sniffing(self, client, world):
        response = client.get(LOGIN)
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"

    def test_the_stylesheet_is_served_by_the_app(self, client):
        response = client.get("/static/proone/portal.css")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/css")
        assert b".jobs-table" in b"".join(response.streaming_content)

    def test_cookies_are_secure_when_debug_is_off(self, client, world, settings):
        assert not settings.DEBUG
        response = sign_in(client, "sam")
        assert response.cookies["sessionid"]["secure"]
        assert response.cookies["sessionid"]["httponly"]
        assert response.cookies["csrftoken"]["secure"]


class TestErrorPages:
    """Every error page is ours, says what happened and echoes nothing from the request."""

    def test_404_for_an_unknown_page(self, client, world):
        response = client.get("/no-such-page/<script>x</script>")
        assert response.status_code == 404
        body = response.content.decode()
        assert "Page not found" in body and "no-such-page" not in body and "<script" not in body

    @pytest.mark.parametrize(
        ("view", "status", "text"),
        [
            (bad_request, 400, "Bad request"),
            (permission_denied, 403, "Not allowed"),
        ],
    )
    def test_400_and_403(self, rf, view, status, text):
        response = view(rf.get("/x"), Exception("secret detail"))
        assert response.status_code == status
        body = response.content.decode()
        assert text in body and "secret detail" not in body

    def test_500_needs_nothing_from_the_request(self, rf):
        response = server_error(rf.get("/x"))
        assert response.status_code == 500
        assert "Something went wrong" in response.content.decode()

    def test_a_bad_host_is_a_400_page(self, client):
        assert client.get("/jobs/", HTTP_HOST="evil.example").status_code == 400


class TestDeployChecks:
    def test_manage_py_check_deploy_is_clean_with_production_settings(self, tmp_path):
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "SECURE_", "DATABASE", "DEBUG", "SECRET", "GATE_"))
        }
        environment.update(
            DJANGO_SETTINGS_MODULE="proone.settings",
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(64),
            ALLOWED_HOSTS="portal.example.com",
            DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        )
        result = subprocess.run(  # noqa: S603 - our own manage.py with a fixed argument list
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout

    def test_production_settings_turn_the_https_protections_on(self, tmp_path):
        code = (
            "from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_HSTS_SECONDS > 0, s.AUTHENTICATION_BACKENDS[0])"
        )
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG"))},
            "DJANGO_SETTINGS_MODULE": "proone.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
        }
        result = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.stdout.split() == [
            "True",
            "True",
            "True",
            "True",
            "axes.backends.AxesStandaloneBackend",
        ], result.stderr


def test_the_admin_login_is_throttled_too(client, world, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "acme-admin", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "acme-admin", "password": PASSWORD})
    assert response.status_code == 429
