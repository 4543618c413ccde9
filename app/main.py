"""create_app(): the lifespan builds the runtime (as the engine's process does,
app/engine_process.py); routers; error handlers in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from app import console, ops, tokens
from app.api_errors import document_error_responses
from app.apply import endpoints as apply_document
from app.automation import endpoints as automation
from app.body_limit import BodySizeLimit
from app.chat import endpoints as chat
from app.chat import mattermost_endpoints as chat_mattermost
from app.clock import Clock
from app.db import is_unavailable, refused_value
from app.deadline import RequestDeadline
from app.engine_process import ProcessLifetime, runtime_and_worker
from app.errors import KlaxonError, RateLimited
from app.escalation import endpoints as escalation
from app.heartbeats import endpoints as heartbeats
from app.incidents import endpoints as incidents
from app.maintenance import endpoints as maintenance
from app.oncall import endpoints as oncall
from app.replies import endpoints as replies
from app.response import change_endpoints as change_events
from app.response import endpoints as incident_response
from app.response import handoff_endpoints as handoffs
from app.response import role_endpoints as incident_roles
from app.review import endpoints as review
from app.settings import Settings, get_settings
from app.sources import endpoints as sources
from app.sources import pagerduty_endpoint as pagerduty
from app.statuspage import endpoints as statuspage_publishing
from app.statuspage import page_endpoints as statuspage
from app.statuspage import subscribe_endpoints as status_subscriptions
from app.statuspage.fast import CachedStatusPages
from app.statuspage.host import StatusHostOnly
from app.wakeups import WakeSender

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The application; raises StartupRefused (app/settings.py) for settings it
    must not serve with, before anything starts."""
    settings = settings or get_settings()
    settings.check_serving()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime, worker = runtime_and_worker(settings, clock)
        # An engine in another process (``klaxon engine``) is woken through the
        # database by the commits that make work due (app/transaction.py, app/wakeups.py).
        notify = WakeSender(runtime.engine) if settings.engine_notify else None
        if notify is not None:
            runtime.wake = notify
            runtime.reloaded = notify.reload
            # A worker restarted by SIGHUP (KLAXON_WORKERS > 1) read the file
            # anew: so does the engine.
            notify.reload()
        app.state.runtime = runtime
        app.state.worker = worker
        lifetime = ProcessLifetime(runtime, worker, sender=notify)
        # Where the engine runs apart, its process says it, once.
        await lifetime.start(engine=settings.engine_enabled, warn=notify is None)
        try:
            yield
        finally:
            await lifetime.stop()

    docs = settings.docs_enabled  # off: /docs, /redoc and /openapi.json are 404s
    app = FastAPI(
        title="Klaxon",
        version="0.1.0",
        summary="Alert ingestion and on-call escalation",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(
        BodySizeLimit, limit=settings.max_body_bytes, exempt=("/v2/enqueue", "/v2/change/enqueue")
    )
    if settings.status_host:  # the public status page's own host name (app/statuspage/host.py)
        app.add_middleware(StatusHostOnly, host=settings.status_host)
    # Outermost, so that it bounds everything else (app/deadline.py).
    app.add_middleware(
        RequestDeadline,
        body_seconds=settings.body_read_timeout,
        work_seconds=settings.request_timeout,
    )
    # The status page's fresh cached answers skip all of the above (app/statuspage/fast.py).
    app.add_middleware(CachedStatusPages)
    app.include_router(sources.router)
    app.include_router(pagerduty.router)
    app.include_router(change_events.router)
    app.include_router(heartbeats.router)
    app.include_router(incidents.router)
    app.include_router(incident_response.router)
    app.include_router(review.router)
    app.include_router(oncall.router)
    app.include_router(escalation.router)  # escalation policies, after on-call (issue 12)
    app.include_router(apply_document.router)  # klaxon apply's document (issue 12)
    app.include_router(handoffs.router)
    app.include_router(replies.router)
    app.include_router(tokens.router)
    app.include_router(ops.router)
    app.include_router(statuspage_publishing.router)
    app.include_router(statuspage.router)
    app.include_router(maintenance.router)
    app.include_router(chat.router)
    app.include_router(chat_mattermost.router)
    app.include_router(automation.router)
    app.include_router(incident_roles.router)
    app.include_router(status_subscriptions.router)  # the status page's subscribers (issue 18)
    app.include_router(status_subscriptions.admin_router)
    document_error_responses(app)
    console.install(app)  # the web console under / (app/console), not in the OpenAPI document

    @app.exception_handler(KlaxonError)
    async def klaxon_error(_: Request, exc: KlaxonError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if exc.status_code == 503:
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else 5
            headers = {"Retry-After": str(retry_after)}
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(asyncpg.PostgresError)  # a statement run on the driver itself
    async def database_error(_: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            return JSONResponse(
                {"detail": "database unavailable, retry later"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        refused = refused_value(exc)
        if refused is not None:
            log.info("refused a request: %s", refused)
            return JSONResponse({"detail": refused}, status_code=422)
        log.exception("database error")
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(OSError)
    async def os_error(_: Request, exc: OSError) -> JSONResponse:
        log.warning("unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    return app
