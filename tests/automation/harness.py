"""Klaxon with actions in its rules file, a fake executor on loopback and the
paging harness (fake Twilio, ManualClock), for the automation tests."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from app.clock import ManualClock
from tests.conftest import RULES
from tests.fakes.executor import FakeExecutor, Received
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging, serve_paging

SECRET = "whsec_" + base64.b64encode(b"automation-test-secret-32-bytes!").decode()

#: checkout-oncall with an action first: restart, wait 3 minutes, then page alice.
ACTION_POLICY: dict[str, Any] = {
    "steps": [
        {"run": "restart-checkout", "wait": "3m"},
        {"targets": {"schedules": ["checkout-primary"]}, "channels": ["sms"], "delay_minutes": 5},
    ]
}


def rules_text(
    executor: FakeExecutor, *, timeout: str = "5s", deadline: str = "2m", extra: str = ""
) -> str:
    return RULES.read_text() + (
        f"""
automation:
  allowed_hosts: ["{executor.host}"]
actions:
  - name: restart-checkout
    url: {executor.url}/api/45/job/restart/run
    headers: {{X-Rundeck-Auth-Token: "${{secret.TEST_RUNDECK}}"}}
    body:
      options: {{incident: "$number", service: "${{labels.service}}", title: "$title"}}
      alerts: "$alerts"
    timeout: {timeout}
    deadline: {deadline}
{extra}"""
    )


@contextlib.asynccontextmanager
async def serve_automation(
    db: str,
    fake: FakeTwilio,
    clock: ManualClock,
    tmp_path: Path,
    executor: FakeExecutor,
    **rules: str,
) -> AsyncIterator[Paging]:
    """Klaxon whose checkout-oncall policy runs restart-checkout first."""
    path = tmp_path / "rules.yaml"
    path.write_text(rules_text(executor, **rules))
    async with serve_paging(db, fake, clock, config=path, automation_secret=SECRET) as paging:
        resp = await paging.api.put(
            "/api/v1/escalation-policies/checkout-oncall", json=ACTION_POLICY
        )
        assert resp.status_code == 200, resp.text
        yield paging


def verified(request: Received) -> Any:
    """The body, once ``standardwebhooks`` verified the signature over the raw bytes."""
    return Webhook(SECRET).verify(request.body, request.headers)


async def timeline(paging: Paging, number: int) -> list[str]:
    resp: httpx.Response = await paging.api.get(f"/api/v1/incidents/{number}/timeline")
    assert resp.status_code == 200, resp.text
    return [str(event["message"]) for event in resp.json()]


async def counted(paging: Paging, kind: str, target: str, outcome: str) -> float:
    """``klaxon_automation_requests_total`` for these labels, read from ``/metrics``
    (counters are process-wide: tests compare before and after)."""
    text = (await paging.api.get("/metrics")).text
    sample = (
        f'klaxon_automation_requests_total{{kind="{kind}",outcome="{outcome}",target="{target}"}} '
    )
    for line in text.splitlines():
        if line.startswith(sample):
            return float(line.removeprefix(sample))
    return 0.0
