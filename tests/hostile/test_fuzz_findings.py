"""What the schemathesis run (test_fuzz_api.py) found, each pinned with the
input it found, outside schemathesis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def _documented(schema_name: str, field: str) -> dict[str, Any]:
    document = json.loads(OPENAPI.read_text())
    schema: dict[str, Any] = document["components"]["schemas"][schema_name]["properties"][field]
    return schema


async def test_a_layer_start_without_offset_comes_back_as_the_document_describes_it(
    client: httpx.AsyncClient,
) -> None:
    applied = await client.post(
        "/api/v1/oncall-config",
        json={
            "responders": [{"name": "alice", "phone": "+15551230001"}],
            "schedules": [
                {
                    "name": "primary",
                    "time_zone": "Europe/Berlin",
                    "layers": [
                        {
                            "name": "weekly",
                            "participants": ["alice"],
                            "shift": "1w",
                            "start": "2026-11-01T09:00:00",
                        }
                    ],
                }
            ],
        },
    )
    assert applied.status_code == 200, applied.text
    listed = await client.get("/api/v1/schedules")
    assert listed.status_code == 200, listed.text
    start = listed.json()[0]["layers"][0]["start"]
    assert start == "2026-11-01T09:00:00", "schedule-local: no offset is made up"
    documented = jsonschema_rs.validator_for(
        _documented("LayerSpec", "start"), validate_formats=True
    )
    assert documented.is_valid(start), _documented("LayerSpec", "start")
