"""Reading incidents and alerts: filters and cursor pagination, newest first.

The lists stay as fast with a year of history as with a day's (issue 13.4):
each equality filter has an index of (column, key), so a filter that matches
little stops at once instead of walking the whole key; on PostgreSQL a label
filter is a ``@>`` containment that the GIN index on ``klaxon_labels_jsonb(labels)``
answers (0010_history_indexes: ``labels::jsonb``, or NULL for labels holding a
NUL, which jsonb cannot hold). Which index fits depends on the value (``env=prod``
matches most rows, ``team=nobody`` none), so these queries are planned for
their values (``plan_cache_mode``), not by a generic plan of a prepared
statement that walks the key for a value that matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import Table

from app.db import dialect_name, driver_connection
from app.errors import KlaxonError, NotFound
from app.incidents.schemas import AlertPublic
from app.models import Incident, alerts_table, incidents_table, timeline_table
from app.models.rows import typed
from app.models.types import ID_MAX
from app.text import NUL

MAX_LIMIT = 500
#: The status filter ``open`` means these (an incident not yet resolved).
OPEN_STATUSES = ("triggered", "acknowledged")


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    severity: str | None = None
    service: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    cursor: int | None = None
    limit: int = 50

    @classmethod
    def from_query(
        cls,
        status: str | None,
        severity: str | None,
        service: str | None,
        label: list[str],
        cursor: str | None,
        limit: int,
    ) -> Filters:
        """A list route's query parameters, its labels and cursor parsed (a bad one is a 400)."""
        return cls(
            status=status,
            severity=severity,
            service=service,
            labels=parse_label_filters(label),
            cursor=parse_cursor(cursor),
            limit=limit,
        )


def parse_label_filters(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, sep, expected = value.partition("=")
        if not sep or not name:
            raise KlaxonError(f"label filter {value!r} must look like name=value")
        if NUL in value:
            raise KlaxonError(f"label filter {value!r} contains a NUL character; no label does")
        pairs.append((name, expected))
    return tuple(pairs)


def _labels_jsonb(labels: ColumnElement[Any]) -> ColumnElement[Any]:
    """PostgreSQL: the labels as jsonb through the function the GIN indexes are
    built on (0010_history_indexes), so they answer the filter. A plain
    ``labels::jsonb`` fails the whole statement, for everyone, when one stored
    row's labels hold a ``\\u0000`` (stored before NUL was refused at the
    door); the function reads those as NULL, which no filter matches."""
    return func.klaxon_labels_jsonb(labels, type_=JSONB)


def parse_cursor(value: str | None) -> int | None:
    """The number a cursor holds; one this API could not have given out (not
    digits, or past the largest id) is a 400 naming it, never a driver overflow."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > ID_MAX:
        raise KlaxonError(f"cursor {value[:40]!r} is not one this API gave out")
    return int(value)


def with_labels(
    stmt: Select[Any],
    labels: ColumnElement[Any],
    pairs: tuple[tuple[str, str], ...],
    *,
    postgresql: bool,
) -> Select[Any]:
    """``stmt`` keeping the rows whose ``labels`` hold every pair (the API's
    list and the console's filter)."""
    if postgresql and pairs:
        # One containment of every pair: one GIN lookup, and one estimate from
        # the column's statistics of how many rows hold them all (pairs that
        # never occur together are seen to be rare, not the product of two
        # common ones).
        wanted = dict(pairs)
        if len(wanted) == len(pairs):
            return stmt.where(_labels_jsonb(labels).contains(wanted))
        for name, expected in pairs:  # a name asked twice: rows holding both values (none)
            stmt = stmt.where(_labels_jsonb(labels).contains({name: expected}))
        return stmt
    for name, expected in pairs:
        stmt = stmt.where(labels[name].as_string() == expected)
    return stmt


def _filtered(table: Table, key: str, filters: Filters, *, postgresql: bool) -> Select[Any]:
    c = table.c
    stmt = select(table)
    if filters.status == "open":
        stmt = stmt.where(c.status.in_(OPEN_STATUSES))
    elif filters.status is not None:
        stmt = stmt.where(c.status == filters.status)
    if filters.severity is not None:
        stmt = stmt.where(c.severity == filters.severity)
    if filters.service is not None:
        stmt = stmt.where(c.service == filters.service)
    stmt = with_labels(stmt, c.labels, filters.labels, postgresql=postgresql)
    if filters.cursor is not None:
        stmt = stmt.where(c[key] < filters.cursor)
    return stmt.order_by(c[key].desc()).limit(filters.limit + 1)


def _filters_by_value(filters: Filters) -> bool:
    return bool(
        filters.labels
        or filters.service is not None
        or filters.severity is not None
        or filters.status is not None
    )


async def _page(
    session: AsyncSession, table: Table, key: str, filters: Filters
) -> tuple[list[dict[str, Any]], str | None]:
    postgresql = dialect_name(session) == "postgresql"
    if postgresql and _filters_by_value(filters):
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    stmt = _filtered(table, key, filters, postgresql=postgresql)
    rows = [dict(r._mapping) for r in await session.execute(stmt)]
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        return rows, str(rows[-1][key])
    return rows, None


async def list_incidents(
    session: AsyncSession, filters: Filters
) -> tuple[list[dict[str, Any]], str | None]:
    return await _page(session, incidents_table, "number", filters)


async def list_alerts(
    session: AsyncSession, filters: Filters
) -> tuple[list[dict[str, Any]], str | None]:
    return await _page(session, alerts_table, "id", filters)


async def get_incident(session: AsyncSession, number: int) -> Incident:
    row = (
        await session.execute(select(incidents_table).where(incidents_table.c.number == number))
    ).first()
    if row is None:
        raise NotFound(f"No incident #{number}")
    return typed(Incident, row)


# An incident's alerts, by id. On PostgreSQL the rows come straight from
# asyncpg (its codecs decode the JSON columns and give times in UTC, as the
# column types would): an alert storm's incident holds thousands, and
# SQLAlchemy's processing of each row's columns was the largest part of the
# time such an incident took to open (issue 13.4: 5,000 alerts in 200 ms).
def _incident_alerts_sql(columns: list[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM alerts WHERE incident_number = $1 ORDER BY id"


PG_INCIDENT_ALERTS = _incident_alerts_sql([c.name for c in alerts_table.c])
# An incident's alerts as their public model has them, with labels and
# annotations as the JSON text stored (json, not jsonb: PostgreSQL checked it
# on the way in), to be written out as it is.
_JSON_COLUMNS = ("labels", "annotations")
PUBLIC_ALERT_FIELDS = tuple(AlertPublic.model_fields)
PG_INCIDENT_ALERTS_TEXT = _incident_alerts_sql(
    [f"{n}::text AS {n}" if n in _JSON_COLUMNS else n for n in PUBLIC_ALERT_FIELDS]
)


async def _fetch(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows read through the session's asyncpg connection, without SQLAlchemy's
    processing of each: for reads of thousands of rows (PostgreSQL)."""
    raw = await driver_connection(await session.connection())
    return await raw.fetch(sql, *args)  # type: ignore[no-any-return]


async def incident_alerts(session: AsyncSession, number: int) -> list[dict[str, Any]]:
    if dialect_name(session) == "postgresql":
        return [dict(row) for row in await _fetch(session, PG_INCIDENT_ALERTS, number)]
    a = alerts_table.c
    rows = await session.execute(
        select(alerts_table).where(a.incident_number == number).order_by(a.id)
    )
    return [dict(r._mapping) for r in rows]


async def incident_alerts_json(session: AsyncSession, number: int) -> bytes:
    """The incident's alerts as the JSON array that their public model
    (``AlertPublic``) writes (tests/incidents/test_detail_json.py holds it to
    that), made without a model an alert: an alert storm's incident holds
    thousands, and validating them and writing them out again was most of the
    time it took to open (issue 13.4). On PostgreSQL labels and annotations are
    not even parsed: their stored JSON text goes out as it is."""
    if dialect_name(session) == "postgresql":
        rows = [dict(row) for row in await _fetch(session, PG_INCIDENT_ALERTS_TEXT, number)]
        for row in rows:
            for name in _JSON_COLUMNS:
                row[name] = orjson.Fragment(row[name])
    else:  # SQLite: parsed, as its JSON may hold NaN, which is written as null
        rows = [
            {name: row[name] for name in PUBLIC_ALERT_FIELDS}
            for row in await incident_alerts(session, number)
        ]
    return orjson.dumps(rows, option=orjson.OPT_UTC_Z)


async def incident_timeline(session: AsyncSession, number: int) -> list[dict[str, Any]]:
    t = timeline_table.c
    rows = await session.execute(
        select(timeline_table).where(t.incident_number == number).order_by(t.at, t.id)
    )
    return [dict(r._mapping) for r in rows]
