"""Numbers too large for the database's integer columns are a 422 naming the
field, never a driver overflow (a 500). Found by the schemathesis run
(test_fuzz_api.py); each input here is one it found."""

from __future__ import annotations

import httpx
import pytest

HUGE = 8090543697423240265728  # over 64 bits: SQLite overflows too, not only int4


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/api/v1/incidents/{HUGE}", "number"),
        ("GET", f"/api/v1/incidents/{HUGE}/timeline", "number"),
        ("GET", f"/api/v1/incidents/{HUGE}/updates", "number"),
        ("GET", f"/api/v1/incidents/{HUGE}/action-items", "number"),
        ("PUT", f"/api/v1/incidents/{HUGE}/postmortem", "number"),
        ("POST", f"/api/v1/incidents/{HUGE}/notes", "number"),
        ("POST", f"/api/v1/incidents/{2**31}/acknowledge", "number"),
        ("PATCH", f"/api/v1/action-items/{HUGE}", "item_id"),
        ("DELETE", f"/api/v1/tokens/{HUGE}", "token_id"),
        ("DELETE", f"/api/v1/schedules/nights/overrides/{HUGE}", "override_id"),
        ("GET", f"/api/v1/action-items?incident=-{HUGE}", "incident"),
    ],
)
async def test_an_id_beyond_the_integer_columns_is_a_422_naming_it(
    client: httpx.AsyncClient, method: str, path: str, field: str
) -> None:
    body = {"text": "\u201a"} if path.endswith("/notes") else {}
    response = await client.request(method, path, json=body if method != "GET" else None)
    assert response.status_code == 422, response.text
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]


async def test_the_largest_id_that_fits_is_looked_up(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/incidents/{2**31 - 1}")
    assert response.status_code == 404, response.text


async def test_affected_customers_beyond_an_integer_column_is_a_422(
    client: httpx.AsyncClient,
) -> None:
    opened = await client.post(
        "/api/v1/incidents",
        json={"title": "Checkout down", "severity": "SEV3", "service": "checkout"},
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    response = await client.patch(
        f"/api/v1/incidents/{number}", json={"affected_customers": 10**20}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "affected_customers"]
    fits = await client.patch(f"/api/v1/incidents/{number}", json={"affected_customers": 2**31 - 1})
    assert fits.status_code == 200, fits.text
    assert fits.json()["affected_customers"] == 2**31 - 1
