"""The schema comes only from Alembic, and the OpenAPI document from the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.models import metadata
from app.openapi import render

OPENAPI = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
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
