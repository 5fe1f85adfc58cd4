"""The JSON API on both backends: each token state, the same 404, 400s, notes, throttling."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api import tokens
from api.models import AccessToken
from divisions.models import User
from divisions.scoping import acting_as, unscoped
from jobs.models import NOTE_MAX_LENGTH, Job, JobNote
from tests.oracle import snapshot, visible_jobs

from .conftest import bearer, mint

NOT_FOUND = {"detail": "Not found."}


def ids(response):
    assert response.status_code == 200, response.content
    return {job["id"] for job in response.json()["results"]}


def notes_of(job):
    with unscoped("test check"):
        return list(JobNote.objects.filter(job=job).values_list("body", flat=True))


class TestTokenStates:
    def test_a_valid_token_lists_exactly_its_users_jobs(self, world, api):
        _, token = mint(world.u.sam)
        assert ids(api("get", "/api/jobs/", token)) == visible_jobs(snapshot(), world.u.sam)

    def test_a_missing_token_is_a_401_asking_for_a_bearer_token(self, world, api):
        response = api("get", "/api/jobs/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert response.json() == {"detail": "Authentication credentials were not provided."}

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer proone_pat_" + "x" * 43,
            "Bearer not-a-token",
            "Bearer ",
            "Basic YWxpY2U6cGFzc3dvcmQ=",
            "Token proone_pat_" + "x" * 43,
        ],
    )
    def test_a_wrong_token_is_a_401(self, world, client, header):
        response = client.get("/api/jobs/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response.json() == {"detail": AUTH_INVALID}

    def test_a_revoked_token_is_a_401_at_once(self, world, api):
        stored, token = mint(world.u.sam)
        assert api("get", "/api/jobs/", token).status_code == 200
        with acting_as(world.u.sam):
            tokens.revoke(stored)
        response = api("get", "/api/jobs/", token)
        assert (response.status_code, response.json()) == (401, {"detail": AUTH_INVALID})

    def test_an_expired_token_is_a_401(self, world, api):
        _, live = mint(world.u.sam, expires_at=timezone.now() + timedelta(minutes=1))
        _, expired = mint(world.u.sam, expires_at=timezone.now() - timedelta(seconds=1))
        assert api("get", "/api/jobs/", live).status_code == 200
        response = api("get", "/api/jobs/", expired)
        assert (response.status_code, response.json()) == (401, {"detail": AUTH_INVALID})

    def test_a_deactivated_users_token_is_a_401_at_once(self, world, api):
        _, token = mint(world.u.alice)
        assert api("get", "/api/jobs/", token).status_code == 200
        with unscoped("test setup"):
            User.objects.filter(pk=world.u.alice.pk).update(is_active=False)
        response = api("get", "/api/jobs/", token)
        assert (response.status_code, response.json()) == (401, {"detail": AUTH_INVALID})

    def test_another_tenants_job_is_the_same_404_as_a_missing_one(self, world, api):
        _, token = mint(world.u.sam)
        missing = api("get", "/api/jobs/987654321/", token)
        other_tenant = api("get", f"/api/jobs/{world.jobs.field.pk}/", token)
        assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
        assert (other_tenant.status_code, other_tenant.content) == (404, missing.content)

    def test_another_divisions_job_is_the_same_404(self, world, api):
        """Same tenant, a private division sam's is not listed in: indistinguishable."""
        _, token = mint(world.u.sam)
        missing = api("get", "/api/jobs/987654321/notes/", token)
        hidden = api("get", f"/api/jobs/{world.jobs.hq.pk}/notes/", token)
        detail = api("get", f"/api/jobs/{world.jobs.hq.pk}/", token)
        assert missing.content == hidden.content == detail.content
        assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND)
        assert api("get", f"/api/jobs/{world.jobs.electrical.pk}/", token).status_code == 200

    def test_any_other_api_path_is_the_same_json_404(self, world, api):
        _, token = mint(world.u.sam)
        for path in ("/api/jobs/abc/", "/api/jobs/0/", f"/api/jobs/{2**64}/", "/api/nothing"):
            response = api("get", path, token)
            assert (response.status_code, response.json()) == (404, NOT_FOUND), path
        # No CSRF page either: an API client sends no CSRF token.
        posted = Client(enforce_csrf_checks=True).post(
            "/api/jobs/false/notes/", {}, content_type="application/json", **bearer(token)
        )
        assert (posted.status_code, posted.json()) == (404, NOT_FOUND)

    def test_a_token_acts_for_its_user_not_the_signed_in_one(self, world, api, client):
        client.force_login(world.u.acme_admin)
        _, token = mint(world.u.sam)
        assert ids(api("get", "/api/jobs/", token)) == visible_jobs(snapshot(), world.u.sam)

    def test_the_last_use_is_recorded(self, world, api):
        stored, token = mint(world.u.sam)
        assert stored.last_used_at is None
        before = timezone.now()
        api("get", "/api/jobs/", token)
        with acting_as(world.u.sam):
            stored.refresh_from_db()
        assert stored.last_used_at >= before

    def test_the_last_use_is_written_at_most_once_a_minute(self, world, api):
        stored, token = mint(world.u.sam)
        api("get", "/api/jobs/", token)
        with acting_as(world.u.sam):
            stored.refresh_from_db()
            first = stored.last_used_at
            api("get", "/api/jobs/", token)
            stored.refresh_from_db()
            assert stored.last_used_at == first
            AccessToken.objects.filter(pk=stored.pk).update(
                last_used_at=first - tokens.LAST_USED_EVERY - timedelta(seconds=1)
            )
        api("get", "/api/jobs/", token)
        with acting_as(world.u.sam):
            stored.refresh_from_db()
        assert stored.last_used_at > first


AUTH_INVALID = "The token is not valid: mistyped, expired or revoked, or its user is inactive."


class TestSessionsDoNotAuthenticate:
    def test_a_signed_in_browser_gets_a_401_from_the_api(self, world, client):
        """Attack: a page on another site makes the victim's browser call the API with its
        session cookie. Stopped: the API accepts bearer tokens only."""
        client.force_login(world.u.alice)
        assert client.get("/jobs/").status_code == 200
        assert client.get("/api/jobs/").status_code == 401
        response = client.post(
            f"/api/jobs/{world.jobs.hq.pk}/notes/",
            json.dumps({"body": "forged"}),
            content_type="application/json",
        )
        assert response.status_code == 401
        assert notes_of(world.jobs.hq) == []


class TestBadParameters:
    @pytest.fixture
    def token(self, world):
        return mint(world.u.alice)[1]

    @pytest.mark.parametrize(
        "query, field",
        [
            ("sort=sideways", "sort"),
            ("status=finished", "status"),
            ("division=abc", "division"),
            ("division=1.5", "division"),
            ("q=" + "x" * 201, "q"),
            ("cursor=o.2.garbage", "cursor"),
            ("cursor=" + "9" * 400, "cursor"),
        ],
    )
    def test_a_bad_parameter_is_a_400_naming_it(self, world, api, token, query, field):
        response = api("get", f"/api/jobs/?{query}", token)
        assert response.status_code == 400
        body = response.json()
        assert body["detail"] == "Some parameters could not be used."
        assert list(body["errors"]) == [field]

    def test_a_division_the_user_cannot_see_is_a_400_like_a_missing_one(self, world, api, token):
        hidden = api("get", f"/api/jobs/?division={world.d.sparks.pk}", token)
        missing = api("get", "/api/jobs/?division=987654321", token)
        assert hidden.status_code == 400
        assert hidden.content == missing.content

    def test_a_cursor_of_another_sort_is_a_400(self, world, api, token):
        with unscoped("test setup"):
            for n in range(30):
                Job.objects.create(tenant=world.tenants.acme, division=world.d.hq, title=f"J{n}")
        next_url = api("get", "/api/jobs/?sort=title", token).json()["next"]
        cursor = next_url.split("cursor=")[1]
        assert api("get", f"/api/jobs/?sort=title&cursor={cursor}", token).status_code == 200
        assert api("get", f"/api/jobs/?cursor={cursor}", token).status_code == 400

    def test_filters_narrow_the_list(self, world, api, token):
        electrical = api("get", f"/api/jobs/?division={world.d.electrical.pk}", token)
        assert ids(electrical) == {world.jobs.electrical.pk}
        assert ids(api("get", "/api/jobs/?q=plumb", token)) == {world.jobs.plumbing.pk}
        assert ids(api("get", "/api/jobs/?status=done", token)) == set()


class TestPages:
    def test_next_and_previous_walk_every_order_both_ways(self, world, api):
        with unscoped("test setup"):
            for n in range(60):
                Job.objects.create(
                    tenant=world.tenants.acme,
                    division=world.d.hq,
                    title=f"Job {n % 7}",
                    status=Job.Status.values[n % 5],
                )
        _, token = mint(world.u.alice)
        expected = visible_jobs(snapshot(), world.u.alice)
        for sort in ("newest", "oldest", "title", "status"):
            pages, url = [], f"/api/jobs/?sort={sort}"
            while url:
                body = api("get", url, token).json()
                pages.append([job["id"] for job in body["results"]])
                url = body["next"]
            assert len(pages) == 3
            assert {pk for page in pages for pk in page} == expected
            assert sum(len(page) for page in pages) == len(expected)
            back = pages[-1]
            url = api("get", body_url(api, token, sort, len(pages)), token).json()["previous"]
            walked = [back]
            while url:
                body = api("get", url, token).json()
                walked.append([job["id"] for job in body["results"]])
                url = body["previous"]
            assert walked[::-1] == pages, sort


def body_url(api, token, sort, number):
    """The URL of page `number` of `sort`, reached through `next` links."""
    url = f"/api/jobs/?sort={sort}"
    for _ in range(number - 1):
        url = api("get", url, token).json()["next"]
    return url


class TestNotes:
    def test_read_and_add_a_note(self, world, api):
        _, token = mint(world.u.sam)
        job = world.jobs.electrical
        response = api("post", f"/api/jobs/{job.pk}/notes/", token, {"body": "  on my way  "})
        assert response.status_code == 201
        note = response.json()
        assert (note["job"], note["author"], note["body"]) == (job.pk, "sam", "on my way")
        listed = api("get", f"/api/jobs/{job.pk}/notes/", token).json()
        assert [n["id"] for n in listed] == [note["id"]]
        assert notes_of(job) == ["on my way"]

    def test_alice_reads_sams_note_through_the_api(self, world, api):
        _, sams = mint(world.u.sam)
        _, alices = mint(world.u.alice)
        job = world.jobs.electrical
        api("post", f"/api/jobs/{job.pk}/notes/", sams, {"body": "done"})
        listed = api("get", f"/api/jobs/{job.pk}/notes/", alices).json()
        assert [(n["author"], n["body"]) for n in listed] == [("sam", "done")]

    @pytest.mark.parametrize(
        "payload",
        [
            {"body": "x" * (NOTE_MAX_LENGTH + 1)},
            {"body": ""},
            {"body": "   "},
            {},
            {"body": 42},
            {"body": ["a"]},
            {"body": None},
            {"body": "nul \x00 inside"},
            {"body": "lone \ud800 surrogate"},
            ["body"],
            json.dumps("body"),
        ],
    )
    def test_a_bad_note_is_a_400_and_nothing_is_saved(self, world, api, payload):
        _, token = mint(world.u.sam)
        job = world.jobs.electrical
        response = api("post", f"/api/jobs/{job.pk}/notes/", token, payload)
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == ["body"]
        assert notes_of(job) == []

    def test_the_longest_note_the_page_takes_is_taken(self, world, api):
        _, token = mint(world.u.sam)
        body = {"body": "x" * NOTE_MAX_LENGTH}
        assert (
            api("post", f"/api/jobs/{world.jobs.sparks.pk}/notes/", token, body).status_code == 201
        )

    def test_malformed_json_is_a_400(self, world, client):
        _, token = mint(world.u.sam)
        response = client.post(
            f"/api/jobs/{world.jobs.sparks.pk}/notes/",
            "{not json",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 400
        assert "detail" in response.json()

    def test_a_note_on_a_hidden_job_is_the_404_and_nothing_is_saved(self, world, api):
        _, token = mint(world.u.sam)
        for job in (world.jobs.hq, world.jobs.field, world.jobs.acme_unassigned):
            response = api("post", f"/api/jobs/{job.pk}/notes/", token, {"body": "sneaky"})
            assert (response.status_code, response.json()) == (404, NOT_FOUND)
            assert notes_of(job) == []


class TestThrottle:
    def test_each_token_has_its_own_budget_and_the_429_is_json(self, world, api, token_rate):
        token_rate("3/minute")
        _, first = mint(world.u.sam, "first")
        _, second = mint(world.u.sam, "second")
        assert [api("get", "/api/jobs/", first).status_code for _ in range(3)] == [200] * 3
        throttled = api("get", "/api/jobs/", first)
        assert throttled.status_code == 429
        assert throttled.json()["detail"].startswith("Request was throttled")
        assert int(throttled["Retry-After"]) > 0
        assert api("get", "/api/jobs/", second).status_code == 200


def test_tokens_are_stored_only_as_their_hash(world):
    stored, token = mint(world.u.sam)
    assert token.startswith("proone_pat_") and len(token) == len("proone_pat_") + 43
    with unscoped("test check"):
        row = AccessToken.objects.filter(pk=stored.pk).values().get()
    assert row["digest"] == tokens.digest(token)
    assert token not in json.dumps(row, default=str)
    assert token[len("proone_pat_") :] not in json.dumps(row, default=str)
