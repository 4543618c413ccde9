"""``klaxon reply``'s failures and its use of the development admin token (the happy
path with paging is in tests/escalation/test_local_reply.py)."""

from __future__ import annotations

from app.cli._common import DEV_TOKEN_FILE
from tests.cli.conftest import ALICE, ONCALL, Served, klaxon
from tests.conftest import ADMIN_TOKEN


async def test_reply_signs_with_the_dev_token_file(served: Served) -> None:
    assert (await served.api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    DEV_TOKEN_FILE.parent.mkdir()
    DEV_TOKEN_FILE.write_text(ADMIN_TOKEN + "\n")
    result = await klaxon("reply", "--from", ALICE, "--url", served.url, f"ack {number}")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"#{number} acknowledged\n"
    detail = await served.incident(number)
    assert (detail["status"], detail["acknowledged_by"]) == ("acknowledged", "alice")


async def test_a_wrongly_signed_reply_is_refused_with_exit_1(served: Served) -> None:
    env = {"KLAXON_ADMIN_TOKEN": "not-the-token"}
    result = await klaxon("reply", "--from", ALICE, "--url", served.url, "1A", env=env)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Klaxon answered 403: ")


async def test_reply_without_a_token_to_sign_with_is_exit_1(served: Served) -> None:
    result = await klaxon("reply", "--from", ALICE, "--url", served.url, "1A")
    assert result.exit_code == 1
    assert result.stderr == (
        "no token to sign with: set KLAXON_TWILIO_AUTH_TOKEN or KLAXON_ADMIN_TOKEN\n"
    )


async def test_reply_to_an_unreachable_klaxon_is_exit_3(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    env = {"KLAXON_ADMIN_TOKEN": ADMIN_TOKEN}
    result = await klaxon("reply", "--from", ALICE, "--url", url, "1A", env=env)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"cannot reach Klaxon at {url}/api/v1/twilio/sms: ")
    assert result.stderr.count("\n") == 1
