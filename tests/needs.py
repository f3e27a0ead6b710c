"""What a test does when a tool it needs (a browser, a Jupyter kernel) is missing.

On a developer's machine it skips, saying what is missing and how to get it. Under CI (the
environment variable CI set to true, as .ci/run does) it fails instead: CI installs every tool,
so a missing one is a broken setup, not a reason to skip.
"""

import os

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(reason: str):
    """Skip with ``reason``, or fail with it under CI. Never returns."""
    if under_ci():
        pytest.fail(f"{reason} (CI is set: these tests must run, not skip)", pytrace=False)
    pytest.skip(reason)
