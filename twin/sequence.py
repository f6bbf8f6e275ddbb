"""Batches of one bridge applied to the twin in the order the bridge sent them.

A bridge keeps several batches in flight (separate HTTP requests, which may arrive in any order). Each
carries its bridge session (random per bridge start) and a sequence number 1, 2, 3...; `answered` is
the highest number below which the bridge has had every answer. A batch whose number is ahead of the
next expected one waits here (bounded) until the earlier ones have passed: the twin must see time move
forwards per tag, or a reading overtaken by a newer one is stored but neither published nor watched.
A batch refused before it was applied (busy, bad body) passes too, so the ones behind it go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

log = logging.getLogger("plasmatwin.ingest")


@dataclass
class _Session:
    next: int
    used: float
    waiting: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def passed(self, seq: int) -> None:
        if seq >= self.next:
            self.next = seq + 1
            self.changed.set()
            self.changed = asyncio.Event()


class Sequencer:
    """Per (bridge, session): the next sequence number expected. Sessions idle for `idle` seconds are
    forgotten (a bridge restart starts a new one); at most `limit` are kept."""

    def __init__(self, wait: float = 2.0, idle: float = 300.0, limit: int = 256) -> None:
        self.wait = wait
        self.idle = idle
        self.limit = limit
        self.waited_out = 0  # batches that went ahead after `wait` without the earlier ones
        self._sessions: dict[tuple[str, str], _Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    @contextlib.asynccontextmanager
    async def turn(self, bridge: str, session: str | None, seq: int | None,
                   answered: int | None = None) -> AsyncIterator[None]:
        """Enter when every earlier batch of the session has passed (or after `wait` seconds); the
        batch passes when the block ends, whether it was applied or refused. Without a session: at once."""
        if session is None or seq is None:
            yield
            return
        s = self._session((bridge, session), seq, answered)
        try:
            if seq > s.next:
                await self._wait(s, bridge, session, seq)
            yield
        finally:
            s.passed(seq)
            s.used = time.monotonic()

    async def _wait(self, s: _Session, bridge: str, session: str, seq: int) -> None:
        deadline = time.monotonic() + self.wait
        s.waiting += 1
        try:
            while seq > s.next:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.waited_out += 1
                    log.warning("bridge %s session %s: batch %d applied without %d-%d after %.1fs", bridge,
                                session, seq, s.next, seq - 1, self.wait)
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(s.changed.wait(), remaining)
        finally:
            s.waiting -= 1

    def _session(self, key: tuple[str, str], seq: int, answered: int | None) -> _Session:
        now = time.monotonic()
        floor = seq if answered is None else min(answered + 1, seq)
        s = self._sessions.pop(key, None)
        if s is None:
            self._forget(now)
            s = _Session(next=floor, used=now)  # unknown: starts where the bridge says it stands
        elif floor > s.next:
            s.passed(floor - 1)  # the bridge had answers up to there: nothing before it will come
        s.used = now
        self._sessions[key] = s  # most recently used last
        return s

    def _forget(self, now: float) -> None:
        for key, s in list(self._sessions.items()):
            full = len(self._sessions) >= self.limit
            if s.waiting == 0 and (full or now - s.used > self.idle):
                del self._sessions[key]
            elif not full:
                break  # the rest were used more recently
