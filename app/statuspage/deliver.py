"""The outbound queue's handler for ``status_webhook``: one subscriber's
message, signed with that subscriber's own secret (Standard Webhooks, as
app/automation/signing.py makes the headers), sent by the same code as the
outgoing incident webhooks (app/automation/send.py decides what is retried).

The subscriber is read when the message goes, so one who unsubscribed since
gets nothing (a final "unsubscribed", not retried), and its URL is checked
again against the public-address rule (a name that resolved to a public
address when it subscribed may not any more). The unsubscribe link goes in
``meta`` here, so it never sits in the queue's table.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from sqlalchemy import select

from app.automation.send import send_signed
from app.automation.signing import secret_bytes
from app.models import status_subscribers_table
from app.notify.outbound import Delivered, Handler, Outbound
from app.runtime import Runtime
from app.statuspage import fanout
from app.statuspage.subscribers import url_refused

REQUEST_TIMEOUT = 10.0


def unsubscribe_url(runtime: Runtime, token: str) -> str:
    """``DELETE`` it to unsubscribe: on the page's public host (the rules
    file's ``status_page.url``, which serves ``/status*``), else Klaxon's own URL."""
    base = runtime.rules.current.status_page.url or runtime.settings.callback_url
    return f"{base.rstrip('/')}/status/api/v2/subscribers/{token}"


def status_webhook_handler(runtime: Runtime) -> Handler:
    settings = runtime.settings

    async def send(item: Outbound) -> Delivered:
        s = status_subscribers_table.c
        async with runtime.sessions() as session:
            row = (
                await session.execute(
                    select(s.target, s.token, s.secret).where(s.id == item.payload["subscriber"])
                )
            ).first()
        if row is None or row.secret is None:
            return Delivered(ok=False, final=True, summary="status webhook: unsubscribed")
        host = urlsplit(row.target).netloc
        what = f"Status webhook {item.payload['message_id']} to {host}"
        refused = await url_refused(row.target, settings)
        if refused is not None:
            return Delivered(ok=False, final=True, summary=f"{what}: not sent, the URL {refused}")
        meta = {
            "unsubscribe": unsubscribe_url(runtime, row.token),
            "documentation": fanout.DOCUMENTATION,
        }
        body = orjson.dumps({"meta": meta, **item.payload["body"]}).decode()
        return await send_signed(
            kind="status_webhook",
            target="subscriber",  # not the host: a metric label per public URL would not end
            what=what,
            request={
                "url": row.target,
                "method": "POST",
                "headers": {},
                "body": body,
                "timeout": REQUEST_TIMEOUT,
            },
            message_id=str(item.payload["message_id"]),
            key=secret_bytes(row.secret),
        )

    return send
