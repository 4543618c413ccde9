"""What every fake web API shares: it serves its Starlette app on loopback for
the length of an ``async with`` and knows the base URL it got.

A fake (Slack, Mattermost, ...) subclasses :class:`ServedFake` and says only
which routes it answers (:meth:`ServedFake.app`); starting, stopping and the
"used outside ``async with``" check are written here once.
"""

from __future__ import annotations

import contextlib
from typing import Self

from starlette.applications import Starlette

from tests.fakes.twilio_server import serve_asgi

__all__ = ["ServedFake"]


class ServedFake:
    _url: str | None = None
    _stack: contextlib.AsyncExitStack | None = None

    def app(self) -> Starlette:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        stack = contextlib.AsyncExitStack()
        self._url = await stack.enter_async_context(serve_asgi(self.app()))
        self._stack = stack
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:port`` while served."""
        assert self._url is not None, f"use `async with {type(self).__name__}(...)`"
        return self._url
