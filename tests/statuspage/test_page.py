"""The page itself: no login, cacheable, strict CSP, nothing asked of other
servers, 90 days of bars per component, hostile text inert; the feeds parse."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser  # type: ignore[import-untyped]
import httpx

from app.clock import ManualClock
from tests.statuspage.conftest import public_update, publish, report

ANONYMOUS = {"Authorization": ""}
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> & "quotes"'


async def test_the_page_needs_no_login_and_is_cacheable(client: httpx.AsyncClient) -> None:
    resp = await client.get("/status", headers=ANONYMOUS)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["cache-control"].startswith("public, max-age=")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    etag = resp.headers["etag"]
    again = await client.get("/status", headers={**ANONYMOUS, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in resp.text
    css = await client.get("/status/style.css", headers=ANONYMOUS)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_the_page_asks_nothing_of_another_server(client: httpx.AsyncClient) -> None:
    number = await report(client)
    await publish(client, number, components={"checkout": "degraded_performance"})
    html = (await client.get("/status", headers=ANONYMOUS)).text
    assert "<script" not in html
    assert re.findall(r'\ssrc="', html) == []
    links = re.findall(r'href="([^"]*)"', html)
    assert links and all(link.startswith("/status/") for link in links), links
    assert " style=" not in html  # the CSP allows no inline style


async def test_it_changes_when_an_incident_is_published(client: httpx.AsyncClient) -> None:
    before = await client.get("/status", headers=ANONYMOUS)
    number = await report(client)
    await publish(client, number, name="Checkout is slow", components={"checkout": "major_outage"})
    after = await client.get(
        "/status", headers={**ANONYMOUS, "If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert "Checkout is slow" in after.text
    assert 'class="overall indicator-critical"' in after.text
    assert "Major outage" in after.text


async def test_ninety_days_of_bars_show_each_day_s_worst_status(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = await report(client)
    await publish(client, number, components={"checkout": "major_outage"})
    start = clock.now().date()
    clock.advance(days=2)
    await public_update(client, number, "resolved", "Fixed")
    clock.advance(days=3)
    html = (await client.get("/status", headers=ANONYMOUS)).text
    checkout = html.split('<p class="name"><span>Checkout</span>')[1].split("</svg>")[0]
    days = re.findall(r'class="day-(\w+)"><title>(\d{4}-\d\d-\d\d): ', checkout)
    assert len(days) == 90
    assert days[-1][1] == clock.now().date().isoformat()
    outage = [day for status, day in days if status == "major_outage"]
    assert outage == [(start + timedelta(days=n)).isoformat() for n in range(3)]
    storage = html.split('<p class="name"><span>File storage</span>')[1].split("</svg>")[0]
    assert storage.count('class="day-operational"') == 90
    assert "100.00% uptime" in storage and "100.00% uptime" not in checkout


async def test_hostile_public_text_is_inert(client: httpx.AsyncClient) -> None:
    number = await report(client)
    await publish(client, number, name=HOSTILE, body=HOSTILE)
    html = (await client.get("/status", headers=ANONYMOUS)).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    feed = feedparser.parse((await client.get("/status/history.atom")).content)
    assert not feed.bozo
    assert feed.entries[0].title == HOSTILE  # the text, not markup


async def test_the_feeds_parse_and_list_the_public_incidents(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = await report(client)
    await publish(client, number, name="Checkout is slow")
    clock.advance(minutes=30)
    await public_update(client, number, "resolved", "Fixed by a rollback")
    for path, version in (("/status/history.atom", "atom10"), ("/status/history.rss", "rss20")):
        resp = await client.get(path, headers=ANONYMOUS)
        assert resp.status_code == 200 and resp.headers["etag"]
        feed = feedparser.parse(resp.content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == version
        [entry] = feed.entries
        assert entry.title == "Checkout is slow"
        assert entry.link == f"https://status.example.com/#incident-{entry.link.rsplit('-', 1)[1]}"
        assert "Fixed by a rollback" in (
            entry.get("content", [{}])[0].get("value") or entry.summary
        )
