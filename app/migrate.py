"""Running Alembic from code: ``klaxon migrate``, ``make run`` and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent


def compared(_obj: Any, name: str | None, type_: str, reflected: bool, _to: Any) -> bool:
    """Alembic's ``include_object`` when comparing the database with the models:
    PostgreSQL's own indexes are made by the migrations only, not the models."""
    from app.models import POSTGRESQL_ONLY_INDEXES

    return not (type_ == "index" and reflected and name in POSTGRESQL_ONLY_INDEXES)


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the schema. env.py runs its own event loop, so from inside a
    running loop this runs in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(url), revision)
        return
    raise RuntimeError("call upgrade_async() from a running event loop")


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
