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
