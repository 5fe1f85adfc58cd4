"""A tenant admin lets the subcontractor see a division's jobs, then takes it back, in Chromium."""

import pytest

from .conftest import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def admin_log_in(page, username):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()


def set_sparks(page, checked):
    """Tick or untick Sparks in the scope form and save, staying on the page."""
    box = page.get_by_label("Sparks", exact=True)
    box.check() if checked else box.uncheck()
    # The save waits for the preview of the tick (static/proone/scope_preview.js) first.
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_selector(".messagelist .success")


def portal_jobs(subcontractor):
    subcontractor.goto("/jobs/")
    return subcontractor.locator("main, body").first.inner_text()


def test_admin_grants_and_revokes_sight_of_a_division(
    page, browser, live_server, world, screenshot
):
    hq_job = world.jobs.hq
    subcontractor = browser.new_context(base_url=live_server.url).new_page()
    log_in(subcontractor, "sam")
    assert "Head Office job" not in portal_jobs(subcontractor)

    admin_log_in(page, "acme-admin")
    page.goto(f"/admin/divisions/division/{world.d.hq.pk}/change/")
    assert "Its members only" in page.inner_text("body")
    page.get_by_role("link", name="Change who sees this division's jobs").click()
    screenshot("admin-scope-before")

    set_sparks(page, checked=True)
    screenshot("admin-scope-sparks-added")
    audience = page.locator(".field-audience").inner_text()
    assert "Sparks: 2 users" in audience  # sam and the staff member

    text = portal_jobs(subcontractor)
    assert "Head Office job" in text
    assert subcontractor.locator(f'a[href="/jobs/{hq_job.pk}/"]').count() == 1
    subcontractor.screenshot(path=str(SCREENSHOTS / "admin-scope-portal-after-grant.png"))

    set_sparks(page, checked=False)
    assert "Head Office job" not in portal_jobs(subcontractor)
    assert subcontractor.locator(f'a[href="/jobs/{hq_job.pk}/"]').count() == 0
    subcontractor.screenshot(path=str(SCREENSHOTS / "admin-scope-portal-after-revoke.png"))

    rows = page.locator("table.scope-history tbody tr").all_inner_texts()
    screenshot("admin-scope-history")
    assert len(rows) == 2
    removed, added = rows
    assert "acme-admin" in added and "acme-admin" in removed
    assert "listed divisions: none" in added and added.rstrip().endswith("listed divisions: Sparks")
    assert "listed divisions: Sparks" in removed
    assert removed.rstrip().endswith("listed divisions: none")
    subcontractor.context.close()


def test_scope_page_breaks_no_content_security_policy(page, live_server, world):
    """The audience list is styled by admin.css; an inline style would be a CSP violation."""
    problems = []
    page.on("console", lambda message: problems.append(message.text))
    admin_log_in(page, "acme-admin")
    page.goto(f"/admin/divisions/datascope/{world.d.electrical.data_scope_id}/change/")
    audience = page.locator("ul.audience")
    assert audience.count() == 1
    style = audience.evaluate(
        "list => { const s = getComputedStyle(list);"
        " return [s.marginLeft, parseFloat(s.paddingLeft) / parseFloat(s.fontSize)]; }"
    )
    assert style == ["0px", pytest.approx(1.2)]
    assert [text for text in problems if "Content Security Policy" in text] == []
