"""What every drill shares: the fake Twilio on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ACCOUNT_SID, AUTH_TOKEN, KLAXON_NUMBER


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=KLAXON_NUMBER) as twilio:
        yield twilio
