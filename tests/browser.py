"""A real headless Chromium for the HTML tests: Debian's ``/usr/bin/chromium``
driven through ``/usr/bin/chromedriver`` by Selenium.

Selenium Manager is never asked for anything: the driver's path is given, so
nothing is downloaded. WebDriver calls block, and the server under test runs in
the test's own event loop, so every call goes through :meth:`Browser.run` (a
worker thread) and the loop keeps serving while the browser waits.

Use the ``browser`` fixture (a fresh browser per test, at 390 px unless the
test sets :meth:`Browser.width`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE_WIDTH, DESKTOP_WIDTH = 390, 1280
T = TypeVar("T")


def axe_js() -> Path:
    """axe-core (3.1.1) as the axe-selenium-python package ships it: only the file is used."""
    spec = importlib.util.find_spec("axe_selenium_python")
    if spec is None or spec.origin is None:
        raise AssertionError("axe-selenium-python is missing: pip install -e '.[dev]'")
    return Path(spec.origin).parent / "node_modules" / "axe-core" / "axe.min.js"


def chrome_driver() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in CI's container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=390,844",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


_STALE_RETRIES = 5


class Browser:
    """One Chromium, its calls run off the event loop."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(functools.partial(call, *args))

    async def width(self, pixels: int) -> None:
        """Size the viewport's window: ``PHONE_WIDTH`` or ``DESKTOP_WIDTH``."""
        await self.run(self.driver.set_window_size, pixels, 900)

    async def get(self, url: str) -> None:
        await self.run(self.driver.get, url)

    async def find(self, css: str) -> WebElement:
        return await self.run(self.driver.find_element, By.CSS_SELECTOR, css)

    async def find_all(self, css: str) -> list[WebElement]:
        return await self.run(self.driver.find_elements, By.CSS_SELECTOR, css)

    async def text(self, css: str) -> str:
        """The text of the element ``css`` finds, read again when the live view
        replaced the element between finding and reading it."""

        def read() -> str:
            for _ in range(_STALE_RETRIES):
                with contextlib.suppress(StaleElementReferenceException):
                    return str(self.driver.find_element(By.CSS_SELECTOR, css).text)
            return str(self.driver.find_element(By.CSS_SELECTOR, css).text)

        return await self.run(read)

    async def type(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self.run(element.clear)
        await self.run(element.send_keys, text)

    async def click(self, css: str) -> None:
        """Click the element ``css`` finds (found again if the live view replaced it)."""

        def click() -> None:
            for _ in range(_STALE_RETRIES):
                with contextlib.suppress(StaleElementReferenceException):
                    self.driver.find_element(By.CSS_SELECTOR, css).click()
                    return
            self.driver.find_element(By.CSS_SELECTOR, css).click()

        await self.run(click)

    async def script(self, source: str, *args: Any) -> Any:
        return await self.run(self.driver.execute_script, source, *args)

    async def wait_for(
        self, condition: Callable[[webdriver.Chrome], Any], seconds: float = 10
    ) -> Any:
        """Wait (in the browser's thread) until ``condition(driver)`` is truthy;
        the loop keeps serving meanwhile."""
        # The live view swaps parts of the page in: an element found by the
        # condition may be replaced before it is read; the next poll finds anew.
        wait = WebDriverWait(
            self.driver,
            seconds,
            poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        try:
            return await self.run(wait.until, condition)
        except TimeoutException as exc:
            raise AssertionError(f"not within {seconds} s: {self.driver.current_url}") from exc

    async def accessibility_violations(self) -> list[str]:
        """axe-core's WCAG 2 A and AA violations on the current page, one line each
        (rule, impact, the elements). The script is run by WebDriver, which the
        page's Content-Security-Policy does not govern."""
        await self.script(axe_js().read_text())
        violations: list[dict[str, Any]] = await self.run(
            self.driver.execute_async_script,
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
            ".then(r => done(r.violations), e => done([{id: 'axe failed', impact: String(e),"
            " nodes: []}]));",
        )
        return [
            f"{v['id']} ({v['impact']}): {[n.get('target') for n in v['nodes']]}"
            for v in violations
        ]

    @property
    def url(self) -> str:
        return str(self.driver.current_url)


@pytest.fixture
async def browser(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Browser]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver (see .ci/run)")
    monkeypatch.setenv("SE_AVOID_STATS", "true")  # Selenium sends no usage statistics
    driver = await asyncio.to_thread(chrome_driver)
    try:
        yield Browser(driver)
    finally:
        await asyncio.to_thread(driver.quit)
