"""Scoped tokens for regulators and partners."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import tokens as res
from resolvers.context import Context
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.input
class IssueScopedTokenInput:
    holder: str = strawberry.field(description="Username of the regulator or partner account")
    read_only: bool = True
    stations: list[str] = strawberry.field(default_factory=list)
    products: list[str] = strawberry.field(default_factory=list)
    batch_numbers: list[str] = strawberry.field(default_factory=list)
    distributors: list[str] = strawberry.field(default_factory=list)
    valid_from: datetime
    valid_until: datetime
    purpose: str


@strawberry.type
class ScopedToken:
    id: strawberry.ID
    holder: str
    issued_by: str | None
    purpose: str | None
    scope: JSON
    valid_from: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    token: str | None = strawberry.field(description="The bearer token; shown once, when issued.")

    @classmethod
    def of(cls, t: res.TokenView) -> ScopedToken:
        return cls(id=strawberry.ID(str(t.id)), holder=t.holder, issued_by=t.issued_by, purpose=t.purpose,
                   scope=t.scope.as_json(),  # type: ignore[arg-type]
                   valid_from=t.valid_from, expires_at=t.expires_at,
                   revoked_at=t.revoked_at, last_used_at=t.last_used_at, token=t.token)


@strawberry.type
class TokenQuery:
    @strawberry.field(description="Scoped tokens with their last use (QA, system and audit administrators).",
                      extensions=can("token:scoped", "read"))
    async def scoped_tokens(self, info: Info[Context, None]) -> list[ScopedToken]:
        return [ScopedToken.of(t) for t in await res.listing(info.context)]


@strawberry.type
class TokenMutation:
    @strawberry.mutation(description="Issue a scoped token to a regulator or partner; signed (APPROVED).",
                         extensions=can("token:scoped", "write"))
    async def issue_scoped_token(self, info: Info[Context, None], input: IssueScopedTokenInput,
                                 signature: SignatureInput) -> ScopedToken:
        scope = res.Scope(input.read_only, tuple(input.stations), tuple(input.products), tuple(input.batch_numbers),
                          tuple(input.distributors))
        return ScopedToken.of(await res.issue(info.context, signed(info, signature), input.holder, scope,
                                              input.valid_from, input.valid_until, input.purpose))

    @strawberry.mutation(extensions=can("token:scoped", "write"))
    async def revoke_scoped_token(self, info: Info[Context, None], id: strawberry.ID, reason: str) -> ScopedToken:
        try:
            token_id = int(id)
        except ValueError:
            token_id = -1
        return ScopedToken.of(await res.revoke(info.context, token_id, reason))
