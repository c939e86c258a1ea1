"""Real-browser fixtures: the test app on a live HTTP server, headless Debian Chromium.

Chromium is the distribution's (``/usr/bin/chromium``); Playwright only drives it, so
``playwright install`` is never needed. axe-core comes from npm (``node_modules``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser is a browser test."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ---------------------------------------------------------------- server


@pytest.fixture(scope="session")
def live_server(app):
    """The session's test app served over real HTTP; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _long_lived_streams(request):
    """In a real browser, event streams live as in production (the suite's other tests
    read whole responses and keep them at a second)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    saved = {k: app.config[k] for k in ("REALTIME_STREAM_MAX_SECONDS",
                                         "REALTIME_HEARTBEAT_SECONDS")}
    app.config.update(REALTIME_STREAM_MAX_SECONDS=300, REALTIME_HEARTBEAT_SECONDS=15)
    yield
    app.config.update(saved)
    # The test's pages are closed, but the server notices only at its next write: end
    # their streams now, so that they don't render (and lock SQLite) for the next test.
    from booking import realtime

    with app.app_context():
        realtime.backend().hub.close_all()


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def playwright_instance():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        yield playwright
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


class PageFactory:
    """Opens pages in fresh browser contexts (own cookies, own language) and closes them."""

    def __init__(self, browser, base_url: str):
        self.browser = browser
        self.base_url = base_url
        self.contexts = []

    def __call__(self, *, locale: str = "de-DE", **options):
        options.setdefault("base_url", self.base_url)
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = self.browser.new_context(locale=locale, **options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(locale="en-GB", java_script_enabled=False, ...)`` → a page in a new context."""
    factory = PageFactory(browser, live_server)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def page(new_page, request):
    """A page in a new browser context: German (Accept-Language de-DE), the page's CSP
    enforced. Other context options per test with indirect parametrisation, e.g.
    ``@pytest.mark.parametrize("page", [{"locale": "en-GB"}], indirect=True)``."""
    return new_page(**getattr(request, "param", {}))
