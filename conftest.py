import os

import pytest

CHROMIUM = os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """The recogniser's and the word filter's per-process caches (read at most once a second)
    are not carried from one test's rolled-back rows into the next test."""
    from gridgov.cases import moderation, recognize

    recognize.forget()
    moderation.forget()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """A request with Accept-Language: en leaves English active in the thread (LocaleMiddleware
    activates a language and never deactivates it): the next test starts in the default again."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def street(db):
    from gridgov.testing import make_small_street

    return make_small_street()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (`make browser` installs it)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    """A desktop-sized page whose relative URLs go to the live test server."""
    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 860})
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized page (iPhone-like viewport, touch, mobile user agent)."""
    ctx = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN",
    )
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture(autouse=True)
def _fresh_setting_rows():
    """Each test starts without a cached copy of the setting rows (a rolled-back test's rows
    must not linger in this process's cache: core.settings_rows)."""
    from gridgov.core import settings_rows
    from gridgov.geo import levels

    settings_rows.clear_cache()
    levels.forget()
    yield
    settings_rows.clear_cache()
    levels.forget()
