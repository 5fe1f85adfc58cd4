"""A subcontractor uses the portal in a real Chromium: sign in, browse, filter, page, sign out."""

import re

import pytest

from jobs.models import Job
from jobs.pagination import PER_PAGE
from tests.oracle import pickable_divisions, snapshot, visible_jobs

from .conftest import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def listed_ids(page):
    hrefs = page.locator("table.jobs-table a.job-link").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    return [int(re.fullmatch(r"/jobs/(\d+)/", href).group(1)) for href in hrefs]


def all_pages(page):
    """Every job id on every page, clicking "Older jobs" until there is none."""
    ids = listed_ids(page)
    while page.get_by_role("link", name="Older jobs").count():
        page.get_by_role("link", name="Older jobs").click()
        ids += listed_ids(page)
    return ids


def test_a_subcontractor_signs_in_and_sees_exactly_their_jobs(page, busy_world, screenshot):
    sam = busy_world.u.sam
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    header = page.locator("header.site-header")
    assert "Sparks" in header.inner_text() and "Acme" in header.inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Jobs"
    screenshot("job-list")

    expected = visible_jobs(snapshot(), sam)
    ids = all_pages(page)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert "Page 3" in page.locator(".pager").inner_text()

    page.get_by_role("link", name="Newer jobs").click()
    assert "Page 2" in page.locator(".pager").inner_text()


def test_the_detail_page_and_a_link_to_another_divisions_job(page, busy_world, screenshot):
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    page.locator("a.job-link").first.click()
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    facts = page.locator("dl.facts").inner_text()
    for label in ["Reference", "Status", "Division", "Tenant", "Created", "Last updated"]:
        assert label.upper() in facts.upper()
    assert "Call the site manager" in page.locator(".job-description").inner_text()
    screenshot("job-detail")

    # A colleague at Head Office shares a link to one of their own jobs.
    response = page.goto(busy_world.jobs.hq.get_absolute_url())
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert "Head Office" not in page.content()
    screenshot("not-found")
    missing = page.goto("/jobs/987654321/")
    assert missing.status == 404 and "Page not found" in page.content()


def test_search_and_filters(page, busy_world, screenshot):
    sam = busy_world.u.sam
    world = snapshot()
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")

    options = (
        page.get_by_label("Division")
        .locator("option")
        .evaluate_all("options => options.map(option => option.value).filter(Boolean)")
    )
    assert {int(value) for value in options} == pickable_divisions(world, sam)

    page.get_by_label("Search titles").fill("boiler")
    page.get_by_label("Status").select_option("open")
    page.get_by_label("Division").select_option(str(busy_world.d.sparks.pk))
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"q=boiler"))
    screenshot("job-list-filtered")
    expected = {
        job.pk
        for job in Job.objects.visible_to(sam)
        if "boiler" in job.title.lower()
        and job.status == "open"
        and job.division_id == busy_world.d.sparks.pk
    }
    assert expected and set(all_pages(page)) == expected
    # The form keeps what was asked for.
    assert page.get_by_label("Search titles").input_value() == "boiler"

    page.get_by_label("Search titles").fill("no job has this title")
    page.get_by_role("button", name="Apply").click()
    assert page.get_by_role("heading", name="No jobs match these filters").is_visible()
    page.get_by_role("link", name="Clear filters").click()
    assert len(listed_ids(page)) == PER_PAGE

    # A link with a filter value nobody can pick explains itself instead of failing.
    response = page.goto(f"/jobs/?status=bogus&division={busy_world.d.hq.pk}")
    assert response.status == 400
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_text("Choose one of the listed divisions.").is_visible()
    screenshot("job-list-bad-filter")


def test_signing_out(page, busy_world):
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_role("status").inner_text() == "You have signed out."
    page.goto("/jobs/")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_a_wrong_password_is_explained(page, world, screenshot):
    log_in(page, "sam", password="not-the-password")
    alert = page.get_by_role("alert")
    assert "correct username and password" in alert.inner_text()
    screenshot("login-error")


def test_keyboard_users_can_skip_to_the_content(page, world):
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to main content"
    assert skip.is_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.locator(":focus").get_attribute("id") == "id_q"


def test_on_a_phone(browser, live_server, busy_world):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    page = context.new_page()
    try:
        log_in(page, "sam")
        page.wait_for_url("**/jobs/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "job-list-phone.png"), full_page=False)
        page.locator("a.job-link").first.click()
        page.screenshot(path=str(SCREENSHOTS / "job-detail-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_page_loads_nothing_from_elsewhere_and_breaks_no_policy(page, live_server, world):
    problems = []
    # A CSP violation or a failed load shows up as a console error.
    page.on("console", lambda message: problems.append(message.text))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(live_server.url)
            else problems.append(f"outside request: {request.url}")
        ),
    )
    log_in(page, "sam")
    page.wait_for_url("**/jobs/")
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"  # CSS applied
    assert problems == []
