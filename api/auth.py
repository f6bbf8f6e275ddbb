"""Bearer tokens from the Authorization header or the WebSocket connection_init payload."""

from __future__ import annotations

import time
from typing import Any

from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from records.audit import AuditContext, PendingEvent
from records.db import Database
from resolvers import identity


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


async def authenticate(db: Database, header: Any, client: str | None) -> Principal | None:
    """None for an anonymous request; refuses (and audits) a token that is unknown, expired or revoked."""
    token = bearer(header)
    if token is None:
        return None
    principal = await identity.principal_for(db, token)
    if principal is None:
        digest = identity.token_digest(token)[:16]
        count = _denials.should_record(client, digest)
        if count is not None:
            await db.record(
                AuditContext("anonymous", client_address=client),
                PendingEvent("ACCESS_DENIED", "api_token", None,
                             {"reason": "unknown, expired or revoked token", "tokenDigest": digest,
                              "attempts": count}),
            )
        raise AppError(ErrorCode.UNAUTHENTICATED, "the token is unknown, expired or revoked; sign in again")
    return principal
