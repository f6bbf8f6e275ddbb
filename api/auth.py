"""Bearer tokens from the Authorization header or the WebSocket connection_init payload.

A token verified against the database is remembered for a few seconds (PrincipalCache), so a
signed-in request costs no database round trip. What ends or changes a session (sign-out, a revoked
scoped token, a deactivated account, changed roles, a changed password) is published on the bus's
session topic after commit (resolvers.identity.end_sessions); every node drops the principals it
names at once, as it closes their WebSockets (api.sockets).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from records.audit import AuditContext, PendingEvent
from records.base import utcnow
from records.db import Database
from resolvers import identity
from subscriptions.bus import Bus
from subscriptions.topics import SESSION_TOPIC


def bearer(value: Any) -> str | None:
    """The token of an 'Authorization: Bearer <token>' value; None when absent."""
    if not value:
        return None
    if not isinstance(value, str):
        raise AppError(ErrorCode.UNAUTHENTICATED, "authorization must be 'Bearer <token>'")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AppError(ErrorCode.UNAUTHENTICATED, "authorization must be 'Bearer <token>'")
    return token.strip()


class DenialLog:
    """Audits refused tokens, one event per client and token per window with a count of repeats,
    so a client hammering with a bad token cannot flood the (serialised) audit trail."""

    def __init__(self, window: float = 10.0, max_keys: int = 10_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self.seen: dict[tuple[str | None, str], tuple[float, int]] = {}

    def should_record(self, client: str | None, digest: str) -> int | None:
        """The number of refusals to report now, or None while inside the window."""
        now = time.monotonic()
        key = (client, digest)
        last = self.seen.get(key)
        if last is not None and now - last[0] < self.window:
            self.seen[key] = (last[0], last[1] + 1)
            return None
        if len(self.seen) >= self.max_keys:
            self.seen.clear()
        self.seen[key] = (now, 0)
        return 1 + (last[1] if last else 0)


_denials = DenialLog()


class PrincipalCache:
    """Principals verified against the database, by token digest, for `ttl` seconds at most (and never
    past the token's expiry); at most `size` of them, the oldest dropped first.

    Only valid tokens are remembered: a refusal is always decided by the database, so nobody is locked
    out by a stale answer. The cache is used only while it hears the session topic (`listening`) and
    the bus reaches the other nodes (a Redis bus that lost Redis is not trusted: the database decides
    until it is back). An invalidation that arrives while a lookup is under way voids that lookup's
    answer (`generation`), so a principal read before a revocation is never stored after it."""

    def __init__(self, ttl: float = 5.0, size: int = 10_000, bus: Bus | None = None) -> None:
        self.ttl = ttl
        self.size = size
        self.bus = bus
        self.entries: dict[str, tuple[float, Principal]] = {}
        self.generation = 0
        self.listening = False
        self.hits = self.misses = 0

    def usable(self) -> bool:
        if self.ttl > 0 and self.listening and getattr(self.bus, "connected", True):
            return True
        if self.entries:  # invalidations may have been missed meanwhile
            self.clear()
        return False

    def get(self, digest: str) -> Principal | None:
        entry = self.entries.get(digest)
        if entry is None:
            self.misses += 1
            return None
        if time.monotonic() >= entry[0]:
            del self.entries[digest]
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def put(self, digest: str, principal: Principal, generation: int) -> None:
        if generation != self.generation:
            return
        now = time.monotonic()
        deadline = now + self.ttl
        if principal.expires_at is not None:
            deadline = min(deadline, now + (principal.expires_at - utcnow()).total_seconds())
        if len(self.entries) >= self.size:
            del self.entries[next(iter(self.entries))]
        self.entries[digest] = (deadline, principal)

    def clear(self) -> None:
        self.generation += 1
        self.entries.clear()

    def on_event(self, message: Any) -> None:
        """A session-topic listener: {"tokens": [ids], "users": [ids], "refresh": [ids], ...}; the
        principals of those tokens and accounts are read from the database again. Anything it cannot
        read empties the whole cache."""
        self.generation += 1
        try:
            tokens = {int(t) for t in message.get("tokens") or ()}
            users = {int(u) for key in ("users", "refresh") for u in message.get(key) or ()}
        except (AttributeError, TypeError, ValueError):
            self.entries.clear()
            return
        for digest, (_, p) in list(self.entries.items()):
            if p.token_id in tokens or p.user_id in users:
                del self.entries[digest]

    @contextmanager
    def listening_to(self, bus: Bus) -> Iterator[None]:
        """Use the cache while the block runs (the app's lifespan), hearing the session topic."""
        with bus.listen(SESSION_TOPIC, self.on_event):
            self.listening = True
            try:
                yield
            finally:
                self.listening = False
                self.clear()


async def authenticate(db: Database, header: Any, client: str | None,
                       cache: PrincipalCache | None = None) -> Principal | None:
    """None for an anonymous request; refuses (and audits) a token that is unknown, expired or revoked."""
    token = bearer(header)
    if token is None:
        return None
    digest = identity.token_digest(token)
    live = cache if cache is not None and cache.usable() else None
    if live is not None:
        hit = live.get(digest)
        if hit is not None:
            return hit
    generation = live.generation if live is not None else 0
    principal = await identity.principal_for(db, token)
    if principal is None:
        count = _denials.should_record(client, digest[:16])
        if count is not None:
            await db.record(
                AuditContext("anonymous", client_address=client),
                PendingEvent("ACCESS_DENIED", "api_token", None,
                             {"reason": "unknown, expired or revoked token", "tokenDigest": digest[:16],
                              "attempts": count}),
            )
        raise AppError(ErrorCode.UNAUTHENTICATED, "the token is unknown, expired or revoked; sign in again")
    if live is not None:
        live.put(digest, principal, generation)
    return principal
