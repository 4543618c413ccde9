"""The schema comes only from Alembic, and the OpenAPI document from the app."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.migrate import alembic_config, compared
from app.models import metadata
from app.openapi import render
from tests.services.postgres import PrivatePostgres

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "openapi" / "openapi.json"


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": compared}
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    await engine.dispose()
    assert diff == [], f"models and migrations drifted; add a migration: {diff}"


def test_openapi_document_is_current() -> None:
    current = render()
    committed = OPENAPI.read_text()
    assert json.loads(committed) == json.loads(current), (
        "openapi/openapi.json is stale: run `make openapi`"
    )


def test_replicas_migrating_at_once_take_turns(postgres: PrivatePostgres) -> None:
    """Every replica runs `klaxon migrate` as it starts; on one fresh database
    four at once must all succeed and leave one schema at head."""
    url = postgres.create_database("klaxon_migrate_race")
    env = {**os.environ, "KLAXON_DATABASE_URL": url}
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "klaxon"), "migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.wait(120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes
    assert all(out == "database schema is up to date\n" for _, out, _ in outcomes)
    assert asyncio.run(_fetch_all(url, "SELECT version_num FROM alembic_version")) == [
        (ScriptDirectory.from_config(alembic_config(url)).get_current_head(),)
    ]
    # ...and a complete one: the models match it.
    engine = create_async_engine(url, poolclass=NullPool)

    async def diff() -> list[Any]:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)

    assert asyncio.run(diff()) == []
    asyncio.run(engine.dispose())


async def _fetch_all(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql))]
    finally:
        await engine.dispose()
