"""Bearer tokens from the Authorization header or the WebSocket connection_init payload."""

from __future__ import annotations

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


async def authenticate(db: Database, header: Any, client: str | None) -> Principal | None:
    """None for an anonymous request; refuses (and audits) a token that is unknown, expired or revoked."""
    token = bearer(header)
    if token is None:
        return None
    principal = await identity.principal_for(db, token)
    if principal is None:
        await db.record(
            AuditContext("anonymous", client_address=client),
            PendingEvent("ACCESS_DENIED", "api_token", None,
                         {"reason": "unknown, expired or revoked token",
                          "tokenDigest": identity.token_digest(token)[:16]}),
        )
        raise AppError(ErrorCode.UNAUTHENTICATED, "the token is unknown, expired or revoked; sign in again")
    return principal
