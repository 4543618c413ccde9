"""Rows as an earlier Klaxon stored them, before the door refused what is in them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import insert

from app.models import incidents_table

STORED_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)


async def stored_incident(app: FastAPI, *, title: str, labels: dict[str, Any]) -> int:
    """An open SEV2 incident of service checkout, written straight to the table."""
    async with app.state.runtime.sessions() as session, session.begin():
        number: int = await session.scalar(
            insert(incidents_table)
            .values(
                title=title,
                status="triggered",
                severity="SEV2",
                service="checkout",
                group_key=f"stored:{title}",
                labels=labels,
                created_at=STORED_AT,
                updated_at=STORED_AT,
            )
            .returning(incidents_table.c.number)
        )
    return number
