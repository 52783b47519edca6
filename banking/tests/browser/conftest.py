"""Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``), never a downloaded browser.

``bin/ensure-system-packages --browser`` (run by ``make test`` and ``make test-sqlite``, and
so by CI) installs the ``chromium`` package when it is missing; without it the browser tests are
skipped with the reason. ``SCREENSHOTS=1`` makes them save each screen under
``docs/screenshots/``.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (make test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # While Playwright's sync API runs, its event loop counts as running in this thread, and
    # Django refuses ORM calls there; the tests' own set-up and checks are plain synchronous
    # code, so the guard is lifted for as long as the browser module runs, and only then.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Return ``shot(name)``: save the page as ``docs/screenshots/<name>.png`` when SCREENSHOTS=1."""
    wanted = os.environ.get("SCREENSHOTS") == "1"

    def shot(name):
        if wanted:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return shot
