"""No secret reaches a log line or the console, whatever the log level.

One scenario exercises everything that handles a secret, with every logger at
DEBUG (Klaxon's, uvicorn's, httpx's, SQLAlchemy's, aiosqlite's, asyncpg's,
twilio's, aiohttp's) and stdout/stderr captured at the file descriptors: an
ingest token is created and used, a wrong token is refused, pages go through
the fake Twilio with an account SID and auth token, one send fails with an
error naming the number and is retried, a call is answered with a key, an SMS reply
acknowledges, garbage and a stranger's text are ignored, a status callback
arrives, and a database with a password in its URL is unreachable.

Secrets: the admin token, ingest token secrets (and the wrong one tried),
Twilio's auth tokens (primary and secondary), the database password, and every
phone number of a person, beyond its last 4 digits. Twilio's account SID is not
one: it names the account in every API URL, like a user name, and is useless
without an auth token.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.clock import ManualClock
from app.main import create_app
from app.migrate import upgrade
from tests.conftest import ADMIN_TOKEN, RULES, make_settings
from tests.fakes.twilio_server import FakeTwilio, free_port
from tests.helpers import am_alert, am_payload
from tests.paging import (
    ACCOUNT_SID,
    ALICE,
    AUTH_TOKEN,
    BOB,
    CAROL,
    KLAXON_NUMBER,
    PUBLIC_URL,
    serve_paging,
)
from tests.services.klaxon import output_until_listening

SECONDARY_TOKEN = "twilio-secondary-auth-token-5e1f"
DB_PASSWORD = "db-pa55word-never-logged"
STRANGER = "+15557770001"
WRONG_TOKEN = "kx_wrongTokenSomeoneTypedIn0123456789abcdefghij"
LOGGERS = [
    "",
    "app",
    "klaxon",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "httpx",
    "httpcore",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "aiosqlite",
    "asyncpg",
    "twilio",
    "aiohttp",
    "alembic",
]


def _phone_fragments(number: str) -> list[str]:
    """A number as a log might show it: whole, or its digits without the last 4."""
    digits = re.sub(r"\D", "", number)
    return [number, digits[:-4]]


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield


def _alert(fingerprint: str) -> dict[str, object]:
    return am_payload(
        [am_alert(fingerprint, service="checkout", severity="critical")],
        group_key=f"{{}}:{{checkout={fingerprint}}}",
    )


async def _scenario(db: str, clock: ManualClock) -> list[str]:
    """Run everything that handles a secret; return the secrets it handled."""
    secrets = [ADMIN_TOKEN, AUTH_TOKEN, SECONDARY_TOKEN, DB_PASSWORD, WRONG_TOKEN]
    for number in (ALICE, BOB, CAROL, STRANGER):
        secrets += _phone_fragments(number)
    async with (
        FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=KLAXON_NUMBER) as fake,
        serve_paging(db, fake, clock, twilio_auth_token_secondary=SECONDARY_TOKEN) as paging,
    ):
        api = paging.api
        created = await api.post("/api/v1/tokens", json={"name": "am", "scope": "ingest"})
        assert created.status_code == 201, created.text
        ingest = created.json()["token"]
        secrets.append(ingest)
        as_alertmanager = {"Authorization": f"Bearer {ingest}"}

        refused = await api.post(
            "/api/v1/webhooks/alertmanager",
            json=_alert("5ec7e70000000001"),
            headers={"Authorization": f"Bearer {WRONG_TOKEN}"},
        )
        assert refused.status_code == 401

        first = await api.post(
            "/api/v1/webhooks/alertmanager",
            json=_alert("5ec7e70000000001"),
            headers=as_alertmanager,
        )
        assert first.status_code == 200, first.text
        number = first.json()["incidents"][0]
        await paging.tick()
        assert len(paging.texts_to(ALICE)) == 1

        # Step 2 pages bob by SMS and by call; Twilio refuses the first of
        # the two with an error naming his number, and the retry gets through.
        fake.fail_next(1, status=503, code=20503, message=f"Cannot reach {BOB} right now")
        await paging.tick(minutes=5)
        await paging.tick(minutes=1)
        assert len(paging.calls_to(BOB)) == 1
        said = await fake.answer_call(paging.calls_to(BOB)[0]["sid"], "4")
        assert "acknowledged" in said[-1]

        second = await api.post(
            "/api/v1/webhooks/alertmanager",
            json=_alert("5ec7e70000000002"),
            headers=as_alertmanager,
        )
        assert second.status_code == 200, second.text
        other = second.json()["incidents"][0]
        assert other != number
        await paging.tick()
        page = [m for m in fake.messages if m["to"] == ALICE][-1]
        delivered = await fake.send_status_callback(page["sid"], "delivered")
        assert delivered.status_code == 204, delivered.text
        acked = await paging.sms_reply(ALICE, f"{other}A")
        assert f"#{other} acknowledged" in acked.text
        for _ in range(4):
            assert (await paging.sms_reply(ALICE, "what?")).status_code == 200
        assert (await paging.sms_reply(STRANGER, f"{other}R")).status_code == 200
        forged = await fake.inbound_sms(
            STRANGER, "1R", f"{PUBLIC_URL}/api/v1/twilio/sms", bad_signature=True
        )
        assert forged.status_code == 403

    unreachable = make_settings(
        f"postgresql+asyncpg://klaxon:{DB_PASSWORD}@127.0.0.1:9/klaxon", db_connect_timeout=2
    )
    down = create_app(unreachable, clock=clock)
    async with down.router.lifespan_context(down):
        transport = httpx.ASGITransport(app=down)
        async with httpx.AsyncClient(transport=transport, base_url="http://klaxon.test") as api:
            answer = await api.post(
                "/api/v1/webhooks/alertmanager",
                json=_alert("5ec7e70000000003"),
                headers={"Authorization": f"Bearer {ingest}"},
            )
            assert answer.status_code == 503, answer.text
    return secrets


@pytest.mark.usefixtures("everything_at_debug")
async def test_no_secret_reaches_a_log_line_or_the_console(
    db: str, clock: ManualClock, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    secrets = await _scenario(db, clock)
    console = capfd.readouterr()
    logged = "\n".join(
        [caplog.text]
        + [
            f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}"
            for r in caplog.records
        ]
    )
    assert len(caplog.records) > 100, "the scenario logged at DEBUG (else this proves nothing)"
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert any(r.name.startswith("klaxon.notify.twilio") for r in caplog.records)
    assert any("Cannot reach +*******0002" in r.getMessage() for r in caplog.records), (
        "Twilio's error naming the number was logged, masked"
    )
    assert leaked(logged, secrets) == []
    assert leaked(console.out + console.err, secrets) == []


def _serve_output(tmp_path: Path, *args: str) -> str:
    """What `klaxon serve` prints until it listens, then stop it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'klaxon.db'}"
    upgrade(url)
    env = {
        **os.environ,
        "KLAXON_DATABASE_URL": url,
        "KLAXON_CONFIG": str(RULES),
        "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN,
        "KLAXON_PORT": str(free_port()),
        "KLAXON_ENGINE_ENABLED": "false",
    }
    klaxon = Path(sys.executable).parent / "klaxon"
    return output_until_listening([str(klaxon), "serve", *args], env)


def test_serve_prints_the_admin_token_only_in_development(tmp_path: Path) -> None:
    production = _serve_output(tmp_path)
    assert "Klaxon listening on" in production, production
    assert "admin token: set (KLAXON_ADMIN_TOKEN), not shown" in production
    assert ADMIN_TOKEN not in production
    assert ADMIN_TOKEN in _serve_output(tmp_path, "--dev"), "make run shows it to the developer"
