"""The on-call tables, as handlers and other packages call them: one import for
responders (app/oncall/responder_store.py), schedules, overrides and who is on
call (app/oncall/schedule_store.py) and the fatigue warnings of a stored
schedule (app/oncall/fatigue.py). Escalation policies are app/escalation/store.py;
their four functions are still re-exported here for the callers not yet moved
(app/console, app/chat, app/cli/local.py).

Every function runs inside the caller's transaction and never commits. Upserts
are idempotent: writing what is already stored changes nothing (not even
``updated_at``) and reports :attr:`Change.UNCHANGED`. What they return is typed
(app/oncall/rows.py), never a SQLAlchemy row. The whole on-call document at once
is app/apply/.
"""

from __future__ import annotations

from app.oncall.fatigue import CONSECUTIVE_LIMIT, WARNING_HORIZON, stretch_warnings
from app.oncall.responder_store import (
    get_responder,
    get_responder_by_id,
    get_responder_by_phone,
    get_responders_by_name,
    list_responders,
    upsert_responder,
)
from app.oncall.rows import Change, OverrideRow, ResponderRow, ScheduleRow
from app.oncall.schedule_store import (
    add_override,
    delete_override,
    existing_schedules,
    get_schedule,
    list_overrides,
    list_schedules,
    load_schedule,
    oncall_everywhere,
    oncall_now,
    upsert_schedule,
)

__all__ = [
    "CONSECUTIVE_LIMIT",
    "WARNING_HORIZON",
    "Change",
    "OverrideRow",
    "ResponderRow",
    "ScheduleRow",
    "add_override",
    "delete_override",
    "existing_schedules",
    "get_responder",
    "get_responder_by_id",
    "get_responder_by_phone",
    "get_responders_by_name",
    "get_schedule",
    "list_overrides",
    "list_responders",
    "list_schedules",
    "load_schedule",
    "oncall_everywhere",
    "oncall_now",
    "stretch_warnings",
    "upsert_responder",
    "upsert_schedule",
]
