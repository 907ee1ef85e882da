"""Browser tests: a real headless Chromium (Debian's, at /usr/bin/chromium) driving a live server.

Fixtures:
- `browser_page`: a fresh Playwright page (own cookies) whose relative URLs go to the live
  server, e.g. `browser_page.goto("/account/login/")`.
- `browser_login`: `browser_login(page, username, password)` signs in through the real form.

The live server and the test share the test database with real commits (transactional),
and the data the migrations created (roles, permissions) is restored before each test.
When Chromium or Playwright is missing the tests are skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
DEFAULT_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def _chromium(django_db_setup):
    if not CHROMIUM.exists():
        pytest.skip(
            "browser test skipped: Chromium is not installed at /usr/bin/chromium "
            "(apt-get install chromium)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        pytest.skip("browser test skipped: playwright is not installed (pip install '.[test]')")
    # Playwright's sync API keeps an event loop on this thread; Django refuses database calls
    # from a thread with a running loop unless told the caller is synchronous, which it is.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from django.db import connections

    # Django keeps its connection objects per context, and starting Playwright gives this
    # thread a new one: hand the new connections the snapshot that serialized rollback
    # restores, or a browser test run after a transactional test finds the roles flushed.
    snapshots = {
        conn.alias: conn._test_serialized_contents
        for conn in connections.all()
        if hasattr(conn, "_test_serialized_contents")
    }
    playwright = sync_playwright().start()
    for alias, contents in snapshots.items():
        connections[alias]._test_serialized_contents = contents
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
    except Exception as exc:  # a broken browser install: say so, do not fail every test
        playwright.stop()
        pytest.skip(f"browser test skipped: Chromium did not start ({exc})".splitlines()[0])
    try:
        yield browser
    finally:
        browser.close()
        # Close the connections opened in Playwright's context, or dropping the test
        # database on PostgreSQL finds them still in use.
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(_chromium, live_server, django_db_serialized_rollback):
    context = _chromium.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def browser_login():
    def login(page, username: str, password: str) -> None:
        page.goto("/account/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return login
