"""``klaxon oncall [SCHEDULE]`` against a real Klaxon: who is on call, with phone
numbers masked to their last 4 digits (the API returns them whole)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.cli.conftest import ALICE, BOB, ONCALL, Served, klaxon

Env = dict[str, str]
MASKED_ALICE, MASKED_BOB = "+*******0001", "+*******0002"


def rows(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()]


def plain(text: str) -> str:
    return " ".join(re.sub(r"[╭╮╰╯│─]", " ", text).split())


@pytest.fixture
async def oncall_applied(served: Served) -> Served:
    response = await served.api.post("/api/v1/oncall-config", json=ONCALL)
    assert response.status_code == 200, response.text
    return served


async def api(served: Served, path: str, **params: str) -> Any:
    response = await served.api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def masked(answer: dict[str, Any], phone: str) -> dict[str, Any]:
    return {**answer, "responder": {**answer["responder"], "phone": phone}}


async def test_oncall_lists_every_schedule_with_masked_phones(
    oncall_applied: Served, admin: Env
) -> None:
    result = await klaxon("oncall", env=admin)
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        ["SCHEDULE", "ON CALL", "PHONE", "TIME ZONE", "UNTIL", "VIA"],
        ["later", "nobody", "-", "-", "2027-01-04 09:00 UTC", "-"],
        ["ops", "bob", MASKED_BOB, "Europe/London", "2026-11-27 09:00 UTC", "daily"],
    ]
    assert BOB not in result.output


async def test_oncall_json_is_the_apis_answer_with_masked_phones(
    oncall_applied: Served, admin: Env
) -> None:
    result = await klaxon("oncall", "--json", env=admin)
    assert result.exit_code == 0, result.output
    later, ops = await api(oncall_applied, "/api/v1/oncall")
    assert ops["responder"]["phone"] == BOB  # the API's answer is whole
    assert json.loads(result.stdout) == [later, masked(ops, MASKED_BOB)]
    assert BOB not in result.stdout


async def test_oncall_at_another_instant(oncall_applied: Served, admin: Env) -> None:
    result = await klaxon("oncall", "--at", "2026-11-27T05:00:00-05:00", "--json", env=admin)
    assert result.exit_code == 0, result.output
    _, ops = json.loads(result.stdout)
    assert ops["responder"]["name"] == "alice"
    assert ops["responder"]["phone"] == MASKED_ALICE
    assert ops["at"] == "2026-11-27T05:00:00-05:00"


async def test_oncall_for_one_schedule_shows_its_next_shifts(
    oncall_applied: Served, admin: Env
) -> None:
    result = await klaxon("oncall", "ops", "--days", "2", env=admin)
    assert result.exit_code == 0, result.output
    first, blank, heading, *table = result.stdout.splitlines()
    assert first == (f"ops: bob ({MASKED_BOB}, Europe/London) until 2026-11-27 09:00 UTC via daily")
    assert (blank, heading) == ("", "Shifts until 2026-11-28 12:00 UTC:")
    assert rows("\n".join(table)) == [
        ["RESPONDER", "FROM", "TO", "VIA"],
        ["bob", "2026-11-26 12:00 UTC", "2026-11-27 09:00 UTC", "daily"],
        ["alice", "2026-11-27 09:00 UTC", "2026-11-28 09:00 UTC", "daily"],
        ["bob", "2026-11-28 09:00 UTC", "2026-11-28 12:00 UTC", "daily"],
    ]
    assert BOB not in result.output and ALICE not in result.output


async def test_oncall_for_one_schedule_json_is_both_api_answers(
    oncall_applied: Served, admin: Env
) -> None:
    result = await klaxon("oncall", "ops", "--json", env=admin)
    assert result.exit_code == 0, result.output
    now = await api(oncall_applied, "/api/v1/schedules/ops/oncall")
    shifts = await api(
        oncall_applied,
        "/api/v1/schedules/ops/shifts",
        **{"from": "2026-11-26T12:00:00+00:00", "to": "2026-12-03T12:00:00+00:00"},
    )
    assert json.loads(result.stdout) == {"oncall": masked(now, MASKED_BOB), "shifts": shifts}
    assert len(shifts["shifts"]) == 8


async def test_oncall_for_a_schedule_with_nobody(oncall_applied: Served, admin: Env) -> None:
    result = await klaxon("oncall", "later", "--days", "1", env=admin)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "later: nobody\n\nShifts until 2026-11-27 12:00 UTC:\nnobody is on call in this range\n"
    )


async def test_an_unknown_schedule_is_exit_1(oncall_applied: Served, admin: Env) -> None:
    result = await klaxon("oncall", "payments", env=admin)
    assert result.exit_code == 1, result.output
    assert result.stderr == "no schedule 'payments'\n"


async def test_no_schedules_yet(served: Served, admin: Env) -> None:
    result = await klaxon("oncall", env=admin)
    assert result.exit_code == 0, result.output
    assert result.stdout == "no schedules: apply an on-call file with `klaxon apply -f FILE`\n"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--at", "2026-11-27T10:00:00"], "has no UTC offset: add one, e.g. 2026-11-27T10:00:00Z"),
        (["--at", "tomorrow"], "'tomorrow' is not an ISO 8601 time"),
        (["ops", "--days", "0"], "Invalid value for '--days'"),
        (["ops", "--days", "400"], "Invalid value for '--days'"),
    ],
)
async def test_bad_oncall_arguments_are_usage_errors(
    oncall_applied: Served, admin: Env, args: list[str], complaint: str
) -> None:
    result = await klaxon("oncall", *args, env=admin)
    assert result.exit_code == 2, result.output
    assert complaint in plain(result.stderr), result.stderr
