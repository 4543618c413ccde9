"""What the worker (app/worker.py) has to do, read in one statement (issue 13).

The worker's loop runs at least twice a second on every replica, and again
after every send and every commit that makes work due. Each of its stages
(heartbeats, steps, reminders, sends, the webhook forwarder, the outbound
queue) used to open a transaction to look for work, and each read its next
due time apart for the loop's sleep: about thirty statements and six commits a
pass with nothing to do. :func:`probe` reads every due time, and whether the
timeline moved past the webhook forwarder's mark, as scalar subqueries of one
``SELECT``; the engine then runs only the stages whose work is due, and sleeps
until the earliest due time. A stage that nothing configures (no update
cadence in the rules, no outbound handler) adds nothing to the statement.

Each stage still claims its work with its own conditions (``SKIP LOCKED``,
leases), so a due time read here that another replica takes meanwhile only
costs that stage one empty look.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.automation.webhooks import MARK
from app.models import (
    heartbeats_table,
    incidents_table,
    notifications_table,
    outbound_table,
    steps_table,
    timeline_table,
    update_clocks_table,
    webhook_marks_table,
    webhook_subscriptions_table,
)
from app.rules import RulesFile


@dataclass(frozen=True)
class Due:
    """When each stage's work is next due (None: nothing waits)."""

    steps: datetime | None = None
    heartbeats: datetime | None = None
    reminders: datetime | None = None
    sends: datetime | None = None
    outbound: datetime | None = None
    #: The timeline moved past the webhook forwarder's mark (or it has none).
    webhooks_behind: bool = False
    #: Someone listens to the timeline (the rules file's webhooks, or a
    #: subscription); if not, the forwarder only moves its mark along.
    webhooks_heard: bool = True

    @staticmethod
    def reached(when: datetime | None, now: datetime) -> bool:
        return when is not None and when <= now

    def earliest(self) -> datetime | None:
        return _earliest(self.steps, self.heartbeats, self.reminders, self.sends, self.outbound)


def _min(column: Any, *where: ColumnElement[bool]) -> Any:
    return select(func.min(column)).where(*where).scalar_subquery()


def _reminder_columns(rules: RulesFile) -> list[tuple[int, Any]]:
    """Per severity with an update cadence: (cadence, the oldest waiting clock)."""
    c, i = update_clocks_table.c, incidents_table.c
    waiting = (
        select(func.min(c.since_at))
        .select_from(update_clocks_table.join(incidents_table, i.number == c.incident_number))
        .where(c.reminded_at.is_(None), i.status != "resolved")
    )
    cadences = {
        severity: seconds
        for severity in rules.update_cadence
        if (seconds := rules.update_cadence_for(severity)) is not None
    }
    return [
        (seconds, waiting.where(i.severity == severity).scalar_subquery())
        for severity, seconds in sorted(cadences.items())
    ]


async def probe(
    conn: AsyncConnection,
    rules: RulesFile,
    *,
    not_in_flight: ColumnElement[bool],
    outbound_kinds: Sequence[str],
) -> Due:
    """Every stage's next due time, in one statement. ``not_in_flight`` leaves
    out the numbers this replica is sending to (their next message waits for
    the send in hand, which wakes the loop when it is recorded)."""
    s, h, n = steps_table.c, heartbeats_table.c, notifications_table.c
    o, m, t = outbound_table.c, webhook_marks_table.c, timeline_table.c
    columns: dict[str, Any] = {
        "step": _min(s.due_at, s.status == "pending"),
        "beat": _min(h.expires_at, h.status == "up"),
        "beat_lease": _min(h.lease_until, h.lease_until.is_not(None)),
        "send": _min(n.due_at, n.state == "pending", not_in_flight),
        "send_lease": _min(n.lease_until, n.state == "sending", not_in_flight),
        "mark": select(m.last_event_id).where(m.name == MARK).scalar_subquery(),
        "latest": select(func.max(t.id)).scalar_subquery(),
        "subscribed": select(func.count())
        .select_from(webhook_subscriptions_table)
        .scalar_subquery(),
    }
    if outbound_kinds:
        kinds = o.kind.in_(sorted(outbound_kinds))
        columns["out"] = _min(o.due_at, kinds, o.state == "pending")
        columns["out_lease"] = _min(o.lease_until, kinds, o.state == "sending")
    reminders = _reminder_columns(rules)
    for index, (_seconds, column) in enumerate(reminders):
        columns[f"clock_{index}"] = column
    row = (await conn.execute(select(*(c.label(k) for k, c in columns.items())))).one()
    got = row._mapping
    subscribers = bool(rules.webhooks) or bool(got["subscribed"])
    latest, mark = got["latest"] or 0, got["mark"]
    behind = mark is None or (latest > mark if subscribers else latest != mark)
    reminder_dues = [
        got[f"clock_{index}"] + timedelta(seconds=seconds)
        for index, (seconds, _column) in enumerate(reminders)
        if got[f"clock_{index}"] is not None
    ]
    return Due(
        steps=got["step"],
        heartbeats=_earliest(got["beat"], got["beat_lease"]),
        reminders=min(reminder_dues, default=None),
        sends=_earliest(got["send"], got["send_lease"]),
        outbound=_earliest(got.get("out"), got.get("out_lease")),
        webhooks_behind=behind,
        webhooks_heard=subscribers or mark is None,
    )


def _earliest(*times: datetime | None) -> datetime | None:
    return min((t for t in times if t is not None), default=None)
