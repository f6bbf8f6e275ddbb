"""One holder at a time among the API processes sharing a Redis: a key set with NX and a time to live,
renewed by its holder. Several workers on one host (`plasmatwin serve --workers N`) or several hosts
run a duty that must happen once per deployment (the alarm rules) in whichever process holds it; when
the holder stops or dies, another takes over within the time to live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger("plasmatwin.leader")

PREFIX = "plasmatwin:leader:"
# Only the holder's token renews or deletes the key (a holder that lost it never takes it from the next).
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class Leadership:
    def __init__(self, redis: Any, name: str, on_gain: Callable[[], Awaitable[None]], on_loss: Callable[[], None],
                 ttl: float = 5.0, every: float = 1.0) -> None:
        self.redis = redis
        self.key = PREFIX + name
        self.token = uuid.uuid4().hex
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.ttl_ms = int(ttl * 1000)
        self.every = every
        self.held = False
        self._until = 0.0  # monotonic time when the key surely expires unless renewed
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.attempt()  # the first process up leads before it answers requests
        self._task = asyncio.create_task(self._loop(), name=f"leader-{self.key}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.attempt()

    async def attempt(self) -> None:
        asked = time.monotonic()
        try:
            if self.held:
                ok = bool(await self.redis.eval(RENEW, 1, self.key, self.token, self.ttl_ms))
            else:
                ok = bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except (RedisError, OSError) as e:
            # Redis out of reach: keep the duty while the key cannot have expired, then let it go.
            log.warning("leadership %s: Redis does not answer: %r", self.key, e)
            if self.held and time.monotonic() > self._until:
                self._step_down()
            return
        if ok:
            self._until = asked + self.ttl_ms / 1000
        if ok and not self.held:
            try:
                await self.on_gain()
            except Exception:  # not ready to lead (the database is away): give it back, try again later
                log.exception("taking over %s failed", self.key)
                await self._release()
                return
            self.held = True
            log.info("this process now holds %s", self.key)
        elif not ok and self.held:
            self._step_down()

    def _step_down(self) -> None:
        self.held = False
        self.on_loss()
        log.warning("this process no longer holds %s", self.key)

    async def _release(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.redis.eval(RELEASE, 1, self.key, self.token)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.held:
            self.held = False
            self.on_loss()
            await self._release()  # the next process takes over at its next attempt, not after the TTL
