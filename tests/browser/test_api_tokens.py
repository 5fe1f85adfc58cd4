"""In a real Chromium: alice creates an API token, sees it once, uses it, and revokes it."""

import http.client
import re
from urllib.parse import urlsplit

import pytest

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_status(live_server, token):
    """The status of GET /api/jobs/ with `token`, from outside the browser (no cookie)."""
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", "/api/jobs/", headers={"Authorization": f"Bearer {token}"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_alice_creates_a_token_sees_it_once_uses_it_and_revokes_it(
    page, live_server, world, screenshot
):
    log_in(page, "alice")
    page.wait_for_url("**/jobs/")
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/account/tokens/")
    page.get_by_label("Name").fill("invoicing sync")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"proone_pat_[A-Za-z0-9_-]{43}", token)
    assert "shown this once" in page.content()
    screenshot("api-token-created")
    assert api_status(live_server, token) == 200

    # Shown once: the list names the token, and the page never shows it again.
    page.goto(f"{live_server.url}/account/tokens/")
    assert "invoicing sync" in page.locator("table").inner_text()
    assert token not in page.content()
    # The browser's own session does not open the API.
    assert page.evaluate("async () => (await fetch('/api/jobs/')).status") == 401

    page.get_by_role("button", name="Revoke invoicing sync").click()
    page.wait_for_url("**/account/tokens/")
    assert "revoked" in page.locator("table").inner_text()
    assert api_status(live_server, token) == 401
