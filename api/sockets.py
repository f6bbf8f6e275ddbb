"""Open WebSockets by token and account, so a sign-out, revocation or role change closes them.

Revocations travel on the bus (`SESSION_TOPIC`), so with Redis every API node closes its own
sockets within the bus latency, not only the node that handled the revocation.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from policies.principal import Principal

log = logging.getLogger("plasmatwin.sockets")

Closer = Callable[[int, str], Coroutine[Any, Any, None]]


@dataclass(eq=False)
class OpenSocket:
    principal: Principal
    close: Closer
    expiry: asyncio.Task[None] | None = None


@dataclass
class OpenSockets:
    by_token: dict[int, set[OpenSocket]] = field(default_factory=lambda: defaultdict(set))
    by_user: dict[int, set[OpenSocket]] = field(default_factory=lambda: defaultdict(set))
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def add(self, principal: Principal, close: Closer) -> OpenSocket:
        sock = OpenSocket(principal, close)
        self.by_token[principal.token_id].add(sock)
        self.by_user[principal.user_id].add(sock)
        if principal.expires_at is not None:
            sock.expiry = asyncio.create_task(self._expire(sock))
        return sock

    def remove(self, sock: OpenSocket) -> None:
        for index, key in ((self.by_token, sock.principal.token_id), (self.by_user, sock.principal.user_id)):
            found = index.get(key)
            if found is not None:
                found.discard(sock)
                if not found:
                    del index[key]
        if sock.expiry is not None and sock.expiry is not asyncio.current_task():
            sock.expiry.cancel()

    def count(self) -> int:
        return sum(len(s) for s in self.by_token.values())

    async def _expire(self, sock: OpenSocket) -> None:
        from records.base import utcnow

        assert sock.principal.expires_at is not None
        await asyncio.sleep(max(0.0, (sock.principal.expires_at - utcnow()).total_seconds()))
        self.remove(sock)
        await sock.close(4401, "token expired")

    def on_event(self, message: Any) -> None:
        """A bus listener: {"tokens": [ids], "users": [ids], "code": 4401|4403, "reason": str}."""
        if not isinstance(message, dict):
            return
        hit: set[OpenSocket] = set()
        for t in message.get("tokens") or ():
            hit |= self.by_token.get(int(t), set())
        for u in message.get("users") or ():
            hit |= self.by_user.get(int(u), set())
        code = int(message.get("code", 4401))
        reason = str(message.get("reason", "session ended"))[:100]
        for sock in hit:
            self.remove(sock)
            task = asyncio.get_running_loop().create_task(sock.close(code, reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
