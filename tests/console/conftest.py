"""The ``browser`` fixture (a real headless Chromium, tests/browser.py)."""

from tests.browser import browser

__all__ = ["browser"]
