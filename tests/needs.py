"""What a test does when a tool it needs (a browser, a Jupyter kernel) is missing.

On a developer's machine it skips, saying what is missing and how to get it. Under CI (the
environment variable CI set to true, as .ci/run does) it fails instead: CI installs every tool,
so a missing one is a broken setup, not a reason to skip.
"""

import os
import shutil

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(reason: str):
    """Skip with ``reason``, or fail with it under CI. Never returns."""
    if under_ci():
        pytest.fail(f"{reason} (CI is set: these tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


# Debian's chromium as root, headless, with nothing that reaches for the network on its own
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium():
    """A headless chromium driven by playwright, for a module-scoped ``browser`` fixture
    (``browser = pytest.fixture(scope="module")(chromium)``); missing pieces go to `missing`."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    path = shutil.which("chromium")
    if path is None:
        missing("no chromium on PATH (Debian/Ubuntu: apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Error as error:
            missing(f"chromium at {path} does not start: {error}")
        yield browser
        browser.close()


def watched_pages(browser, write, ready: str):
    """Body of an ``open_page`` fixture: ``load(*args, **options)`` writes the test's k-th page
    with ``write(*args, number=k, **options)``, opens it and waits until ``ready`` (a JavaScript
    expression) holds; at teardown every page must have logged no error and fetched nothing but
    its own file."""
    opened = []

    def load(*args, **options):
        path = write(*args, number=len(opened), **options).resolve()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems, requests = [], []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_function(ready)
        opened.append((page, problems, requests, path.as_uri()))
        return page

    yield load
    for page, problems, requests, url in opened:
        assert problems == [], problems
        assert requests == [url], f"the page fetched more than itself: {requests}"
        page.close()
