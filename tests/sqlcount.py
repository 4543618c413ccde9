"""Counting the statements Klaxon sends to its database (issue 13): counts,
unlike times, do not depend on how busy the machine is."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import outside_transaction


@contextlib.contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent on ``engine`` meanwhile, each a round trip: SQL, and
    the BEGIN, COMMIT and ROLLBACK of transactions (SQLite's ``BEGIN IMMEDIATE``
    is SQL already; PostgreSQL's BEGIN is sent by the driver). A connection
    outside any transaction sends none of the three."""
    seen: list[str] = []

    def statement(_conn: Connection, _cursor: object, sql: str, *_args: object) -> None:
        seen.append(sql)

    def begun(conn: Connection) -> None:
        if conn.dialect.name == "postgresql" and not outside_transaction(conn):
            seen.append("BEGIN")

    def ended(word: str) -> Callable[[Connection], None]:
        def listener(conn: Connection) -> None:
            if not outside_transaction(conn):
                seen.append(word)

        return listener

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", statement),
        ("begin", begun),
        ("commit", ended("COMMIT")),
        ("rollback", ended("ROLLBACK")),
    ]
    sync = engine.sync_engine
    for name, listener in listeners:
        event.listen(sync, name, listener)
    try:
        with _raw_asyncpg(seen):
            yield seen
    finally:
        for name, listener in listeners:
            event.remove(sync, name, listener)


#: asyncpg's methods that send a statement: Klaxon's hottest statements go to
#: the driver directly (app/ingest/repeats.py), past SQLAlchemy's events.
_RAW_METHODS = ("fetch", "fetchrow", "fetchval", "execute", "executemany")


@contextlib.contextmanager
def _raw_asyncpg(seen: list[str]) -> Iterator[None]:
    """Counts statements sent on asyncpg connections by Klaxon's own code (those
    SQLAlchemy sends are counted by its events); the methods still run."""
    originals = {name: getattr(asyncpg.Connection, name) for name in _RAW_METHODS}

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        def send(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not caller.startswith(("sqlalchemy", "asyncpg")):
                seen.append(query)
            return method(self, query, *args, **kwargs)

        return send

    for name, method in originals.items():
        setattr(asyncpg.Connection, name, counted(method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(asyncpg.Connection, name, method)
