"""A tenant admin signs in to the admin in a real Chromium and sees only their tenant."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tenant_admin_signs_in_to_the_admin(page, world, screenshot):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("acme-admin")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/divisions/division/")
    rows = page.locator("#result_list tbody th a").all_inner_texts()
    screenshot("admin-divisions")
    assert sorted(rows) == ["Electrical", "Head Office", "Plumbing", "Sparks"]
