"""A reload (POST /-/reload, SIGHUP) refuses rules whose routes name an escalation
policy that does not exist, and keeps the old rules; at start such a route is
logged, and the service starts (a pager that does not start pages nobody)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import ADMIN_TOKEN, RULES, make_settings
from tests.test_ops import FIXTURE_POLICIES, STEP, rules_file

__all__ = ["rules_file"]  # the fixture


@pytest.fixture
async def served(db: str, rules_file: Path) -> Any:
    app = create_app(make_settings(db, config=rules_file))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport,
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as client,
    ):
        applied = await client.post("/api/v1/oncall-config", json=FIXTURE_POLICIES)
        assert applied.status_code == 200, applied.text
        yield app, client


def _mistype(rules_file: Path) -> int:
    """Mistype the checkout route's policy; its line."""
    lines = rules_file.read_text().splitlines(keepends=True)
    index = lines.index("    policy: checkout-oncall\n")
    lines[index] = "    policy: chekout-oncall\n"
    rules_file.write_text("".join(lines))
    return index + 1


def _checkout_policy(app: FastAPI) -> str | None:
    routes = app.state.runtime.rules.current.routes
    policy: str | None = next(r.policy for r in routes if r.name == "checkout")
    return policy


async def test_reload_refuses_a_route_naming_an_unknown_policy_and_keeps_the_old_rules(
    served: tuple[FastAPI, httpx.AsyncClient], rules_file: Path
) -> None:
    app, client = served
    line = _mistype(rules_file)
    refused = await client.post("/-/reload")
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "rules file refused, old rules kept:\n"
        f"{rules_file}:{line}: routes.0.policy: route 'checkout' names escalation policy"
        " 'chekout-oncall', which does not exist (did you mean 'checkout-oncall'?)"
    )
    assert _checkout_policy(app) == "checkout-oncall"

    # Once the policy exists, the same file reloads.
    doc = {"policies": [{"name": "chekout-oncall", "steps": [STEP]}]}
    assert (await client.post("/api/v1/oncall-config", json=doc)).status_code == 200
    assert (await client.post("/-/reload")).status_code == 200
    assert _checkout_policy(app) == "chekout-oncall"


async def test_sighup_keeps_the_old_rules_when_a_route_names_an_unknown_policy(
    served: tuple[FastAPI, httpx.AsyncClient], rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = served
    _mistype(rules_file)
    with caplog.at_level(logging.ERROR):
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            await asyncio.sleep(0.01)  # the reload runs as a task on the loop
            if "rules reload refused" in caplog.text:
                break
    assert "'chekout-oncall', which does not exist" in caplog.text
    assert _checkout_policy(app) == "checkout-oncall"


async def test_start_logs_each_route_naming_an_unknown_policy(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(db))
    with caplog.at_level(logging.ERROR, logger="app.engine_process"):
        async with app.router.lifespan_context(app):
            pass
    logged = [r.getMessage() for r in caplog.records if r.name == "app.engine_process"]
    assert len(logged) == 1
    # The fixture rules name three policies; the empty database has none.
    lines = logged[0].splitlines()
    assert lines[0].startswith("the rules name escalation policies that do not exist")
    assert len(lines) == 4
    assert lines[1].startswith(f"{RULES}:10: routes.0.policy: route 'checkout' names")
    assert app.state.runtime.rules.current.routes  # started, with the rules
