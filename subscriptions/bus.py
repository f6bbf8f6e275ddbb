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
    # Only messages published with one of these keys (such as sensor tags); None takes every key.
    keys: frozenset[str] | None = None


@dataclass
class Bus:
    # A state subscriber holds at most this many undelivered events: newer ones push out the oldest,
    # which bounds how far behind a slow client can fall (its lag), not only its memory.
    queue_size: int = 32
    _subs: dict[str, set[Subscriber]] = field(default_factory=lambda: defaultdict(set))
    # Keyed subscribers by topic and key, so a reading costs only its own subscribers' time.
    _keyed: dict[str, dict[str, set[Subscriber]]] = field(default_factory=lambda: defaultdict(dict))
    dropped_total: int = 0

    def publish(self, topic: str, message: Any, key: str | None = None) -> None:
        """Never blocks: a slow subscriber loses its oldest state events, not the publisher's time."""
        subs = self._subs.get(topic)
        if subs:
            for sub in tuple(subs):
                self._offer(sub, message)
        keyed = self._keyed.get(topic)
        if keyed and key is not None and key in keyed:
            for sub in tuple(keyed[key]):
                self._offer(sub, message)

    def _offer(self, sub: Subscriber, message: Any) -> None:
        if sub.accept is not None and not sub.accept(message):
            return
        if sub.callback is not None:
            sub.callback(message)
            return
        if sub.lossless:
            sub.queue.put_nowait(message)
            return
        if sub.queue.full():
            sub.queue.get_nowait()
            sub.dropped += 1
            self.dropped_total += 1
        sub.queue.put_nowait(message)

    def count_dropped(self, n: int) -> None:
        """Events a slow subscriber lost downstream of the bus (api/outbox.py), in the same total."""
        self.dropped_total += n

    def _add(self, sub: Subscriber) -> None:
        if sub.keys is None:
            self._subs[sub.topic].add(sub)
            return
        for k in sub.keys:
            self._keyed[sub.topic].setdefault(k, set()).add(sub)

    def _remove(self, sub: Subscriber) -> None:
        if sub.keys is None:
            self._subs[sub.topic].discard(sub)
            if not self._subs[sub.topic]:
                del self._subs[sub.topic]
            return
        keyed = self._keyed[sub.topic]
        for k in sub.keys:
            keyed[k].discard(sub)
            if not keyed[k]:
                del keyed[k]
        if not keyed:
            del self._keyed[sub.topic]

    @asynccontextmanager
    async def subscribe(
        self, topic: str, *, lossless: bool = False, accept: Callable[[Any], bool] | None = None,
        keys: frozenset[str] | None = None,
    ) -> AsyncIterator[AsyncIterator[Any]]:
        sub = Subscriber(topic, asyncio.Queue(0 if lossless else self.queue_size), lossless, accept, keys=keys)
        self._add(sub)
        try:
            yield self._drain(sub)
        finally:
            self._remove(sub)

    @contextmanager
    def listen(self, topic: str, callback: Callable[[Any], None], accept: Callable[[Any], bool] | None = None,
               keys: frozenset[str] | None = None) -> Iterator[None]:
        """Call `callback` with each message (that `accept` lets through; of `keys` only, when given)
        while the block runs."""
        sub = Subscriber(topic, asyncio.Queue(1), False, accept, callback=callback, keys=keys)
        self._add(sub)
        try:
            yield
        finally:
            self._remove(sub)

    @staticmethod
    async def _drain(sub: Subscriber) -> AsyncIterator[Any]:
        while True:
            yield await sub.queue.get()

    def subscriber_count(self, topic: str | None = None) -> int:
        topics = [topic] if topic is not None else list({*self._subs, *self._keyed})
        count = 0
        for t in topics:
            keyed = {sub for subs in self._keyed.get(t, {}).values() for sub in subs}
            count += len(self._subs.get(t, ())) + len(keyed)
        return count
