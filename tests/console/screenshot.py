"""The README's screenshot: the incident page on a phone (390 px wide), taken
in Debian's headless Chromium against a seeded Klaxon (a fresh SQLite file,
the fake Twilio, the tests' on-call file and a clock standing still).

    .venv/bin/python -m tests.console.screenshot docs/console-phone.png

Seeded as a night looks: a checkout incident paged to alice, who signed in
with the code texted to her, took command, acknowledged and posted a status
update. The test
below takes it into a temporary directory, so the helper cannot rot unseen.
"""

from __future__ import annotations

import asyncio
import os
import struct
import sys
import tempfile
from pathlib import Path

from app.clock import ManualClock
from app.migrate import upgrade
from tests.browser import PHONE_WIDTH, Browser, chrome_driver
from tests.console.helpers import console_client, csrf_of, sign_in
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import (
    ACCOUNT_SID,
    ALICE,
    AUTH_TOKEN,
    KLAXON_NUMBER,
    checkout_alert,
    open_incident,
    serve_paging,
)

PHONE_HEIGHT = 844  # an iPhone 14's viewport: 390 x 844


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is no PNG"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


async def take(target: Path) -> None:
    """Seed a Klaxon, sign alice in with a browser, and save the incident page."""
    os.environ.setdefault("SE_AVOID_STATS", "true")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'klaxon.db'}"
        await asyncio.to_thread(upgrade, url)
        async with (
            FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=KLAXON_NUMBER) as fake,
            serve_paging(url, fake, ManualClock()) as paging,
        ):
            number = await open_incident(paging, checkout_alert())
            await paging.tick()
            paging.clock.advance(minutes=3)
            async with console_client(paging) as client:
                await sign_in(client, paging, ALICE)
                page = await client.get(f"/incidents/{number}")
                csrf = csrf_of(page)
                await client.post(f"/incidents/{number}/command", data={"csrf": csrf})
                await client.post(f"/incidents/{number}/acknowledge", data={"csrf": csrf})
                await client.post(
                    f"/incidents/{number}/updates",
                    data={
                        "csrf": csrf,
                        "phase": "identified",
                        "message": "Card payments failing after the 14:02 deploy; rolling back.",
                        "do": "post",
                    },
                )
            paging.clock.advance(minutes=4)
            driver = await asyncio.to_thread(chrome_driver)
            try:
                browser = Browser(driver)
                # A phone's viewport exactly (a window's size includes its frame).
                metrics = {
                    "width": PHONE_WIDTH,
                    "height": PHONE_HEIGHT,
                    "deviceScaleFactor": 1,
                    "mobile": True,
                }
                await browser.run(
                    driver.execute_cdp_cmd, "Emulation.setDeviceMetricsOverride", metrics
                )
                await browser.get(f"{paging.url}/")
                await browser.type("#phone", ALICE)
                await browser.click("form.stack button[type=submit]")
                await browser.wait_for(lambda d: "/signin/code" in d.current_url)
                await paging.tick()
                codes = [t for t in paging.texts_to(ALICE) if "code: " in t]
                code = codes[-1].split("code: ")[1][:6]
                await browser.type("#code", code)
                await browser.click("form.stack button[type=submit]")
                await browser.wait_for(lambda d: d.current_url.rstrip("/") == paging.url)
                await browser.get(f"{paging.url}/incidents/{number}")
                # The viewport as a phone shows it, scrollbars aside.
                target.parent.mkdir(parents=True, exist_ok=True)
                await browser.run(driver.save_screenshot, str(target))
            finally:
                await asyncio.to_thread(driver.quit)


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console-phone.png")
    asyncio.run(take(target))
    print(f"{target}: {png_size(target)[0]} x {png_size(target)[1]} px")


if __name__ == "__main__":
    main()
