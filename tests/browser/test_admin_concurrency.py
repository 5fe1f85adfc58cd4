"""Two tabs of the same DataScope page in Chromium: the second save is refused, not lost."""

import pytest

from divisions.models import DataScope, DataScopeChange
from divisions.scoping import unscoped

from .conftest import SCREENSHOTS
from .test_admin_scope import admin_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def listed(world):
    with unscoped("test check"):
        scope = DataScope.objects.get(pk=world.d.electrical.data_scope_id)
        return sorted(str(division) for division in scope.divisions.all())


def test_second_tab_shows_the_conflict_and_changes_nothing(page, world, screenshot):
    admin_log_in(page, "acme-admin")
    url = f"/admin/divisions/datascope/{world.d.electrical.data_scope_id}/change/"
    page.goto(url)
    second = page.context.new_page()
    second.goto(url)
    assert listed(world) == ["Head Office", "Sparks"]

    page.get_by_label("Plumbing", exact=True).check()
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_selector(".messagelist .success")
    assert listed(world) == ["Head Office", "Plumbing", "Sparks"]

    second.get_by_label("Sparks", exact=True).uncheck()
    second.get_by_role("button", name="Save and continue editing").click()
    second.wait_for_selector(".errornote")
    screenshot("admin-concurrency-first-saved")
    second.screenshot(path=str(SCREENSHOTS / "admin-concurrency-refused.png"), full_page=True)
    assert second.locator(".errornote").inner_text().strip() == "Please correct the error below."
    assert second.locator("ul.errorlist.nonfield li").all_inner_texts() == [
        "Divisions that also see these jobs was changed by someone else since you opened this "
        "page: now Head Office, Plumbing, Sparks. Reload to see it."
    ]
    assert listed(world) == ["Head Office", "Plumbing", "Sparks"]
    with unscoped("test check"):
        assert [change.changed_by_name for change in DataScopeChange.objects.all()] == [
            "acme-admin"
        ]

    # Saving the refused page again is refused again: only a reload shows the new state.
    second.get_by_role("button", name="Save and continue editing").click()
    second.wait_for_selector("ul.errorlist.nonfield")
    assert listed(world) == ["Head Office", "Plumbing", "Sparks"]
    second.goto(url)
    assert second.get_by_label("Plumbing", exact=True).is_checked()
    second.get_by_label("Sparks", exact=True).uncheck()
    second.get_by_role("button", name="Save and continue editing").click()
    second.wait_for_selector(".messagelist .success")
    assert listed(world) == ["Head Office", "Plumbing"]
