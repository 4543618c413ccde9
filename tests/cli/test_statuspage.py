"""``klaxon incidents publish`` and ``public-update`` against a real Klaxon over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import Settings
from tests.cli.conftest import Served, klaxon
from tests.conftest import RULES, make_settings
from tests.statuspage.conftest import STATUS_BLOCK


@pytest.fixture
def settings(db: str, tmp_path: Path) -> Settings:
    """The test rules with the status page's components."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text() + STATUS_BLOCK)
    return make_settings(db, config=rules)


async def test_publish_then_resolve_from_the_command_line(
    served: Served, admin: dict[str, str]
) -> None:
    reported = await served.api.post(
        "/api/v1/incidents", json={"title": "t", "severity": "SEV1", "service": "checkout"}
    )
    number = reported.json()["number"]
    result = await klaxon(
        "incidents",
        "publish",
        str(number),
        "--name",
        "Checkout down",
        "--text",
        "We are on it",
        "--component",
        "checkout=major_outage",
        env=admin,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"#{number} on the status page: 'Checkout down', investigating, impact critical;"
        " components: checkout major_outage"
    )
    result = await klaxon(
        "incidents",
        "public-update",
        str(number),
        "resolved",
        "--text",
        "Fixed",
        "--json",
        env=admin,
    )
    assert result.exit_code == 0, result.output
    public = json.loads(result.stdout)
    assert public["status"] == "resolved"
    assert public["components"] == {"checkout": "operational"}
    summary = (await served.api.get("/status/api/v2/summary.json")).json()
    assert summary["status"]["indicator"] == "none"


async def test_a_malformed_component_and_a_refusal_are_said_plainly(
    served: Served, admin: dict[str, str]
) -> None:
    result = await klaxon(
        "incidents",
        "publish",
        "1",
        "--name",
        "n",
        "--text",
        "t",
        "--component",
        "checkout",
        env=admin,
    )
    assert result.exit_code == 2 and "write SERVICE=STATUS" in result.output
    result = await klaxon("incidents", "publish", "99", "--name", "n", "--text", "t", env=admin)
    assert result.exit_code == 1 and "99" in result.output
