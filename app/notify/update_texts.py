"""SMS texts of incident response: status updates for stakeholders and the
on-call handoff summary. Like pages, in GSM-7 and at most two segments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from app.notify.gsm7 import clean as _clean
from app.notify.gsm7 import ellipsize as _ellipsize
from app.notify.gsm7 import gsm7_segments, longest_fitting

__all__ = ["HandoffLine", "handoff_sms", "status_update_sms", "update_reminder_sms"]

_MAX_SEGMENTS: Final = 2
_MIN_MESSAGE: Final = 20
_MIN_TITLE: Final = 12
_TITLE_STEPS: Final = (60, 40, 24, _MIN_TITLE)


def _fits(text: str) -> bool:
    return gsm7_segments(text) <= _MAX_SEGMENTS


def status_update_sms(
    *, number: int, title: str, status: str, severity: str, message: str, impact: str | None
) -> str:
    """``[Klaxon] #42 Payment Service Degraded - Identified (SEV 2): message Impact: ...``

    Shortened in this order: the impact (then dropped), the message, the title.
    """
    title, message = _clean(title), _clean(message)
    impact_text = _clean(impact) if impact else ""

    def render(t: str, m: str, i: str) -> str:
        text = f"[Klaxon] #{number} {t} - {status} ({severity}): {m}"
        if not text.endswith((".", "!", "?")):
            text += "."
        return f"{text} Impact: {i}" if i else text

    if impact_text:
        kept = longest_fitting(
            impact_text, lambda i: _fits(render(title, message, i)), _MIN_MESSAGE
        )
        if kept is not None:
            return render(title, message, kept)
    kept = longest_fitting(message, lambda m: _fits(render(title, m, "")), _MIN_MESSAGE)
    if kept is not None:
        return render(title, kept, "")
    short = _ellipsize(message, _MIN_MESSAGE)
    kept_title = longest_fitting(title, lambda t: _fits(render(t, short, "")), _MIN_TITLE)
    return render(kept_title if kept_title is not None else "", short, "")


@dataclass(frozen=True)
class HandoffLine:
    number: int
    severity: str
    title: str
    status: str


def handoff_sms(
    *,
    schedule: str,
    outgoing: str | None,
    services: list[str],
    incidents: list[HandoffLine],
    changes: list[str],
) -> str:
    """What the incoming responder reads at a shift change: the open incidents on
    the schedule's services, and recent changes if there is room.

    Shortened in this order: the changes (then dropped), the titles, then the
    list ends in "and N more"."""
    head = f"[Klaxon] Handoff: you are now on call for {_clean(schedule)}"
    if outgoing:
        head += f", taking over from {_ellipsize(_clean(outgoing), 40)}"
    where = _ellipsize(_clean(", ".join(services)), 60)
    if not incidents:
        return f"{head}. No open incidents on {where}."
    count = len(incidents)
    change_text = _clean("; ".join(changes))

    def render(shown: int, title_chars: int | None, change: str) -> str:
        items = []
        for line in incidents[:shown]:
            title = _clean(line.title)
            if title_chars is not None:
                title = _ellipsize(title, title_chars)
            items.append(f"#{line.number} {line.severity} {title} ({line.status})")
        listed = "; ".join(items)
        more = f" and {count - shown} more" if shown < count else ""
        noun = "incident" if count == 1 else "incidents"
        text = f"{head}. {count} open {noun} on {where}" + (f": {listed}{more}." if shown else ".")
        return f"{text} Changes: {change}" if change else text

    if change_text:
        kept = longest_fitting(change_text, lambda c: _fits(render(count, None, c)), _MIN_MESSAGE)
        if kept is not None:
            return render(count, None, kept)
    for shown in range(count, 0, -1):
        for chars in (None, *_TITLE_STEPS):
            if _fits(text := render(shown, chars, "")):
                return text
    return render(0, _MIN_TITLE, "")


def update_reminder_sms(
    *, number: int, title: str, severity: str, due: str, every_minutes: int
) -> str:
    """``[Klaxon] #42 Payment Service Degraded (SEV 1): a status update was due
    at 15:30 UTC. Post one now (every 30 min).`` The title is shortened to fit."""

    def render(t: str) -> str:
        head = f"[Klaxon] #{number} {t} ({severity})" if t else f"[Klaxon] #{number} ({severity})"
        return (
            f"{head}: a status update was due at {due}. Post one now (every {every_minutes} min)."
        )

    kept = longest_fitting(_clean(title), lambda t: _fits(render(t)), _MIN_TITLE)
    return render(kept if kept is not None else "")
