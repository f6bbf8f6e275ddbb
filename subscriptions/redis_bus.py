"""The bus across API nodes: local subscribers get a message at once, other nodes through Redis Streams.

Streams rather than pub/sub because a node that loses Redis for a moment resumes from the last
entry it read: alarm events are not lost to a reconnect. Each topic is one stream, trimmed to about
`maxlen` entries. A node skips its own entries (it delivered them locally already).

Messages cross the wire through codecs the composition root registers per topic (subscriptions/codecs.py:
the bus knows no domain types); a topic without a codec carries plain JSON values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from subscriptions.bus import Bus
from subscriptions.codecs import PLAIN, Codec

log = logging.getLogger("plasmatwin.bus")

PREFIX = "plasmatwin:bus:"


class RedisBus(Bus):
    def __init__(self, url: str, topics: Iterable[str], codecs: dict[str, Codec] | None = None,
                 queue_size: int = 32, maxlen: int = 100_000, batch: int = 1000) -> None:
        super().__init__(queue_size=queue_size)
        self.url = url
        self.topics = tuple(topics)
        self.codecs = codecs or {}
        self.maxlen = maxlen
        self.batch = batch
        self.node = uuid.uuid4().hex[:12]
        self.redis: Any = Redis.from_url(url)
        self._out: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = self.received = self.errors = 0
        self.connected = False

    def publish(self, topic: str, message: Any, key: str | None = None) -> None:
        super().publish(topic, message, key)
        if topic in self.topics:
            data = self.codecs.get(topic, PLAIN).encode(message)
            self._out.append((topic, json.dumps({"n": self.node, "d": data}, separators=(",", ":"), default=str)))
            self._wake.set()

    async def start(self) -> None:
        # Start reading at the streams' current ends: a new node does not replay history.
        last: dict[str, str] = {}
        for t in self.topics:
            try:
                info = await self.redis.xinfo_stream(PREFIX + t)
                last[t] = info["last-generated-id"].decode()
            except RedisError:
                last[t] = "0-0"
        self.connected = True
        self._tasks = [asyncio.create_task(self._writer(), name="bus-writer"),
                       asyncio.create_task(self._reader(last), name="bus-reader")]

    async def _writer(self) -> None:
        delay = 0.1
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._out:
                chunk = self._out[:self.batch]
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for topic, payload in chunk:
                            pipe.xadd(PREFIX + topic, {"m": payload}, maxlen=self.maxlen, approximate=True)
                        await pipe.execute()
                except (RedisError, OSError):
                    self.errors += 1
                    self.connected = False
                    log.warning("publishing to Redis failed; retrying in %.1fs (%d queued)", delay, len(self._out))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                del self._out[:len(chunk)]
                self.sent += len(chunk)
                self.connected, delay = True, 0.1
            self._drained.set()

    async def _reader(self, last: dict[str, str]) -> None:
        delay = 0.1
        streams = {PREFIX + t: i for t, i in last.items()}
        while True:
            try:
                answer = await self.redis.xread(streams, count=self.batch, block=1000)
            except (RedisError, OSError):
                self.errors += 1
                self.connected = False
                log.warning("reading from Redis failed; resuming in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.connected, delay = True, 0.1
            for name, entries in answer or []:
                stream = name.decode() if isinstance(name, bytes) else str(name)
                topic = stream[len(PREFIX):]
                codec = self.codecs.get(topic, PLAIN)
                for entry_id, fields in entries:
                    streams[stream] = entry_id.decode()
                    doc = json.loads(fields[b"m"])  # bytes keys: the client does not decode responses
                    if doc["n"] == self.node:
                        continue
                    self.received += 1
                    try:
                        message = codec.decode(doc["d"])
                    except Exception:  # a message this node cannot read must not stop the others
                        log.exception("undecodable %s message %s", topic, entry_id)
                        continue
                    Bus.publish(self, topic, message, codec.key(message))

    async def flush(self, within: float = 5.0) -> None:
        """Wait until everything published so far reached Redis (shutdown, tests)."""
        if self._out:
            self._drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), within)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush(2.0)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.redis.aclose()
