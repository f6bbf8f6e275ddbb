"""Frames waiting for one WebSocket, written by one task in the order they were queued.

Pushed subscriptions (api/engine/live_fast.py `Push`) queue their frames here in the publisher's turn;
the connection's one writer sends them. A client that reads slower than its events come loses its
oldest frames beyond `per_operation` frames per pushed operation (state streams: the newest value
wins), counted in the bus's dropped total, so a slow client bounds its memory and its lag. The bound
applies while a write to the client is waiting: a burst queued in one turn for a client whose socket
takes it (an /ingest chunk of one tag's readings) is sent whole. Frames of an operation that completed
meanwhile are not sent.

Where the server offers it (api/ws_protocol.py), everything waiting is written with one call and one
socket write instead of one ASGI message per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger("plasmatwin.outbox")


class Outbox:
    def __init__(self, send: Callable[[str], Awaitable[None]], per_operation: int = 32,
                 on_drop: Callable[[int], None] | None = None,
                 send_many: Callable[[Sequence[str]], Awaitable[None]] | None = None) -> None:
        self.send = send
        self.send_many = send_many
        self.per_operation = per_operation
        self.on_drop = on_drop
        self.operations = 0
        self.frames: deque[tuple[Any, str]] = deque()
        self.dropped = 0
        self.writing = False  # a write is waiting on the client's socket
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def put(self, operation: Any, frame: str) -> None:
        """Queue a frame of `operation` (anything with `completed`); never waits."""
        if self.writing and len(self.frames) >= self.per_operation * max(1, self.operations):
            self.frames.popleft()
            self.dropped += 1
            if self.on_drop is not None:
                self.on_drop(1)
        self.frames.append((operation, frame))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="websocket-outbox")
        self._wake.set()

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self.frames:
                    if self.send_many is not None:
                        waiting = [frame for operation, frame in self.frames if not operation.completed]
                        self.frames.clear()
                        if waiting:
                            await self._write_many(waiting)
                        continue
                    operation, frame = self.frames.popleft()
                    if not operation.completed:
                        await self._write(frame)
        except Exception as exc:  # the socket went away: the connection's own handler ends the operations
            log.debug("outbox stopped: %s", exc)

    async def _write(self, frame: str) -> None:
        self.writing = True
        try:
            await self.send(frame)
        finally:
            self.writing = False

    async def _write_many(self, frames: list[str]) -> None:
        assert self.send_many is not None
        self.writing = True
        try:
            await self.send_many(frames)
        finally:
            self.writing = False

    async def close(self) -> None:
        self.frames.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
