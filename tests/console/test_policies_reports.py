"""The policies page (readable chains and the "who would be paged" preview,
which writes nothing) and the reports page (its numbers beside its charts),
over HTTP on both databases."""

from __future__ import annotations

import re

import httpx

from tests.console.helpers import console_client, sign_in
from tests.paging import ALICE, Paging, checkout_alert, open_incident


def steps(page: httpx.Response) -> list[str]:
    """The preview's steps as plain text, one a line."""
    chain = page.text.split('id="preview-steps"')[1].split("</ol>")[0]
    items = re.findall(r"<li>(.*?)</li>", chain, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


async def test_the_preview_says_who_is_paged_when_and_by_what(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        sev2 = await client.get("/policies", params={"service": "checkout", "severity": "SEV2"})
        sev3 = await client.get("/policies", params={"service": "checkout", "severity": "SEV3"})
        sev4 = await client.get("/policies", params={"service": "checkout", "severity": "SEV4"})
        classified = await client.get(
            "/policies", params={"labels": "alertname=DatabaseDown, env=prod"}
        )
        bad = await client.get("/policies", params={"labels": "service"})
        plain = await client.get("/policies")
    assert sev2.status_code == 200
    assert "by route <strong><bdi>checkout</bdi></strong>" in sev2.text
    assert steps(sev2) == [
        "+0 min (2026-11-26 07:00 EST) Step 1: pages alice by sms",
        "+5 min (2026-11-26 07:05 EST) Step 2: pages bob by sms and voice",
    ]
    assert steps(sev3)[1].endswith("Step 2: pages bob by sms")  # SEV3 pages by SMS only
    assert 'id="preview-none"' in sev4.text and "without paging" in sev4.text
    # No service label: the default route and policy. At noon nobody is on nights-only:
    # step 1 is skipped and not waited out; carol is called at once. DatabaseDown in
    # prod is SEV1 by the rules' severity rule.
    assert '<strong id="preview-severity">SEV1</strong> (the rules\' classification)' in (
        classified.text
    )
    assert steps(classified) == [
        "+0 min (2026-11-26 07:00 EST) Step 1: skipped: nobody on call",
        "+0 min (2026-11-26 07:00 EST) Step 2: pages carol by voice",
    ]
    assert bad.status_code == 422 and "is not name=value" in bad.text
    # The chains, readable, with who is on each schedule now.
    chain = plain.text.split('data-policy="checkout-oncall"')[1].split("</section>")[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", chain).split())
    assert "Page schedule checkout-primary (now alice ) by sms; then wait 5 min" in text
    assert "Then it stops." in text
    # A preview pages nobody and records nothing.
    assert (await paging.api.get("/api/v1/incidents")).json()["items"] == []
    await paging.tick()
    assert [m["to"] for m in paging.fake.messages] == [ALICE]  # her sign-in code only
    assert paging.fake.calls == []


async def test_reports_show_the_numbers_beside_the_charts(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()  # alice is paged at 07:00 in New York: off-hours
    paging.clock.advance(minutes=2)
    assert (
        await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={})
    ).status_code == 200
    paging.clock.advance(minutes=8)
    assert (
        await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={})
    ).status_code == 200
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get("/reports", params={"weeks": "4"})
        other = await client.get("/reports", params={"service": "payments"})
    assert page.status_code == 200
    trend = page.text.split('id="trend"')[1].split("</section>")[0]
    rows = re.findall(
        r"<tr><td>([0-9-]+)</td><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>", trend
    )
    assert rows[-1] == ("2026-11-20", "1", "2.0", "10.0")
    assert [r[1] for r in rows[:-1]] == ["0", "0", "0"]
    assert trend.count("<circle") == 2  # one week has figures: a dot per line
    loads = page.text.split('id="pages"')[1].split("</section>")[0]
    assert (
        "<tr><td><bdi>alice</bdi></td><td>1</td><td>1</td><td>1</td><td>0</td><td>1</td></tr>"
        in loads
    )
    histogram = page.text.split('id="histogram"')[1].split("</section>")[0]
    assert "<tr><td>5-15 min</td><td>1</td></tr>" in histogram
    assert histogram.count('class="cbar cbar-count"') == 9
    assert "<tr><td>5-15 min</td><td>0</td></tr>" in other.text  # filtered out
