"""Changes committed in this process, for pages that follow them live.

The commit boundary (``uow.wake()`` in app/transaction.py, after every commit
that changed an incident) publishes; the console's server-sent events stream
(app/console/live.py) waits here and tells each open page to fetch itself
again. Only a counter crosses: what changed is read by the page with its own
session, so nothing leaks to a stream that may not see it.

Each process publishes its own commits (the requests' and the escalation
engine's); the console's stream also reads a change cursor in the database,
so a change committed by another process or replica reaches the page within
``console_live_poll_seconds`` (app/console/live.py).
"""

from __future__ import annotations

import asyncio
import contextlib


class Changes:
    """A generation counter and an event set when it moves."""

    def __init__(self) -> None:
        self.generation = 0
        self._moved = asyncio.Event()

    def publish(self) -> None:
        """After a commit. Never blocks, never raises."""
        self.generation += 1
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def wait(self, seen: int, seconds: float) -> int:
        """The generation once it is past ``seen``, or as it is after ``seconds``."""
        if self.generation == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), seconds)
        return self.generation
