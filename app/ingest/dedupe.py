"""Dedupe alerts into episodes and group them into incidents, in one transaction.

The statements run in a fixed order so that concurrent deliveries (an
Alertmanager HA pair posting the same group at once) wait for each other
instead of deadlocking or doubling anything:

1. read what deciding needs of the delivery's fingerprints (no locks): their
   firing episodes, the episodes it names, and the latest of each;
2. insert the new episodes, sorted, ``ON CONFLICT DO NOTHING``: an episode
   another delivery inserted first becomes a repeat here;
3. update repeats and firing → resolved transitions, the latter guarded by
   ``status = 'firing'`` so only one delivery counts a resolution;
4. lock the open incidents involved (``FOR NO KEY UPDATE``, by number),
   create the missing ones (the partial unique index allows one open incident
   per group key), attach the new episodes, and resolve incidents left with
   nothing firing (``app.ingest.grouping``);
5. write the timeline.

Nothing here commits: the caller commits once, then answers the sender.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import zip_longest
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import chunked, dialect_name, insert_for
from app.ingest import lookups_pg
from app.ingest.episode_rule import decide
from app.ingest.grouping import attach_and_resolve
from app.ingest.resolutions import apply_resolutions
from app.models import FIRING_PREDICATE, alerts_table
from app.results import Classified, IngestResult
from app.timeline import record

#: Unstored episodes whose neighbours one statement reads (a UNION of three
#: index lookups each).
_LATEST_PER_STATEMENT = 100


@dataclass
class _Stored:
    id: int
    starts_at: datetime
    ends_at: datetime | None
    status: str
    incident_number: int | None
    annotations: dict[str, Any]


async def ingest(
    session: AsyncSession,
    items: list[Classified],
    *,
    now: datetime,
    actor: str,
    reopen_within: Mapping[str, timedelta] | None = None,
) -> IngestResult:
    """``reopen_within`` maps a source to its flap window: an alert of that
    source firing again that soon after its incident resolved itself reopens
    that incident instead of opening a new one."""
    result = IngestResult(received=len(items))
    if not items:
        return result
    # The last word of a delivery on one episode wins (a payload never
    # carries the same alert twice, but a hand-written one might).
    by_key: dict[tuple[str, str, datetime], Classified] = {}
    for item in items:
        e = item.event
        by_key[(e.source, e.fingerprint, e.starts_at)] = item
    stored = await _load_episodes(session, list(by_key.values()), now=now)

    to_insert: list[Classified] = []
    repeats: list[tuple[_Stored, Classified]] = []
    resolutions: list[tuple[_Stored, datetime, Classified | None]] = []
    for key in sorted(by_key, key=lambda k: (k[0], k[1], k[2])):
        item = by_key[key]
        event = item.event
        episodes = stored.get((event.source, event.fingerprint), [])
        verdict = decide(event.status, event.starts_at, event.ends_at, episodes, now=now)
        if verdict.stale:
            result.stale += 1
        if verdict.repeat is not None:
            repeats.append((verdict.repeat, item))
        for ep in verdict.resolve:
            assert event.ends_at is not None
            resolutions.append((ep, event.ends_at, item))
        # A new episode ends every older one still open: the source saw it
        # resolve even if we missed that notification.
        resolutions.extend((ep, event.starts_at, None) for ep in verdict.end)
        if verdict.insert:
            to_insert.append(item)

    inserted = await _insert_episodes(session, to_insert, now=now)
    for item in to_insert:
        e = item.event
        if (e.source, e.fingerprint, e.starts_at) not in inserted:
            # A concurrent delivery stored it first: ours is a repeat.
            result.repeats += 1
    await _count_lost_races(session, to_insert, inserted, now=now)
    await _update_repeats(session, repeats, now=now)
    result.repeats += len(repeats)
    resolved_by_incident = await apply_resolutions(session, resolutions, now=now)
    result.resolved += sum(1 for _, _, item in resolutions if item is not None)

    new_items = [
        (inserted[(i.event.source, i.event.fingerprint, i.event.starts_at)], i)
        for i in to_insert
        if (i.event.source, i.event.fingerprint, i.event.starts_at) in inserted
    ]
    result.new = len(new_items)
    timeline: list[dict[str, Any]] = []
    await attach_and_resolve(
        session,
        new_items,
        resolved_by_incident,
        result,
        timeline,
        now=now,
        actor=actor,
        reopen_within=reopen_within or {},
    )
    await record(session, timeline)
    return result


async def _load_episodes(
    session: AsyncSession, items: list[Classified], *, now: datetime
) -> dict[tuple[str, str], list[_Stored]]:
    """What deciding needs of each fingerprint's history, not all of it (a
    flapping alert has thousands of episodes), each read through an index: its
    firing episodes (a partial index) and the episodes the delivery names (the
    unique key); then, only for a fingerprint whose named episode is not stored
    (a new episode, or a stale one), its neighbours. Alertmanager resending
    its groups, the steady state, takes one statement."""
    a = alerts_table.c
    columns = _episode_columns()
    exact = sorted({(i.event.source, i.event.fingerprint, i.event.starts_at) for i in items})
    wanted = sorted({(source, fingerprint) for source, fingerprint, _ in exact})
    stored: dict[tuple[str, str], list[_Stored]] = defaultdict(list)
    seen: set[int] = set()

    def keep(rows: Any) -> None:
        for row in rows:
            if row.id not in seen:
                seen.add(row.id)
                stored[(row.source, row.fingerprint)].append(
                    _Stored(
                        row.id,
                        row.starts_at,
                        row.ends_at,
                        row.status,
                        row.incident_number,
                        row.annotations,
                    )
                )

    # In chunks: a storm names thousands of fingerprints, more than one
    # statement may bind (and than PostgreSQL's parser nests in one IN list).
    # The steady state, one chunk of each, is one statement.
    for fingerprints, episodes in zip_longest(chunked(wanted), chunked(exact)):
        parts = []
        if fingerprints:
            parts.append(
                select(*columns).where(
                    tuple_(a.source, a.fingerprint).in_(fingerprints), text(FIRING_PREDICATE)
                )
            )
        if episodes:
            parts.append(
                select(*columns).where(tuple_(a.source, a.fingerprint, a.starts_at).in_(episodes))
            )
        keep(await session.execute(union_all(*parts)))
    found = {(source, fp, ep.starts_at) for (source, fp), eps in stored.items() for ep in eps}
    unknown = [episode for episode in exact if episode not in found]
    # Only fingerprints with a stored episode have neighbours: a storm of new
    # alerts costs one cheap lookup per chunk, not three per alert.
    known = set(stored)
    postgresql = dialect_name(session) == "postgresql"
    for pairs in chunked(sorted({(s, fp) for s, fp, _ in unknown} - known)):
        if postgresql:
            rows = await session.execute(
                lookups_pg.ANY_STORED, lookups_pg.arrays(pairs, ("sources", "fps"))
            )
        else:
            rows = await session.execute(*_any_stored(pairs))
        known |= {(row.source, row.fingerprint) for row in rows}
    unknown = [episode for episode in unknown if episode[:2] in known]
    for lookups in chunked(unknown, _LATEST_PER_STATEMENT):
        if postgresql:
            values = {**lookups_pg.arrays(lookups, ("sources", "fps", "starts")), "now": now}
            keep(await session.execute(lookups_pg.NEIGHBOURS, values))
        else:
            keep(await session.execute(union_all(*_neighbours(lookups, now=now))))
    return stored


def _any_stored(pairs: Sequence[tuple[str, str]]) -> tuple[Any, dict[str, str]]:
    """A statement (and its values) naming which of ``pairs`` (source,
    fingerprint) have a stored episode: one EXISTS each, which stops at the
    first row of the unique key's index (a flapping alert has thousands)."""
    values: dict[str, str] = {}
    parts = []
    for i, (source, fingerprint) in enumerate(pairs):
        values[f"s{i}"], values[f"f{i}"] = source, fingerprint
        parts.append(
            f"SELECT CAST(:s{i} AS VARCHAR) AS source, CAST(:f{i} AS VARCHAR) AS fingerprint"
            f" WHERE EXISTS (SELECT 1 FROM alerts WHERE source = :s{i} AND fingerprint = :f{i})"
        )
    return text(" UNION ALL ".join(parts)), values


def _episode_columns() -> tuple[Any, ...]:
    """What deciding reads of a stored episode (``_Stored``)."""
    a = alerts_table.c
    return (
        a.id,
        a.source,
        a.fingerprint,
        a.starts_at,
        a.ends_at,
        a.status,
        a.incident_number,
        a.annotations,
    )


def _neighbours(episodes: Sequence[tuple[str, str, datetime]], *, now: datetime) -> list[Any]:
    """For each episode a notification names that is not stored, the stored
    episodes deciding needs (``app.ingest.episode_rule``): the one before
    it (whose span it may fall inside), the one after it (a firing one is the
    same episode, its start merged earlier), and the latest of the present
    (which makes an older start stale). Each is one index lookup."""
    a = alerts_table.c
    columns = _episode_columns()
    lookups = []
    for source, fingerprint, starts_at in episodes:
        mine = select(*columns).where(a.source == source, a.fingerprint == fingerprint)
        lookups += [
            mine.where(a.starts_at < starts_at).order_by(a.starts_at.desc()),
            mine.where(a.starts_at > starts_at).order_by(a.starts_at),
            mine.where(a.starts_at <= now).order_by(a.starts_at.desc()),
        ]
    return [select(*sub.c) for sub in (q.limit(1).subquery() for q in lookups)]


async def _insert_episodes(
    session: AsyncSession, items: list[Classified], *, now: datetime
) -> dict[tuple[str, str, datetime], int]:
    if not items:
        return {}
    rows = [
        {
            "source": i.event.source,
            "fingerprint": i.event.fingerprint,
            "status": i.event.status,
            "name": i.event.name,
            "severity": i.severity,
            "service": i.service,
            "group_key": i.group_key,
            "labels": i.event.labels,
            "annotations": i.event.annotations,
            "generator_url": (i.event.generator_url or None),
            "starts_at": i.event.starts_at,
            "ends_at": i.event.ends_at,
            "occurrences": 1,
            "first_seen_at": now,
            "last_seen_at": now,
            "incident_number": None,
        }
        for i in items
    ]
    # Executed with the rows as parameters, SQLAlchemy compiles the statement
    # once and sends it in batches under the driver's limit of bound values
    # ("insertmanyvalues"): a storm of thousands lands, and fast.
    stmt = (
        insert_for(session, alerts_table)
        .on_conflict_do_nothing(index_elements=["source", "fingerprint", "starts_at"])
        .returning(
            alerts_table.c.id,
            alerts_table.c.source,
            alerts_table.c.fingerprint,
            alerts_table.c.starts_at,
        )
    )
    returned = await session.execute(stmt, rows)
    inserted = {(r.source, r.fingerprint, r.starts_at): r.id for r in returned}
    return inserted


async def _count_lost_races(
    session: AsyncSession,
    to_insert: list[Classified],
    inserted: dict[tuple[str, str, datetime], int],
    *,
    now: datetime,
) -> None:
    a = alerts_table.c
    lost = [
        (i.event.source, i.event.fingerprint, i.event.starts_at)
        for i in to_insert
        if (i.event.source, i.event.fingerprint, i.event.starts_at) not in inserted
    ]
    for chunk in chunked(lost):
        await session.execute(
            update(alerts_table)
            .where(tuple_(a.source, a.fingerprint, a.starts_at).in_(chunk))
            .values(occurrences=a.occurrences + 1, last_seen_at=now)
        )


async def _update_repeats(
    session: AsyncSession, repeats: list[tuple[_Stored, Classified]], *, now: datetime
) -> None:
    if not repeats:
        return
    a = alerts_table.c
    for ids in chunked(sorted(stored.id for stored, _ in repeats)):
        await session.execute(
            update(alerts_table)
            .where(a.id.in_(ids))
            .values(occurrences=a.occurrences + 1, last_seen_at=now)
        )
    changed = [
        {"b_id": stored.id, "b_annotations": item.event.annotations}
        for stored, item in sorted(repeats, key=lambda r: r[0].id)
        if item.event.annotations and item.event.annotations != stored.annotations
    ]
    if changed:
        await session.execute(
            update(alerts_table)
            .where(a.id == bindparam("b_id"))
            .values(annotations=bindparam("b_annotations")),
            changed,
            execution_options={"synchronize_session": False},
        )
