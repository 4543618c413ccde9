"""Secrets are compared in constant time.

* The admin token from settings: ``hmac.compare_digest``.
* Every other bearer token: never compared as text. Its SHA-256 is looked up
  through the unique index on ``api_tokens.token_hash``; the database holds no
  secret, and what a lookup's timing could reveal is a prefix of a hash, which
  helps no one find a token.
* Twilio's signatures: ``hmac.compare_digest`` against every candidate (each
  valid auth token, the URL with and without its port), all of them compared
  whatever matches first.

No test measures time. These spy on ``hmac.compare_digest`` (the standard
library's, not Klaxon's) to pin that the secret comparisons go through it: they
fail if a comparison becomes ``==`` or the twilio library's own loop.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from app.auth import Principal, TokenVerifier
from app.db import make_engine, make_sessionmaker
from app.models import tokens_table
from app.replies.signature import is_valid
from tests.conftest import ADMIN_TOKEN, make_settings

Compared = list[tuple[bytes, bytes]]
URL = "https://klaxon.example.com/api/v1/twilio/sms"
PARAMS = {"From": "+15551230001", "Body": "42A", "To": "+15005550006"}


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Compared:
    """Every pair given to hmac.compare_digest, which still answers."""
    real = hmac.compare_digest
    calls: Compared = []

    def spy(a: Any, b: Any) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


@pytest.fixture
async def sessions(db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(make_settings(db))
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_admin_token_is_compared_with_compare_digest(
    sessions: async_sessionmaker[AsyncSession], compared: Compared
) -> None:
    verifier = TokenVerifier(ADMIN_TOKEN, cache_seconds=0)
    near_miss = ADMIN_TOKEN[:-1] + "X"
    assert await verifier.verify(sessions, near_miss) is None
    assert (near_miss.encode(), ADMIN_TOKEN.encode()) in compared
    compared.clear()
    assert await verifier.verify(sessions, ADMIN_TOKEN) == Principal("admin", "admin")
    assert compared == [(ADMIN_TOKEN.encode(), ADMIN_TOKEN.encode())]


async def test_other_tokens_are_stored_only_as_a_hash_under_a_unique_index(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post("/api/v1/tokens", json={"name": "grafana", "scope": "read"})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    as_reader = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/incidents", headers=as_reader)).status_code == 200
    near_miss = {"Authorization": f"Bearer {secret[:-1]}{'B' if secret[-1] == 'A' else 'A'}"}
    assert (await client.get("/api/v1/incidents", headers=near_miss)).status_code == 401

    async with sessions() as session:
        [row] = (await session.execute(select(tokens_table))).mappings().all()
        conn = await session.connection()
        unique = await conn.run_sync(
            lambda c: [
                *(u["column_names"] for u in inspect(c).get_unique_constraints("api_tokens")),
                *(i["column_names"] for i in inspect(c).get_indexes("api_tokens") if i["unique"]),
            ]
        )
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not [column for column, value in row.items() if secret in str(value)]
    assert ["token_hash"] in unique


def test_a_twilio_signature_is_compared_with_compare_digest_against_every_candidate(
    compared: Compared,
) -> None:
    good = RequestValidator("primary-token").compute_signature(URL, PARAMS)
    forged = good[:-2] + ("AB" if good[-2:] != "AB" else "BA")
    assert not is_valid(URL, PARAMS, forged, ["primary-token", "secondary-token"])
    assert len(compared) == 4, "2 tokens x the URL with and without its port"
    assert {given for _, given in compared} == {forged.encode()}
    compared.clear()
    # The first candidate matches; the others are compared all the same.
    assert is_valid(URL, PARAMS, good, ["primary-token", "secondary-token"])
    assert len(compared) == 4
    assert (good.encode(), good.encode()) in compared


@pytest.mark.parametrize(
    ("signed_url", "tokens"),
    [
        (URL, ["primary-token"]),
        (URL, ["old-token", "primary-token"]),  # rotation: the secondary signs
        ("https://klaxon.example.com:443/api/v1/twilio/sms", ["primary-token"]),
        ("https://klaxon.example.com/api/v1/twilio/sms?x=1", ["primary-token"]),
        (URL, ["other-token"]),
    ],
)
def test_the_signature_check_agrees_with_twilios_validator(
    signed_url: str, tokens: list[str]
) -> None:
    signature = RequestValidator("primary-token").compute_signature(signed_url, PARAMS)
    for url in (URL, signed_url):
        expected = any(RequestValidator(t).validate(url, PARAMS, signature) for t in tokens)
        assert is_valid(url, PARAMS, signature, tokens) == expected
    assert is_valid(signed_url, PARAMS, signature, tokens) == ("primary-token" in tokens)
