"""The reports page: MTTA/MTTR week by week (per service and severity when
filtered), pages per responder with the off-hours ones, and a histogram of
time to resolve; each chart drawn as SVG beside a table of its numbers.

The figures are app/review/reports.py's (``response_report``: the same means,
the same off-hours rule as ``GET /api/v1/reports/response``), asked once per
week for the trend and once for the whole period; the histogram reads the
resolved incidents opened in the period (two timestamps each, by the
``incidents.created_at`` index).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.console import charts
from app.console.access import SignedIn
from app.console.web import render, runtime_of
from app.models import incidents_table
from app.review.reports import response_report
from app.review.schemas import ResponseTimes

router = APIRouter(include_in_schema=False)

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
#: Time-to-resolve buckets: (upper bound in minutes, label); the last is open-ended.
BUCKETS: list[tuple[float, str]] = [
    (5, "< 5 min"),
    (15, "5-15 min"),
    (30, "15-30 min"),
    (60, "30-60 min"),
    (120, "1-2 h"),
    (240, "2-4 h"),
    (480, "4-8 h"),
    (1440, "8-24 h"),
    (float("inf"), "> 24 h"),
]


def histogram(minutes: list[float]) -> list[tuple[str, int]]:
    counts = [0] * len(BUCKETS)
    for value in minutes:
        counts[next(i for i, (bound, _) in enumerate(BUCKETS) if value < bound)] += 1
    return [(label, counts[i]) for i, (_, label) in enumerate(BUCKETS)]


def _pooled(groups: list[Any], severity: str) -> tuple[float | None, float | None]:
    """MTTA and MTTR (minutes) of the groups at ``severity``, weighted by their counts."""
    chosen = [g for g in groups if g.severity == severity]
    acked = sum(g.acknowledged for g in chosen if g.mtta_seconds is not None)
    resolved = sum(g.resolved for g in chosen if g.mttr_seconds is not None)
    mtta = sum(g.mtta_seconds * g.acknowledged for g in chosen if g.mtta_seconds is not None)
    mttr = sum(g.mttr_seconds * g.resolved for g in chosen if g.mttr_seconds is not None)
    return (mtta / acked / 60 if acked else None, mttr / resolved / 60 if resolved else None)


def _minutes(times: ResponseTimes) -> tuple[float | None, float | None]:
    mtta, mttr = times.mtta_seconds, times.mttr_seconds
    return (None if mtta is None else mtta / 60, None if mttr is None else mttr / 60)


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, viewer: SignedIn, weeks: int = 8, service: str = "", severity: str = ""
) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    weeks = min(max(weeks, 1), 52)
    severity = severity if severity in SEVERITIES else ""
    chosen = service.strip()[:200] or None
    today = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), UTC)
    since = today - timedelta(weeks=weeks)
    trend: list[dict[str, Any]] = []
    async with runtime.sessions() as session:
        for k in range(weeks):
            start, end = since + timedelta(weeks=k), since + timedelta(weeks=k + 1)
            week = await response_report(session, since=start, until=end, now=now, service=chosen)
            mtta, mttr = (
                _pooled(week.by_service_severity, severity) if severity else _minutes(week.overall)
            )
            trend.append(
                {"start": start, "incidents": week.overall.incidents, "mtta": mtta, "mttr": mttr}
            )
        whole = await response_report(session, since=since, until=today, now=now, service=chosen)
        i = incidents_table.c
        stmt = select(i.created_at, i.resolved_at).where(
            i.created_at >= since, i.created_at < today, i.resolved_at.is_not(None)
        )
        if chosen is not None:
            stmt = stmt.where(i.service == chosen)
        if severity:
            stmt = stmt.where(i.severity == severity)
        resolve_minutes = [
            (row.resolved_at - row.created_at).total_seconds() / 60
            for row in await session.execute(stmt)
        ]
    labels = [f"{t['start']:%d %b}" for t in trend]
    buckets = histogram(resolve_minutes)
    loads = whole.responders
    return render(
        request,
        "reports.html",
        viewer=viewer,
        weeks=weeks,
        service=chosen or "",
        severity=severity,
        severities=SEVERITIES,
        since=since,
        until=today,
        last_day=today - timedelta(days=1),
        trend=trend,
        trend_chart=charts.lines(
            labels,
            [("mtta", [t["mtta"] for t in trend]), ("mttr", [t["mttr"] for t in trend])],
            " min",
        ),
        groups=whole.by_service_severity,
        loads=loads,
        load_chart=charts.bars(
            [(x.responder, [("pages", x.pages), ("off-hours", x.off_hours_pages)]) for x in loads]
        ),
        buckets=buckets,
        resolved=len(resolve_minutes),
        histogram_chart=charts.bars([(label, [("count", n)]) for label, n in buckets]),
        fmt=lambda v: "-" if v is None else f"{v:.1f}",
    )
