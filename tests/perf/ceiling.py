"""The no-database ceiling: a FastAPI app that does what Klaxon's Alertmanager
webhook does before it touches the database — check the bearer token, read the
body within the size limit, parse and validate it with Klaxon's own model, turn
it into events — and answers with the same response model. Served by uvicorn
with the same options as Klaxon (``tests/perf/server.py``), it is the most any
Klaxon could do on this machine; ``make bench`` reports Klaxon as a ratio of it.
"""

from __future__ import annotations

import hmac
import os
from datetime import UTC, datetime

from fastapi import FastAPI, HTTPException, Request

from app.http import parse_json, read_body, validate
from app.sources import alertmanager
from app.sources.endpoints import WebhookAccepted

TOKEN = os.environ.get("KLAXON_BENCH_CEILING_TOKEN", "")
LIMIT = 1024 * 1024

app = FastAPI()


@app.post("/api/v1/webhooks/alertmanager", response_model=WebhookAccepted)
async def webhook(request: Request) -> WebhookAccepted:
    given = request.headers.get("authorization", "")
    if not TOKEN or not hmac.compare_digest(given, f"Bearer {TOKEN}"):
        raise HTTPException(401, "Missing or invalid bearer token")
    body = await read_body(request, LIMIT)
    payload = validate(alertmanager.AmWebhook, parse_json(body))
    events = alertmanager.to_events(payload, received_at=datetime.now(UTC))
    return WebhookAccepted(
        alerts=len(events), new=0, repeats=len(events), resolved=0, stale=0, incidents=[]
    )
