"""The on-call document: parsing with line numbers, ``apply_config`` (idempotent,
all or nothing), ``POST /api/v1/oncall-config`` and ``klaxon apply``."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from app.apply import document
from app.apply.config import ConfigError, OnCallConfig, load_config, parse_config
from app.cli import cli
from app.db import make_engine, make_sessionmaker
from app.errors import Conflict, KlaxonError
from app.escalation import store as policy_store
from app.oncall import store
from app.rules import load_rules
from app.settings import get_settings
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "oncall.example.yaml"
RULES_EXAMPLE = ROOT / "deploy" / "klaxon.example.yaml"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 12, tzinfo=UTC)
ALL_UNCHANGED = {"created": 0, "updated": 0, "unchanged": 9}

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(db: str) -> AsyncIterator[Sessions]:
    engine = make_engine(make_settings(db))
    yield make_sessionmaker(engine)
    await engine.dispose()


def example() -> OnCallConfig:
    return load_config(EXAMPLE)


def example_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return data


async def apply(sessions: Sessions, config: OnCallConfig, now: datetime = NOW) -> dict[str, int]:
    async with sessions() as session, session.begin():
        return await document.apply_config(session, config, now=now, by="test")


def _counts(answer: dict[str, Any]) -> dict[str, int]:
    """The counts of ``POST /oncall-config``'s answer (no prune: nothing removed)."""
    assert answer["removed"] == 0
    assert len(answer["changes"]) == sum(answer[k] for k in ("created", "updated", "unchanged"))
    return {key: answer[key] for key in ("created", "updated", "unchanged")}


async def snapshot(sessions: Sessions) -> dict[str, Any]:
    """Everything the on-call tables hold, in comparable form."""
    async with sessions() as session:
        schedules = {}
        for row in await store.list_schedules(session):
            overrides = await store.list_overrides(session, row.id)
            schedules[row.name] = {
                "time_zone": row.time_zone,
                "layers": row.layers,
                "services": row.services,
                "overrides": [(o.starts_at, o.ends_at, o.responder) for o in overrides],
                "updated_at": row.updated_at,
            }
        return {
            "responders": [
                (r.name, r.phone, r.time_zone, r.updated_at)
                for r in await store.list_responders(session)
            ],
            "schedules": schedules,
            "policies": await policy_store.list_policies(session),
        }


# --- the document -------------------------------------------------------------------


def test_the_example_is_valid_and_names_the_routed_policies() -> None:
    config = example()
    assert [r.name for r in config.responders] == ["alice", "bob", "chen"]
    assert [r.phone for r in config.responders] == ["+15551230001", "+15551230002", "+15551230003"]
    assert [s.name for s in config.schedules] == ["payments-primary", "payments-secondary", "infra"]
    assert [layer.name for layer in config.schedules[2].layers] == ["apac", "emea", "amer"]
    policies = {p.name: p for p in config.policies}
    rules = load_rules(RULES_EXAMPLE)
    routed = {route.policy for route in rules.routes} | {rules.default_route.policy}
    assert routed == set(policies) == {"payments-oncall", "infra-oncall", "default"}
    payments = policies["payments-oncall"]
    assert payments.repeat == 1
    assert [(s.targets.schedules, s.channels, s.delay_minutes) for s in payments.steps] == [
        (["payments-primary"], ["sms"], 5),
        (["payments-secondary"], ["sms", "voice"], 10),
    ]


def test_yaml_errors_name_their_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("responders:\n  - name: a\n phone: x\n", "f.yaml")
    [error] = caught.value.errors
    assert error.startswith("f.yaml:3: invalid YAML: ")

    with pytest.raises(ConfigError) as caught:
        parse_config("- a\n- b\n", "f.yaml")
    assert caught.value.errors == ["f.yaml:1: the on-call file must be a mapping"]


def test_validation_errors_name_the_line_and_the_field_path() -> None:
    text = (
        "responders:\n"  # 1
        "  - name: alice\n"  # 2
        "    phone: '555-1234'\n"  # 3
        "  - name: bob\n"  # 4
        "    phone: '+15551230002'\n"  # 5
        "    time_zone: Mars/Base\n"  # 6
        "  - name: bob\n"  # 7
        "    phone: '+15551230003'\n"  # 8
        "schedules:\n"  # 9
        "  - name: s\n"  # 10
        "    time_zone: UTC\n"  # 11
        "    layers:\n"  # 12
        "      - name: l\n"  # 13
        "        participants: [alice]\n"  # 14
        "        shift: 1w\n"  # 15
        "        start: 2026-01-05T09:00:00\n"  # 16
        "        handof: '09:00'\n"  # 17
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.yaml")
    assert caught.value.errors == [
        "f.yaml:3: responders.0.phone: phone '555-1234' is not an E.164 number:"
        " an E.164 number starts with + and the country code, like +15551230001",
        "f.yaml:6: responders.1.time_zone: time_zone 'Mars/Base' is not an IANA time zone"
        " (like 'Europe/Berlin' or 'UTC')",
        "f.yaml:17: schedules.0.layers.0.handof: Extra inputs are not permitted",
    ]

    # Each item error points at its item.
    duplicate = text.replace("'555-1234'", "'+15551230001'").replace("Mars/Base", "UTC")
    duplicate = duplicate.replace("handof", "handoff")
    with pytest.raises(ConfigError) as caught:
        parse_config(duplicate, "f.yaml")
    assert caught.value.errors == ["f.yaml:7: responders.2.name: responder 'bob' is listed twice"]


def test_wall_times_are_never_base_60_numbers() -> None:
    # YAML 1.1 reads an unquoted 10:00 as 600; the on-call file does not.
    config = parse_config(
        "schedules:\n"
        "  - name: s\n"
        "    time_zone: UTC\n"
        "    layers:\n"
        "      - name: l\n"
        "        participants: [a]\n"
        "        shift: 12h\n"
        "        start: 2026-01-05T09:00:00\n"
        "        handoff: 10:00\n"
        "        restrictions: [{days: [1, sat], start: 21:30, end: 09:00}]\n"
    )
    layer = config.schedules[0].layers[0]
    assert layer.handoff == "10:00"
    assert layer.restrictions[0].model_dump() == {
        "days": ["mon", "sat"],
        "start": "21:30",
        "end": "09:00",
    }


# --- apply_config -------------------------------------------------------------------


async def test_applying_the_example_twice_changes_nothing_the_second_time(
    sessions: Sessions,
) -> None:
    config = example()
    assert await apply(sessions, config) == {"created": 9, "updated": 0, "unchanged": 0}
    first = await snapshot(sessions)
    assert await apply(sessions, config, LATER) == ALL_UNCHANGED
    assert await snapshot(sessions) == first

    # The database holds the document.
    assert first["responders"] == [(r.name, r.phone, r.time_zone, NOW) for r in config.responders]
    assert first["policies"] == sorted(config.policies, key=lambda p: p.name)
    for spec in config.schedules:
        stored = first["schedules"][spec.name]
        assert stored["time_zone"] == spec.time_zone
        assert stored["layers"] == [layer.model_dump(mode="json") for layer in spec.layers]
        assert stored["services"] == spec.services
        assert stored["overrides"] == []
    async with sessions() as session:
        primary = await store.load_schedule(session, "payments-primary")
        assert primary is not None
        assert primary.layers[0].participants == ("alice", "bob", "chen")
        assert await policy_store.get_policy(session, "default") == config.policies[2]
        assert await policy_store.get_policy(session, "nope") is None
        answers = await store.oncall_now(
            session, ["infra", "payments-primary", "nope"], datetime(2026, 11, 26, 9, tzinfo=UTC)
        )
        assert {name: a.responder for name, a in answers.items()} == {
            "infra": "bob",  # EMEA, 08:00-16:00 UTC
            "payments-primary": "bob",  # week 46 from Monday 2026-01-05: 46 % 3 == 1
        }
        assert answers["infra"].source == "emea"
        assert answers["infra"].until == datetime(2026, 11, 26, 16, tzinfo=UTC)
        found = await store.get_responder_by_phone(session, "+15551230002")
        assert found is not None and found.name == "bob"
        assert await store.get_responder_by_phone(session, "+15551239999") is None
        assert set(await store.get_responders_by_name(session, ["bob", "zed"])) == {"bob"}


async def test_changes_are_counted(sessions: Sessions) -> None:
    await apply(sessions, example())
    data = example_data()
    data["responders"][0]["time_zone"] = "Europe/Paris"
    data["schedules"][0]["layers"][0]["handoff"] = "10:00"
    data["schedules"][1]["overrides"] = [
        {"start": "2026-12-24T00:00:00Z", "end": "2026-12-25T00:00:00Z", "responder": "alice"}
    ]
    data["policies"][0]["repeat"] = 2
    changed = OnCallConfig.model_validate(data)
    assert await apply(sessions, changed, LATER) == {"created": 0, "updated": 4, "unchanged": 5}
    state = await snapshot(sessions)
    assert state["responders"][0] == ("alice", "+15551230001", "Europe/Paris", LATER)
    assert state["responders"][1][3] == NOW
    assert state["schedules"]["payments-secondary"]["overrides"] == [
        (datetime(2026, 12, 24, tzinfo=UTC), datetime(2026, 12, 25, tzinfo=UTC), "alice")
    ]
    assert state["schedules"]["payments-secondary"]["updated_at"] == LATER
    assert state["schedules"]["infra"]["updated_at"] == NOW
    assert await apply(sessions, changed, LATER) == ALL_UNCHANGED

    # Without an overrides key the stored overrides stay; an empty list clears them.
    assert await apply(sessions, example(), LATER) == {"created": 0, "updated": 3, "unchanged": 6}
    state = await snapshot(sessions)
    assert len(state["schedules"]["payments-secondary"]["overrides"]) == 1
    data = example_data()
    data["schedules"][1]["overrides"] = []
    assert await apply(sessions, OnCallConfig.model_validate(data)) == {
        "created": 0,
        "updated": 1,
        "unchanged": 8,
    }
    assert (await snapshot(sessions))["schedules"]["payments-secondary"]["overrides"] == []


async def test_an_unknown_reference_is_named_and_nothing_is_written(sessions: Sessions) -> None:
    data = example_data()
    data["schedules"][0]["layers"][0]["participants"].append("zed")
    data["policies"][1]["steps"][0]["targets"]["schedules"].append("ghost")
    config = OnCallConfig.model_validate(data)
    with pytest.raises(KlaxonError) as caught:
        await apply(sessions, config)
    assert caught.value.message == (
        "unknown responder 'zed' (used in schedules[0] ('payments-primary') layers[0] ('weekly'));"
        " unknown schedule 'ghost' (used in policies[1] ('infra-oncall') steps[0])"
    )
    assert await snapshot(sessions) == {"responders": [], "schedules": {}, "policies": []}

    # A later failure rolls back the earlier writes of the same document too.
    await apply(
        sessions, OnCallConfig.model_validate({"responders": [example_data()["responders"][0]]})
    )
    before = await snapshot(sessions)
    alice, bob, chen = example_data()["responders"]
    bob["phone"] = alice["phone"]  # alice is not in this document
    clash = {"responders": [chen, bob]}
    with pytest.raises(Conflict, match="already belongs to responder 'alice'"):
        await apply(sessions, OnCallConfig.model_validate(clash))
    assert await snapshot(sessions) == before


async def test_references_may_point_at_what_the_database_already_holds(
    sessions: Sessions,
) -> None:
    data = example_data()
    await apply(sessions, OnCallConfig.model_validate({"responders": data["responders"]}))
    await apply(
        sessions,
        OnCallConfig.model_validate({"schedules": data["schedules"], "policies": data["policies"]}),
    )
    assert await apply(sessions, example()) == ALL_UNCHANGED


# --- the API ------------------------------------------------------------------------


async def test_the_api_applies_the_same_document(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    # The YAML file, as JSON: the same document, so the API finds nothing to change.
    assert await apply(sessions, example()) == {"created": 9, "updated": 0, "unchanged": 0}
    body = example().model_dump(mode="json", exclude_unset=True)
    resp = await client.post("/api/v1/oncall-config", json=body)
    assert resp.status_code == 200, resp.text
    assert _counts(resp.json()) == ALL_UNCHANGED

    policies = (await client.get("/api/v1/escalation-policies")).json()
    assert [p["name"] for p in policies] == ["default", "infra-oncall", "payments-oncall"]
    oncall = (await client.get("/api/v1/oncall")).json()
    assert [(o["schedule"], o["responder"]["name"]) for o in oncall] == [
        ("infra", "bob"),
        ("payments-primary", "bob"),
        ("payments-secondary", "chen"),
    ]


async def test_the_api_writes_nothing_on_an_unknown_participant(
    client: httpx.AsyncClient,
) -> None:
    body = copy.deepcopy(example().model_dump(mode="json", exclude_unset=True))
    body["schedules"][2]["layers"][1]["participants"] = ["bob", "zed"]
    resp = await client.post("/api/v1/oncall-config", json=body)
    assert resp.status_code == 400
    assert "unknown responder 'zed'" in resp.json()["detail"]
    assert "schedules[2] ('infra') layers[1] ('emea')" in resp.json()["detail"]
    assert (await client.get("/api/v1/responders")).json() == []

    body["schedules"][2]["layers"][1]["participants"] = ["bob"]
    body["responders"][0]["phone"] = "555"
    resp = await client.post("/api/v1/oncall-config", json=body)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "responders", 0, "phone"]

    body["responders"][0]["phone"] = "+15551230001"
    resp = await client.post("/api/v1/oncall-config", json=body)
    assert resp.status_code == 200
    assert _counts(resp.json()) == {"created": 9, "updated": 0, "unchanged": 0}


# --- klaxon apply -------------------------------------------------------------------


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def klaxon_db(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at a migrated, emptied-after database of each backend."""
    get_settings.cache_clear()
    monkeypatch.setenv("KLAXON_DATABASE_URL", db)
    yield db
    get_settings.cache_clear()


def responder_names(url: str) -> list[str]:
    async def names() -> list[str]:
        engine = make_engine(make_settings(url))
        try:
            async with make_sessionmaker(engine)() as session:
                return [r.name for r in await store.list_responders(session)]
        finally:
            await engine.dispose()

    return asyncio.run(names())


def test_cli_apply_twice(klaxon_db: str) -> None:
    first = run("apply", "-f", str(EXAMPLE))
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        f"{EXAMPLE}: 3 responders, 3 schedules, 3 policies: 9 created, 0 updated, 0 unchanged\n"
    )
    assert first.stderr == ""  # no 7-day warnings in the example
    second = run("apply", "--file", str(EXAMPLE))
    assert second.exit_code == 0, second.output
    assert second.stdout == (
        f"{EXAMPLE}: 3 responders, 3 schedules, 3 policies: 0 created, 0 updated, 9 unchanged\n"
    )
    assert responder_names(klaxon_db) == ["alice", "bob", "chen"]


def test_cli_apply_records_its_overrides_as_made_by_klaxon_apply(
    klaxon_db: str, tmp_path: Path
) -> None:
    data = example_data()
    data["schedules"][1]["overrides"] = [
        {"start": "2026-12-24T00:00:00Z", "end": "2026-12-25T00:00:00Z", "responder": "alice"}
    ]
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run("apply", "-f", str(path))
    assert result.exit_code == 0, result.output

    async def makers() -> list[str | None]:
        engine = make_engine(make_settings(klaxon_db))
        try:
            async with make_sessionmaker(engine)() as session:
                row = await store.get_schedule(session, "payments-secondary")
                assert row is not None
                return [o.created_by for o in await store.list_overrides(session, row.id)]
        finally:
            await engine.dispose()

    assert asyncio.run(makers()) == ["klaxon apply"]


def test_cli_dry_run_writes_nothing(klaxon_db: str) -> None:
    result = run("apply", "--dry-run", "-f", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("9 created, 0 updated, 0 unchanged (dry run, nothing written)\n")
    assert responder_names(klaxon_db) == []


def test_cli_apply_refuses_an_unknown_participant(klaxon_db: str, tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(EXAMPLE.read_text().replace("[bob, chen, alice]", "[bob, chen, zed]"))
    result = run("apply", "-f", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}: unknown responder 'zed' (used in schedules[1] ('payments-secondary')"
        " layers[0] ('weekly')); nothing was written\n"
    )
    assert responder_names(klaxon_db) == []


def test_cli_apply_warns_about_long_stretches(klaxon_db: str, tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(EXAMPLE.read_text().replace("[bob, chen, alice]", "[bob]"))
    result = run("apply", "-f", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: schedule payments-secondary: bob is on call for ")
    assert "9 created" in result.stdout


def test_cli_apply_reports_invalid_files_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text("responders:\n  - name: alice\n    phone: 555-1234\n")
    result = run("apply", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3: responders.0.phone: phone '555-1234' is not")

    path.write_text("responders:\n  - name: alice\n phone: x\n")
    result = run("apply", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3: invalid YAML: ")

    missing = tmp_path / "absent.yaml"
    result = run("apply", "-f", str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"{missing}: cannot read the on-call file: No such file or directory\n"

    assert run("apply").exit_code == 2
