"""In a real Chromium: notes, status changes, the "why" line and the CSV export."""

import csv
import re

import pytest

from divisions.scoping import unscoped
from jobs.models import Job

from .conftest import log_in
from .test_portal import all_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def status_of(job):
    with unscoped("check"):
        return Job.objects.get(pk=job.pk).status


def test_sam_notes_and_schedules_a_sparks_job_and_alice_reads_an_electrical_note(
    page, browser, live_server, busy_world, screenshot
):
    world = busy_world
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")

    page.goto(world.jobs.sparks.get_absolute_url())
    assert "your division, Sparks, owns it" in page.locator("#why").inner_text()
    page.get_by_label("Add a note").fill("Isolator <b>replaced</b>")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(re.compile(r".*#notes$"))
    assert "Isolator <b>replaced</b>" in page.locator(".note-list").inner_text()
    page.get_by_label("New status").select_option("scheduled")
    page.get_by_role("button", name="Change status").click()
    page.wait_for_url(re.compile(r".*#notes$"))
    assert "status: open → scheduled, by sam" in page.locator(".note-list").inner_text()
    assert status_of(world.jobs.sparks) == "scheduled"
    screenshot("job-notes-status")

    # Electrical's job: sam may read and write notes, not change its status.
    page.goto(world.jobs.electrical.get_absolute_url())
    assert "Electrical lists your division in its data scope" in page.locator("#why").inner_text()
    assert page.get_by_role("button", name="Change status").count() == 0
    page.get_by_label("Add a note").fill("Cable delivered to site")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(re.compile(r".*#notes$"))
    # A forged status POST from the page, with a valid CSRF token: the same 404, no change.
    forged = page.evaluate(
        """async (url) => {
            const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
            const body = new URLSearchParams({csrfmiddlewaretoken: token, status: "cancelled"});
            return (await fetch(url, {method: "POST", body})).status;
        }""",
        f"/jobs/{world.jobs.electrical.pk}/status/",
    )
    assert forged == 404
    assert status_of(world.jobs.electrical) == "open"

    alice = browser.new_context(base_url=live_server.url).new_page()
    log_in(alice, "alice")
    alice.wait_for_url("**/jobs/")
    alice.goto(world.jobs.electrical.get_absolute_url())
    assert "Cable delivered to site" in alice.locator(".note-list").inner_text()
    assert "sam" in alice.locator(".note-list").inner_text()
    alice.goto(world.jobs.sparks.get_absolute_url())
    assert "Page not found" in alice.content()
    alice.context.close()


def test_the_export_downloads_exactly_the_listed_jobs(page, busy_world, tmp_path):
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    page.get_by_label("Sort").select_option("title")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**sort=title**")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these jobs (CSV)").click()
    path = tmp_path / "jobs.csv"
    download.value.save_as(path)
    listed = all_pages(page)
    with path.open(newline="") as exported:
        rows = list(csv.reader(exported))
    assert rows[0] == ["id", "title", "status", "division", "created_at", "updated_at"]
    assert [int(row[0]) for row in rows[1:]] == listed
    assert len(listed) > 25


def test_a_status_change_from_a_stale_page_shows_who_changed_it(
    page, browser, live_server, busy_world
):
    """sam and acme-admin open the same job; the admin sets Done; sam's Scheduled, from the page
    that still shows Open, is refused with the admin's name and the job as it is now."""
    world = busy_world
    job = world.jobs.sparks
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    page.goto(job.get_absolute_url())
    admin = browser.new_context(base_url=live_server.url).new_page()
    log_in(admin, "acme-admin")
    admin.wait_for_url("**/jobs/")
    admin.goto(job.get_absolute_url())
    admin.get_by_label("New status").select_option("done")
    admin.get_by_role("button", name="Change status").click()
    admin.wait_for_url(re.compile(r".*#notes$"))
    admin.context.close()

    page.get_by_label("New status").select_option("scheduled")
    page.get_by_role("button", name="Change status").click()
    problem = page.locator("#status-problem")
    problem.wait_for()
    assert problem.inner_text().startswith("This job was changed to Done by acme-admin at ")
    assert "nothing was changed" in problem.inner_text()
    assert page.locator(".badge").inner_text() == "Done"
    assert status_of(job) == "done"
    # Sent again from the page as it is now, the change is made.
    page.get_by_role("button", name="Change status").click()
    page.wait_for_url(re.compile(r".*#notes$"))
    assert "status: done → scheduled, by sam" in page.locator(".note-list").inner_text()
