"""What every drill shares: the fake Twilio on loopback, and a PostgreSQL of the drill's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ACCOUNT_SID, AUTH_TOKEN, KLAXON_NUMBER
from tests.services.postgres import PrivatePostgres, private_postgres


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=KLAXON_NUMBER) as twilio:
        yield twilio


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A server of the drill's own: stopping it disturbs no other test. (Its
    commits reach the kernel before they return, so an immediate stop loses none:
    with ``synchronous_commit=off`` this drill saw webhooks answered 200 whose
    alerts the restarted server did not have.)"""
    with private_postgres() as server:
        yield server
