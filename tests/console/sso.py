"""Klaxon with single sign-on against the tests' own OIDC provider on loopback
(tests/fakes/oidc_provider.py), alice's e-mail set: for test_oidc and the browser."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from app.clock import ManualClock
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider, serve_oidc
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, Paging, serve_paging


@contextlib.asynccontextmanager
async def sso_paging(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> AsyncIterator[tuple[Paging, FakeOidcProvider]]:
    async with (
        serve_oidc(clock.now) as provider,
        serve_paging(
            db,
            fake,
            clock,
            console_oidc_issuer=provider.issuer,
            console_oidc_client_id=CLIENT_ID,
            console_oidc_client_secret=CLIENT_SECRET,
        ) as paging,
    ):
        put = await paging.api.put(
            "/api/v1/responders/alice", json={"phone": ALICE, "email": "Alice@Example.com"}
        )
        assert put.status_code == 200, put.text
        yield paging, provider
