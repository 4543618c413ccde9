"""``GET /api/v1/incidents/N`` writes an incident's alerts without a model
each (app/incidents/queries.py ``incident_alerts_json``; on PostgreSQL their
labels and annotations as the JSON text stored): what it answers must be what
the detail's model writes, which the routes that change an incident answer
(here ``PATCH``), on both databases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import WEBHOOK, am_alert, am_payload

ODD = 'naïve ☃ "quoted" back\\slash </script> tab\t'


def _alerts() -> list[dict[str, Any]]:
    return [
        am_alert(
            "0000000000000a01",
            service="checkout",
            severity="critical",
            instance="host-1:9100",
            team=ODD,
            # Alertmanager writes nanoseconds: stored to the microsecond.
            starts_at="2026-11-26T11:00:00.123456789Z",
            annotations={"summary": ODD, "description": "x" * 300, "runbook_url": "https://rb"},
        ),
        am_alert(
            "0000000000000a02",
            service="checkout",
            severity="critical",
            instance="host-2:9100",
            starts_at="2026-11-26T10:59:59Z",
            annotations={},
        ),
        am_alert(
            "0000000000000a03",
            status="resolved",
            service="checkout",
            severity="critical",
            instance="host-3:9100",
            starts_at="2026-11-26T10:30:00.5Z",
            ends_at="2026-11-26T11:01:00Z",
        ),
    ]


async def test_an_incidents_alerts_are_written_as_their_model_writes_them(
    client: httpx.AsyncClient,
) -> None:
    posted = await client.post(
        WEBHOOK, json=am_payload(_alerts(), group_key='{}:{service="checkout"}')
    )
    assert posted.status_code == 200, posted.text
    [number] = posted.json()["incidents"]
    # PATCH answers the detail through its model (app/response/endpoints.py).
    patched = await client.patch(f"/api/v1/incidents/{number}", json={"workaround": "none yet"})
    assert patched.status_code == 200, patched.text
    got = await client.get(f"/api/v1/incidents/{number}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert got.json() == patched.json()
    alerts = got.json()["alerts"]
    assert [(a["fingerprint"], a["status"], a["ends_at"]) for a in alerts] == [
        ("0000000000000a01", "firing", None),
        ("0000000000000a02", "firing", None),
        ("0000000000000a03", "resolved", "2026-11-26T11:01:00Z"),
    ]
    first = next(a for a in alerts if a["fingerprint"] == "0000000000000a01")
    assert first["labels"]["team"] == ODD
    assert first["annotations"]["summary"] == ODD
    assert first["starts_at"] == "2026-11-26T11:00:00.123456Z"
