"""A real Klaxon on a loopback port, for real peers (Alertmanager) to call."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings


@dataclass
class LiveServer:
    app: FastAPI
    url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port}))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30.0) -> Any:
    """Poll until ``check`` returns something truthy: Alertmanager delivers on
    its own schedule (group_wait and group_interval of 1 s here)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
