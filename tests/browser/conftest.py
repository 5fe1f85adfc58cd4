"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

In CI (CI=true) a missing Chromium or Playwright fails the run: browser tests are never
skipped there. Elsewhere they are skipped with a message saying so.
"""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.pagination import PER_PAGE
from tests.factories import JobFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def _unavailable():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (make test installs it when run as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (own cookies) with `page.base_url` set to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves the page to artifacts/screenshots/name.png (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, username, password="pw-for-tests-1"):
    """Sign in through the real login form."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


TITLES = ["Replace boiler, Block A", "Inspect wiring, Level 2", "Repair roof, North site"]


@pytest.fixture
def busy_world(world):
    """The world plus enough Sparks and Electrical jobs for three pages of sam's list."""
    now = timezone.now()
    for n in range(2 * PER_PAGE + 5):
        JobFactory(
            division=world.d.sparks if n % 2 else world.d.electrical,
            title=f"{TITLES[n % 3]} #{n}",
            description="Isolate the supply first.\nCall the site manager on arrival.",
            status=[Job.Status.OPEN, Job.Status.SCHEDULED, Job.Status.IN_PROGRESS][n % 3],
            created_at=now - timedelta(hours=n),
        )
    return world
