"""Building Alertmanager payloads and reading the API, for the incident tests."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx

WEBHOOK = "/api/v1/webhooks/alertmanager"
GO_ZERO = "0001-01-01T00:00:00Z"


def am_alert(
    fingerprint: str,
    *,
    status: str = "firing",
    alertname: str = "HighErrorRate",
    starts_at: str = "2026-11-26T11:00:00Z",
    ends_at: str = GO_ZERO,
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": alertname, **labels},
        "annotations": annotations if annotations is not None else {"summary": f"{alertname}"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": fingerprint,
    }


def am_payload(
    alerts: list[dict[str, Any]], *, group_key: str = '{}:{alertname="X"}'
) -> dict[str, Any]:
    statuses = {a["status"] for a in alerts}
    return {
        "receiver": "klaxon",
        "status": "firing" if "firing" in statuses else "resolved",
        "alerts": copy.deepcopy(alerts),
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }


async def post(client: httpx.AsyncClient, payload: Any, **kwargs: Any) -> httpx.Response:
    return await client.post(WEBHOOK, json=payload, **kwargs)


async def incidents(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/incidents", params=params)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def incident(client: httpx.AsyncClient, number: int) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/incidents/{number}")
    assert resp.status_code == 200, resp.text
    detail: dict[str, Any] = resp.json()
    return detail


async def state(client: httpx.AsyncClient) -> dict[str, Any]:
    """Everything a user can see, minus delivery counters, for idempotency checks."""
    found = []
    for item in await incidents(client, limit=500):
        detail = await incident(client, item["number"])
        for alert in detail["alerts"]:
            alert.pop("occurrences")
            alert.pop("last_seen_at")
        detail.pop("updated_at")
        found.append(detail)
    return {"incidents": found}


def rules_with_text_runbook(path: Path, name: str, matcher: str, text: str) -> Path:
    """The tests' rules file plus one text runbook, written to ``path``."""
    from tests.conftest import RULES

    registry = [
        "runbooks:",
        f"  - name: {name}",
        f"    matchers: [{matcher!r}]",
        "    text: |",
        *(f"      {line}" for line in text.splitlines()),
    ]
    path.write_text(RULES.read_text() + "\n".join(registry) + "\n")
    return path


def told(twiml: str) -> str | None:
    """What a TwiML answer says: its ``<Message>`` (SMS), else its ``<Say>`` (voice)."""
    root = ET.fromstring(twiml)
    node = root.find("Message")
    if node is None:
        node = root.find("Say")
    return None if node is None else node.text
