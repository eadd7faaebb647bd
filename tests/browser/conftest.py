"""Browser tests: Playwright (sync API) driving Debian's chromium against ``live_server``.

There is no internet where these run, so Playwright never downloads a browser:
it launches ``/usr/bin/chromium`` (the Debian package). If that is missing the
tests fail, loudly, instead of being skipped.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The people Yishi is for browse in Chinese; a bare headless chromium would ask
# for en-US and Django's LocaleMiddleware would honour that.
DEFAULT_LOCALE = "zh-CN"
PHONE_WIDTH = 360
DESK_WIDTH = 1280


# Pages declare their icon, so chromium asks for no /favicon.ico: no failed
# request is tolerated.
IGNORED_PATHS: tuple[str, ...] = ()
FAILED_LOAD = "Failed to load resource"


def scrolls_sideways(page) -> bool:
    """The page is wider than its window: the reader would have to scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def scrolls_sideways_at_200_percent(page) -> bool:
    """At 200 % zoom on a phone (half its width in CSS pixels) the page still fits."""
    page.set_viewport_size({"width": PHONE_WIDTH // 2, "height": 400})
    try:
        return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    finally:
        page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})


@dataclass
class Tab:
    """A page in its own browser context, with what went wrong in it.

    A console error is either a failed request (kept, with its address, in
    ``failed_responses``) or something else: a Content-Security-Policy
    violation, a script error, an htmx error. ``problems`` lists all of them.
    """

    page: object  # playwright.sync_api.Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[tuple[int, str]] = field(default_factory=list)

    def on_console(self, message) -> None:
        if message.type == "error" and not message.text.startswith(FAILED_LOAD):
            self.console_errors.append(message.text)

    def on_response(self, response) -> None:
        if response.status >= 400 and not urlsplit(response.url).path.endswith(IGNORED_PATHS):
            self.failed_responses.append((response.status, response.url))

    @property
    def problems(self) -> list[str]:
        return (
            [f"console: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
            + [f"HTTP {status}: {url}" for status, url in self.failed_responses]
        )


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[object]:
    """Playwright, for as long as the browser tests run.

    Playwright's sync API keeps an asyncio event loop "running" in this thread
    from start to stop, so Django's async-safety check refuses the test thread's
    own database access (fixtures, assertions on rows) unless
    ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set. The test thread never shares a
    connection with that loop, so this is safe here.

    Both are scoped to this package rather than the whole session: a variable
    set for the whole session leaks into the subprocesses other tests start
    (``manage.py check --deploy`` fails with async.E001), and a loop left
    running would break database access in every test that runs after these.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. "
            "Install it with `apt-get install -y chromium fonts-noto-cjk` "
            "(.ci/run does this); Playwright must not download a browser.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture(scope="package")
def browser(playwright_driver) -> Iterator[object]:
    """One chromium for all the browser tests; each test opens its own contexts."""
    launched = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def open_tab(browser, request, artefacts) -> Iterator[Callable[..., Tab]]:
    """``open_tab(width=360)`` opens a fresh context (own cookies) and page.

    Console errors (a Content-Security-Policy violation is one) and uncaught
    page errors are collected on the returned ``Tab``. When the test fails,
    each open page is saved under ``test-artefacts/failures/``.
    """
    contexts = []

    def open_(width: int = DESK_WIDTH, *, locale: str = DEFAULT_LOCALE, height: int = 800) -> Tab:
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = Tab(page=context.new_page())
        tab.page.on("console", tab.on_console)
        tab.page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
        tab.page.on("response", tab.on_response)
        return tab

    yield open_

    failed = getattr(request.node, "report_call", None)
    failed = failed is not None and failed.failed
    for number, context in enumerate(contexts):
        if failed:
            folder = artefacts / "failures"
            folder.mkdir(parents=True, exist_ok=True)
            name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
            for page_number, page in enumerate(context.pages):
                # A failed screenshot must not hide the test's own failure.
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=folder / f"{name}-{number}-{page_number}.png", full_page=True
                    )
        context.close()


@pytest.fixture
def log_in(live_server) -> Callable[..., None]:
    """``log_in(page, "manan_staff")`` logs in through the real login form, as a person would."""

    def log_in_(page, username: str, password: str = PASSWORD) -> None:
        page.goto(live_server.url + reverse("login"))
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()

    return log_in_
