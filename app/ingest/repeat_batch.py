"""Concurrent repeats, counted together: one statement and one commit (one WAL
flush on a durable PostgreSQL) for every delivery that arrived while the last
one ran (issue 13).

Most deliveries only repeat firing episodes (``app.ingest.repeats``), and each
used to cost a statement and a commit of its own. Here a delivery joins a
queue; one task at a time takes everything queued and counts it with a single
``UPDATE … RETURNING`` in autocommit, then answers each delivery with its own
rows. Nothing waits on a timer: an idle server runs each delivery at once,
alone; a busy one gathers what came in during the statement before. Each
delivery is answered only after the statement that counted it committed.

The guard stays per delivery: a delivery is counted only if every one of its
alerts repeats a firing episode (its rows are left alone otherwise, and it
goes whole through ``app.ingest.dedupe``). Two deliveries naming the same
episode never share a statement (an ``UPDATE … FROM`` would count that row
once): the second waits for the next one.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import driver_connection
from app.errors import Unavailable
from app.ingest.repeats import FIRING_ONLY, Repeats, take_row, write_annotations
from app.results import Classified, EpisodeKey

#: Keys per statement, at most (a storm's delivery goes alone whatever its size).
MAX_KEYS = 5000

#: The repeats of several deliveries at once, each alert found by its episode
#: key and updated by its id (FIRING_ONLY: why the status is compared so).
BATCH_REPEATS = f"""
WITH v AS (
    SELECT *
      FROM unnest($1::int[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
           AS v(d, source, fingerprint, starts_at, seen_at)
), hit AS (
    SELECT v.d, v.seen_at, a.id
      FROM alerts AS a
      JOIN v ON a.source = v.source AND a.fingerprint = v.fingerprint
            AND a.starts_at = v.starts_at
     WHERE {FIRING_ONLY}
), whole AS (
    SELECT hit.d FROM hit GROUP BY hit.d HAVING count(*) = ($6::int[])[hit.d + 1]
)
UPDATE alerts AS a
   SET occurrences = a.occurrences + 1, last_seen_at = hit.seen_at
  FROM hit JOIN whole ON whole.d = hit.d
 WHERE a.id = hit.id AND {FIRING_ONLY}
RETURNING hit.d, a.id, a.fingerprint, a.starts_at, a.annotations::text AS annotations,
          a.incident_number
"""


@dataclass
class _Delivery:
    source: str
    wanted: dict[EpisodeKey, Classified]
    now: datetime
    answer: asyncio.Future[Repeats] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class RepeatBatcher:
    """The queue of one engine (one process's pool)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._queue: list[_Delivery] = []
        self._task: asyncio.Task[None] | None = None
        #: Statements run and deliveries counted by them (read by tests).
        self.statements = 0
        self.deliveries = 0

    async def record(
        self, source: str, wanted: dict[EpisodeKey, Classified], *, now: datetime
    ) -> Repeats:
        delivery = _Delivery(source, wanted, now)
        self._queue.append(delivery)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="klaxon-repeats")
        # Shielded: a caller cut short (its deadline) leaves the statement, which
        # counts the others too, to finish.
        return await asyncio.shield(delivery.answer)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._take()
            try:
                answers = await self._count(batch)
            except Exception as exc:  # each caller sees it (a 503, or retried)
                _fail(batch, exc)
                continue
            except asyncio.CancelledError:  # shutting down: nobody is left waiting
                _fail(batch + self._queue, Unavailable("shutting down"))
                self._queue = []
                raise
            for delivery, answer in zip(batch, answers, strict=True):
                delivery.answer.set_result(answer)

    def _take(self) -> list[_Delivery]:
        """The queued deliveries that share no episode, up to :data:`MAX_KEYS`."""
        batch: list[_Delivery] = []
        keys: set[EpisodeKey] = set()
        later: list[_Delivery] = []
        for delivery in self._queue:
            mine = delivery.wanted.keys()
            if batch and (len(keys) + len(mine) > MAX_KEYS or not keys.isdisjoint(mine)):
                later.append(delivery)
                continue
            batch.append(delivery)
            keys.update(mine)
        self._queue = later
        return batch

    async def _count(self, batch: list[_Delivery]) -> list[Repeats]:
        rows_of = [
            (index, key[0], key[1], key[2], delivery.now)
            for index, delivery in enumerate(batch)
            for key in sorted(delivery.wanted)
        ]
        columns = [list(column) for column in zip(*rows_of, strict=True)]
        expected = [len(delivery.wanted) for delivery in batch]
        answers = [Repeats() for _ in batch]
        changed: list[tuple[str, int]] = []
        async with self.engine.connect() as conn:
            raw = await driver_connection(conn)
            rows = await raw.fetch(BATCH_REPEATS, *columns, expected)
            for row in rows:
                delivery, found = batch[row["d"]], answers[row["d"]]
                key = (delivery.source, row["fingerprint"], row["starts_at"])
                take_row(found, key, row, delivery.wanted[key], changed)
            await write_annotations(raw, changed)
        self.statements += 1
        self.deliveries += len(batch)
        return answers


def _fail(deliveries: list[_Delivery], exc: BaseException) -> None:
    for delivery in deliveries:
        if not delivery.answer.done():
            delivery.answer.set_exception(exc)


_BATCHERS: weakref.WeakKeyDictionary[AsyncEngine, RepeatBatcher] = weakref.WeakKeyDictionary()


def batcher_for(engine: AsyncEngine) -> RepeatBatcher:
    """The engine's batcher (one per pool, so per process and database)."""
    found = _BATCHERS.get(engine)
    if found is None:
        found = _BATCHERS[engine] = RepeatBatcher(engine)
    return found
