"""A tenant admin sees what ticking a division would do before saving, then cancels, in
Chromium."""

import pytest

from divisions.models import DataScope, DataScopeChange
from divisions.scoping import unscoped
from tests.factories import UserFactory

from .test_admin_scope import admin_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stored(division):
    with unscoped("test check"):
        scope = DataScope.objects.get(pk=division.data_scope_id)
        return (
            scope.is_everyone,
            sorted(d.name for d in scope.divisions.all()),
            scope.updated_at,
            DataScopeChange.objects.count(),
        )


def test_ticking_plumbing_shows_the_gain_before_saving(page, world, screenshot):
    for n in range(4):
        UserFactory(division=world.d.plumbing, username=f"plumber{n}")
    before = stored(world.d.electrical)
    url = f"/admin/divisions/datascope/{world.d.electrical.data_scope_id}/change/"
    admin_log_in(page, "acme-admin")
    page.goto(url)
    page.get_by_label("Plumbing", exact=True).check()
    preview = page.locator(".scope-preview li")
    preview.first.wait_for()
    screenshot("admin-scope-preview")
    assert preview.all_inner_texts() == ["+1 division (Plumbing), 4 users, 1 job"]
    # Cancel: leave the page unsaved.
    page.goto(url)
    assert not page.get_by_label("Plumbing", exact=True).is_checked()
    assert stored(world.d.electrical) == before


def test_without_javascript_the_save_stops_on_a_confirm_step(browser, live_server, world):
    for n in range(4):
        UserFactory(division=world.d.plumbing, username=f"plumber{n}")
    before = stored(world.d.electrical)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    admin_log_in(page, "acme-admin")
    page.goto(f"/admin/divisions/datascope/{world.d.electrical.data_scope_id}/change/")
    page.get_by_label("Plumbing", exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    assert "+1 division (Plumbing), 4 users, 1 job" in page.locator(".scope-confirm").inner_text()
    assert stored(world.d.electrical) == before
    page.get_by_role("button", name="Confirm and save").click()
    page.wait_for_selector(".messagelist .success")
    assert stored(world.d.electrical)[:2] == (False, ["Head Office", "Plumbing", "Sparks"])
    context.close()
