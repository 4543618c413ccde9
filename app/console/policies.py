"""Escalation policies as readable chains, and a preview of who would be paged.

The preview answers "if ``service=payments`` fires now as SEV2, who is paged
when, by what" with the same pieces the pipeline and the engine use: the rules
file's routing (app/rules/classify.py: route, then the severity rules unless a
severity is chosen), the rules' channels per severity, each step's targets
resolved by the rotation at the instant the step would run (a handoff in
between changes who is paged), skipped steps not waited out, repeats. It reads
only: nothing is written, nobody is paged. Maintenance windows, which could
hold the first page, are not applied (the page says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.console import shifts
from app.console.access import SignedIn
from app.console.web import render, runtime_of
from app.escalation import store as policy_store
from app.escalation.policy import PolicySpec
from app.oncall import rotation, store
from app.rules.classify import classify, route

router = APIRouter(include_in_schema=False)

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
LABELS_MAX = 20


@dataclass(frozen=True)
class Planned:
    """One step as it would run."""

    at: datetime
    after: timedelta
    label: str
    responders: list[str]
    channels: Sequence[str]
    note: str  # why it pages nobody, or which action it runs; "" when it pages


def parse_labels(text: str) -> tuple[dict[str, str], str | None]:
    """``a=b, c=d`` (commas or new lines) as labels, or an error naming the bad part."""
    labels: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            return {}, f"{part[:60]!r} is not name=value"
        labels[name.strip()[:100]] = value.strip().strip('"')[:200]
        if len(labels) > LABELS_MAX:
            return {}, f"at most {LABELS_MAX} labels"
    return labels, None


def plan(
    policy: PolicySpec,
    schedules: dict[str, rotation.Schedule],
    responders: set[str],
    allowed: Sequence[str],
    now: datetime,
) -> list[Planned]:
    """Every step of ``policy`` from ``now`` on, as if nobody acknowledged."""
    planned: list[Planned] = []
    at = now
    for round_ in range(policy.repeat + 1):
        for index, step in enumerate(policy.steps):
            label = f"Step {index + 1}" + (f" (round {round_ + 1})" if round_ else "")
            channels = [c for c in step.channels if c in allowed]
            who: list[str] = []
            for name in step.targets.schedules:
                schedule = schedules.get(name)
                if schedule is not None:
                    found = rotation.who_is_on_call(schedule, at).responder
                    if found is not None:
                        who.append(found)
            who = [n for n in dict.fromkeys([*who, *step.targets.responders]) if n in responders]
            if step.run is not None:
                note, waits = f"runs action {step.run}", step.waits()
            elif not channels:
                note, waits = "skipped: this severity pages on none of its channels", None
            elif not who:
                note, waits = "skipped: nobody on call", None
            else:
                note, waits = "", step.waits()
            planned.append(Planned(at, at - now, label, who if not note else [], channels, note))
            if waits is not None:
                at += waits
    return planned


@router.get("/policies", response_class=HTMLResponse)
async def policies_page(
    request: Request,
    viewer: SignedIn,
    service: str = "",
    severity: str = "",
    labels: str = "",
) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    rules = runtime.rules.current
    async with runtime.sessions() as session:
        policies = await policy_store.list_policies(session)
        schedules = await shifts.all_schedules(session, ending_after=now)
        known = {row.name for row in await store.list_responders(session)}
    current = {name: rotation.who_is_on_call(s, now).responder for name, s in schedules.items()}
    preview = None
    error = None
    asked = bool(service or labels or severity)
    if asked:
        extra, error = parse_labels(labels[:2000])
        if error is None:
            given = {**extra, **({"service": service.strip()[:200]} if service.strip() else {})}
            routing = route(rules, given)
            chosen = severity if severity in SEVERITIES else classify(rules, given)
            by_name = {p.name: p for p in policies}
            name = routing.policy or "default"
            policy = by_name.get(name) or by_name.get("default")
            allowed = rules.channels_for(chosen)
            steps = plan(policy, schedules, known, allowed, now) if policy and allowed else []
            preview = {
                "labels": given,
                "route": routing.route,
                "service": routing.service,
                "severity": chosen,
                "severity_chosen": severity in SEVERITIES,
                "wanted": name,
                "policy": policy.name if policy else None,
                "allowed": allowed,
                "steps": steps,
            }
    return render(
        request,
        "policies.html",
        viewer=viewer,
        status_code=422 if error else 200,
        policies=policies,
        current=current,
        now=now,
        preview=preview,
        error=error,
        form={"service": service[:200], "severity": severity, "labels": labels[:2000]},
        severities=SEVERITIES,
        minutes=lambda d: f"{d.total_seconds() / 60:g} min",
    )
