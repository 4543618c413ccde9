"""``klaxon incidents show`` prints a text runbook, not only its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.cli.conftest import Served, klaxon
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.helpers import am_alert, am_payload, rules_with_text_runbook

RUNBOOK = ["# Disk full", "## Mitigation", "1. Delete old logs:", "   `rm /var/log/*.gz`"]


@pytest.fixture
def settings(db: str, tmp_path: Path) -> Settings:
    rules = rules_with_text_runbook(
        tmp_path / "rules.yaml", "disk", 'alertname="DiskFull"', "\n".join(RUNBOOK)
    )
    return make_settings(db, config=rules)


async def test_show_prints_a_text_runbook_under_its_name(served: Served) -> None:
    payload = am_payload([am_alert("d15c000000000001", alertname="DiskFull", instance="db-1")])
    posted = await served.api.post("/api/v1/webhooks/alertmanager", json=payload)
    assert posted.status_code == 200, posted.text
    [number] = posted.json()["incidents"]
    env = {"KLAXON_URL": served.url, "KLAXON_TOKEN": ADMIN_TOKEN}
    result = await klaxon("incidents", "show", str(number), env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("  runbook:   disk")
    assert lines[start + 1 : start + 5] == [f"    {line}" for line in RUNBOOK]
    assert lines[start + 5] == ""
