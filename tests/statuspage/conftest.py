"""The status page's tests run with the test rules plus a ``status_page`` block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import RULES, make_settings

STATUS_BLOCK = """
status_page:
  name: Example Status
  url: https://status.example.com
  components:
    - service: checkout
      name: Checkout
      description: Carts and card payments
      group: Shopping
      order: 1
    - service: payments
      name: Payments
      group: Shopping
      order: 2
    - service: storage
      name: File storage
"""


@pytest.fixture
def status_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.read_text() + STATUS_BLOCK)
    return path


@pytest.fixture
def settings(db: str, status_rules: Path) -> Settings:
    return make_settings(db, config=status_rules)


async def report(client: httpx.AsyncClient, severity: str = "SEV2", **fields: Any) -> int:
    body = {"title": "Internal title", "severity": severity, "service": "checkout", **fields}
    resp = await client.post("/api/v1/incidents", json=body)
    assert resp.status_code == 201, resp.text
    number: int = resp.json()["number"]
    return number


async def publish(client: httpx.AsyncClient, number: int, **fields: Any) -> dict[str, Any]:
    body = {"name": "Slow checkout", "body": "We are looking into slow checkouts.", **fields}
    resp = await client.post(f"/api/v1/incidents/{number}/public", json=body)
    assert resp.status_code == 201, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


async def public_update(
    client: httpx.AsyncClient, number: int, status: str, text: str, **fields: Any
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/incidents/{number}/public/updates",
        json={"status": status, "body": text, **fields},
    )
    assert resp.status_code == 201, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


async def document(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    resp = await client.get(f"/status/api/v2/{name}.json", headers={"Authorization": ""})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def component_status(doc: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in doc["components"]}


async def busy_page(client: httpx.AsyncClient) -> None:
    """One unresolved incident with two updates and one resolved: every list
    of every document has something in it."""
    first = await report(client)
    await publish(client, first, components={"checkout": "partial_outage"})
    await public_update(client, first, "identified", "Found it")
    second = await report(client, service="storage")
    await publish(client, second, components={"storage": "major_outage"})
    await public_update(client, second, "resolved", "Back")
