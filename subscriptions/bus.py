"""In-process publish/subscribe with bounded per-subscriber queues.

Overflow policy, stated per subscription: ``coalesce`` drops the oldest queued event (state
streams, where the newest value wins); ``lossless`` never drops, the publisher's event stays
queued and the queue grows, so only use it for low-rate streams such as alarms.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Subscriber:
    topic: str
    queue: asyncio.Queue[Any]
    lossless: bool
    accept: Callable[[Any], bool] | None = None
    dropped: int = 0
    # A listener is called in the publisher's turn instead of queueing (it must be quick).
    callback: Callable[[Any], None] | None = None


@dataclass
class Bus:
    queue_size: int = 1000
    _subs: dict[str, set[Subscriber]] = field(default_factory=lambda: defaultdict(set))
    dropped_total: int = 0

    def publish(self, topic: str, message: Any) -> None:
        """Never blocks: a slow subscriber loses its oldest state events, not the publisher's time."""
        for sub in tuple(self._subs.get(topic, ())):
            if sub.accept is not None and not sub.accept(message):
                continue
            if sub.callback is not None:
                sub.callback(message)
                continue
            if sub.lossless:
                sub.queue.put_nowait(message)
                continue
            if sub.queue.full():
                sub.queue.get_nowait()
                sub.dropped += 1
                self.dropped_total += 1
            sub.queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(
        self, topic: str, *, lossless: bool = False, accept: Callable[[Any], bool] | None = None
    ) -> AsyncIterator[AsyncIterator[Any]]:
        sub = Subscriber(topic, asyncio.Queue(0 if lossless else self.queue_size), lossless, accept)
        self._subs[topic].add(sub)
        try:
            yield self._drain(sub)
        finally:
            self._subs[topic].discard(sub)
            if not self._subs[topic]:
                del self._subs[topic]

    @contextmanager
    def listen(self, topic: str, callback: Callable[[Any], None],
               accept: Callable[[Any], bool] | None = None) -> Iterator[None]:
        """Call `callback` with each message (that `accept` lets through) while the block runs."""
        sub = Subscriber(topic, asyncio.Queue(1), False, accept, callback=callback)
        self._subs[topic].add(sub)
        try:
            yield
        finally:
            self._subs[topic].discard(sub)
            if not self._subs[topic]:
                del self._subs[topic]

    @staticmethod
    async def _drain(sub: Subscriber) -> AsyncIterator[Any]:
        while True:
            yield await sub.queue.get()

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._subs.get(topic, ()))
        return sum(len(s) for s in self._subs.values())
