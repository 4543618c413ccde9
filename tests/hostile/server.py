"""Klaxon under uvicorn on 127.0.0.1, in a thread of its own, for synchronous
clients such as schemathesis (its requests transport blocks, so the server
cannot share the test's event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.fakes.twilio_server import serve_asgi

_STARTUP_SECONDS = 30.0


@dataclass
class _Thread:
    settings: Settings
    clock: ManualClock
    started: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    app: FastAPI | None = None
    error: BaseException | None = None
    loop: asyncio.AbstractEventLoop | None = None
    stop: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.started.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        app = create_app(self.settings, clock=self.clock)
        async with app.router.lifespan_context(app), serve_asgi(app) as url:
            self.app, self.url = app, url
            self.started.set()
            await self.stop.wait()


@contextlib.contextmanager
def klaxon_in_thread(settings: Settings, clock: ManualClock) -> Iterator[str]:
    """Serve Klaxon with ``settings``; yields its base URL (``http://127.0.0.1:PORT``)."""
    server = _Thread(settings, clock)
    thread = threading.Thread(target=server.run, name="klaxon-under-test", daemon=True)
    thread.start()
    if not server.started.wait(_STARTUP_SECONDS):
        raise TimeoutError(f"Klaxon did not start within {_STARTUP_SECONDS}s")
    if server.error is not None:
        raise RuntimeError("Klaxon failed to start") from server.error
    try:
        yield server.url
    finally:
        assert server.loop is not None and server.stop is not None
        server.loop.call_soon_threadsafe(server.stop.set)
        thread.join(_STARTUP_SECONDS)
        if server.error is not None:
            raise RuntimeError("Klaxon failed while serving") from server.error
