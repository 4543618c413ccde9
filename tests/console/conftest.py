"""The ``sso`` fixture: Klaxon with single sign-on against the tests' OIDC provider."""

from collections.abc import AsyncIterator

import pytest

from app.clock import ManualClock
from tests.console.sso import sso_paging
from tests.fakes.oidc_provider import FakeOidcProvider
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging


@pytest.fixture
async def sso(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> AsyncIterator[tuple[Paging, FakeOidcProvider]]:
    """Klaxon with single sign-on against the tests' own OIDC provider (tests/console/sso.py)."""
    async with sso_paging(db, fake_twilio, clock) as both:
        yield both
