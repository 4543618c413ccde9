"""A NUL character in a text, found by the schemathesis run (test_fuzz_api.py):
PostgreSQL cannot store one and answered 500. The input it found, pinned."""

from __future__ import annotations

import httpx

NUL = "\u0000"


async def test_a_nul_character_is_refused_by_postgresql_with_a_422_and_stored_by_sqlite(
    client: httpx.AsyncClient, database_url: str
) -> None:
    body = {"severity": "SEV3", "title": "Checkout down", "service": NUL, "description": "\x93"}
    opened = await client.post("/api/v1/incidents", json=body)
    listed = await client.get("/api/v1/incidents", params={"service": NUL})
    if database_url.startswith("postgresql"):
        for response in (opened, listed):
            assert response.status_code == 422, response.text
            assert response.json() == {
                "detail": "a text contains a NUL character (\\u0000), which cannot be stored"
            }
        nothing = await client.get("/api/v1/incidents")
        assert nothing.json()["items"] == [], "nothing of the refused request is stored"
    else:
        assert opened.status_code == 201, opened.text
        assert opened.json()["service"] == NUL
        assert listed.status_code == 200, listed.text
        assert [i["number"] for i in listed.json()["items"]] == [opened.json()["number"]]
