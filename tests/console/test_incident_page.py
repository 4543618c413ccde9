"""What the incident page shows beyond alerts and timeline: the runbook from
Markdown (rendered inert), publishing to the status page; and the list's label
filter and bulk resolve."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from app.console.incident_page import ALERTS_SHOWN
from app.console.markdown import render_markdown
from tests.conftest import RULES
from tests.console.helpers import console_client, csrf_of, sign_in
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import am_alert, am_payload
from tests.paging import ALICE, Paging, checkout_alert, incident_detail, open_incident, serve_paging

RUNBOOK = """\
# Checkout down
1. Check the [dashboard](https://grafana.example/d/checkout)
2. Do not click [this](javascript:alert(1))
<script>alert(2)</script> <img src=x onerror="alert(3)">
"""
STATUS_BLOCK = """
status_page:
  name: Example Status
  components:
    - service: checkout
      name: Checkout
"""


@pytest.fixture
async def console(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Paging]:
    """The paging fixture with a text runbook for checkout and a status page."""
    rules = tmp_path / "rules.yaml"
    registry = [
        "runbooks:",
        "  - name: checkout-text",
        "    matchers: ['service=\"checkout\"']",
        "    text: |",
        *(f"      {line}" for line in RUNBOOK.splitlines()),
    ]
    rules.write_text(RULES.read_text() + "\n".join(registry) + "\n" + STATUS_BLOCK)
    async with serve_paging(db, fake_twilio, clock, config=rules) as served:
        yield served


def _no_runbook_url(fp: str) -> dict[str, object]:
    alert = am_alert(fp, service="checkout", severity="critical")
    return am_payload([alert], group_key=f"{{}}:{{checkout={fp}}}")


def test_markdown_keeps_no_raw_html_and_no_unsafe_link() -> None:
    html = str(render_markdown(RUNBOOK))
    assert '<a href="https://grafana.example/d/checkout" rel="noopener noreferrer">' in html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html.split("[")[0]
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert str(render_markdown(None)) == ""


async def test_the_runbook_is_rendered_from_markdown_inert(console: Paging) -> None:
    number = await open_incident(console, _no_runbook_url("f1"))
    async with console_client(console) as client:
        await sign_in(client, console, ALICE)
        page = await client.get(f"/incidents/{number}")
    runbook = re.search(r'<section class="runbook".*?</section>', page.text, re.S)
    assert runbook is not None, page.text
    html = runbook.group(0)
    assert "<h1>Checkout down</h1>" in html and "<ol>" in html
    assert "<script" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html


async def test_publishing_to_the_status_page(console: Paging) -> None:
    number = await open_incident(console, _no_runbook_url("f1"))
    async with console_client(console) as client:
        await sign_in(client, console, ALICE)
        page = await client.get(f"/incidents/{number}")
        form = {"csrf": csrf_of(page), "status": "investigating"}
        bad = await client.post(
            f"/incidents/{number}/public", data={**form, "name": "", "body": ""}
        )
        assert bad.status_code == 422 and "name" in bad.text
        done = await client.post(
            f"/incidents/{number}/public",
            data={
                **form,
                "name": "Checkout errors",
                "body": "We are looking into failed payments.",
                "component:checkout": "partial_outage",
            },
        )
        assert done.headers["location"].endswith("notice=published")
        page = await client.get(f"/incidents/{number}")
        assert 'id="public-state">Public as <bdi>Checkout errors</bdi>' in page.text
    public = (await console.api.get(f"/api/v1/incidents/{number}/public")).json()
    assert public["components"] == {"checkout": "partial_outage"}
    assert public["updates"][0]["body"] == "We are looking into failed payments."
    status = await console.api.get("/status")
    assert "Checkout errors" in status.text


async def test_the_list_filters_by_label_and_resolves_the_checked(paging: Paging) -> None:
    eu = await open_incident(paging, checkout_alert("f1", region="eu"))
    us = await open_incident(paging, checkout_alert("f2", region="us"))
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        only_eu = await client.get("/", params={"label": "region=eu"})
        assert re.findall(r'data-number="(\d+)"', only_eu.text) == [str(eu)]
        both = await client.get("/", params={"label": "region=eu service=checkout"})
        assert re.findall(r'data-number="(\d+)"', both.text) == [str(eu)]
        wrong = await client.get("/", params={"label": "region"})
        assert "must look like name=value" in wrong.text
        assert re.findall(r'data-number="(\d+)"', wrong.text) == []
        page = await client.get("/")
        answer = await client.post(
            "/incidents/resolve", data={"csrf": csrf_of(page), "back": "/", "number": [str(us)]}
        )
        assert answer.headers["location"] == "/?notice=resolved"
    assert (await incident_detail(paging, us))["status"] == "resolved"
    assert (await incident_detail(paging, eu))["status"] == "triggered"


async def test_an_alert_storm_is_shown_a_page_at_a_time(paging: Paging) -> None:
    """An incident of more alerts than a page holds shows ALERTS_SHOWN of them,
    a link to the next ones and from there one back; the page never reads the
    storm whole. A bad ``alerts_after`` is a 400 that names it."""
    total = ALERTS_SHOWN + 3
    storm = [am_alert(f"s{i:04d}", service="checkout", severity="critical") for i in range(total)]
    number = await open_incident(paging, am_payload(storm, group_key='{}:{service="checkout"}'))
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        first = await client.get(f"/incidents/{number}")
        shown = re.findall(r'data-alert="(\d+)"', first.text)
        assert len(shown) == ALERTS_SHOWN, first.text
        assert f"{ALERTS_SHOWN} of {total} alerts shown" in first.text
        link = re.search(r'href="([^"]*alerts_after=\d+)#alerts" id="next-alerts"', first.text)
        assert link is not None, first.text
        second = await client.get(link.group(1))
        rest = re.findall(r'data-alert="(\d+)"', second.text)
        assert len(rest) == 3 and not set(rest) & set(shown), second.text
        assert 'id="next-alerts"' not in second.text and "First alerts" in second.text
        bad = await client.get(f"/incidents/{number}", params={"alerts_after": "x1"})
        assert bad.status_code == 400 and "alerts_after" in bad.text
