"""Scoped tokens for partners and regulators: issued with a signature, revocable, access-logged."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from policies.authorize import load_roles
from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from records import audit
from records.audit import PendingEvent
from records.base import utcnow
from records.identity import ApiToken, User
from resolvers.context import Context
from resolvers.identity import end_sessions, token_digest
from resolvers.signed import Signatures, SignedRequest, perform

MAX_VALIDITY = timedelta(days=366)


@dataclass(frozen=True)
class Scope:
    read_only: bool = True
    stations: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    batch_numbers: tuple[str, ...] = ()
    distributors: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"readOnly": self.read_only, "stations": list(self.stations), "products": list(self.products),
                "batchNumbers": list(self.batch_numbers), "distributors": list(self.distributors)}

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> Scope:
        raw = raw or {}
        return cls(bool(raw.get("readOnly", True)), tuple(raw.get("stations", ())), tuple(raw.get("products", ())),
                   tuple(raw.get("batchNumbers", ())), tuple(raw.get("distributors", ())))


@dataclass(frozen=True)
class TokenView:
    id: int
    holder: str
    issued_by: str | None
    purpose: str | None
    scope: Scope
    valid_from: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    token: str | None = field(default=None, repr=False)


async def issue(ctx: Context, req: SignedRequest, holder: str, scope: Scope, valid_from: datetime,
                valid_until: datetime, purpose: str) -> TokenView:
    issuer = ctx.signed_in()

    async def clean() -> int:
        if valid_until <= valid_from or valid_until - valid_from > MAX_VALIDITY:
            raise AppError(ErrorCode.VALIDATION_FAILED, "validity must be a window of at most 366 days")
        if valid_until <= utcnow():
            raise AppError(ErrorCode.VALIDATION_FAILED, "the token would already be expired")
        if not purpose.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "state the purpose of the token")
        if not (scope.stations or scope.products or scope.batch_numbers or scope.distributors):
            raise AppError(ErrorCode.VALIDATION_FAILED,
                           "a scoped token names at least one station, product, batch or distributor")
        kinds = load_roles()
        async with ctx.db.read() as s:
            user = (await s.execute(select(User).where(User.username == holder))).scalar_one_or_none()
        if user is None or not user.active:
            raise AppError(ErrorCode.NOT_FOUND, f"no active user {holder}")
        if any(kinds[r].kind != "partner" for r in user.role_names):
            raise AppError(ErrorCode.VALIDATION_FAILED, "scoped tokens are for partner and regulator accounts")
        if not scope.read_only and "regulator" in user.role_names:
            raise AppError(ErrorCode.VALIDATION_FAILED, "regulator tokens are read-only")
        return user.id

    async def save(s: AsyncSession, user_id: int, signatures: Signatures[int]) -> TokenView:
        token = secrets.token_urlsafe(32)
        row = ApiToken(token_hash=token_digest(token), user_id=user_id, kind="scoped", expires_at=valid_until,
                       valid_from=valid_from, scope=scope.as_json(), issued_by_id=issuer.user_id,
                       purpose=purpose.strip())
        s.add(row)
        await s.flush()
        content = {"holder": holder, "scope": scope.as_json(), "validFrom": audit.iso(valid_from),
                   "validUntil": audit.iso(valid_until)}
        await signatures.bind(s, "api_token", str(row.id), content)
        ev = PendingEvent("TOKEN_ISSUED", "api_token", str(row.id), {k: [None, v] for k, v in content.items()})
        await audit.add(s, ev)
        return TokenView(row.id, holder, issuer.username, row.purpose, scope, valid_from, valid_until, None, None,
                         token)

    return await perform(ctx, req, reason=purpose.strip(), clean=clean, save=save, meanings=("APPROVED",))


async def revoke(ctx: Context, token_id: int, reason: str) -> TokenView:
    if not reason.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
    async with ctx.db.write(ctx.audit_context(reason.strip())) as s:
        row = await s.get(ApiToken, token_id)
        if row is None or row.kind != "scoped":
            raise AppError(ErrorCode.NOT_FOUND, f"no scoped token {token_id}")
        if row.revoked_at is not None:
            raise AppError(ErrorCode.CONFLICT, "the token is already revoked")
        row.revoked_at = utcnow()
        ev = PendingEvent("TOKEN_REVOKED", "api_token", str(row.id), {"revokedAt": [None, audit.iso(row.revoked_at)]})
        await audit.add(s, ev)
    end_sessions(ctx.services.bus, "token revoked", tokens=[token_id])
    return (await listing(ctx, token_id))[0]


async def listing(ctx: Context, token_id: int | None = None) -> list[TokenView]:
    issuer = aliased(User)
    stmt = (select(ApiToken, issuer.username).outerjoin(issuer, issuer.id == ApiToken.issued_by_id)
            .where(ApiToken.kind == "scoped").order_by(ApiToken.id.desc()))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    async with ctx.db.read() as s:
        rows = (await s.execute(stmt)).all()
        return [TokenView(t.id, t.user.username, by, t.purpose, Scope.of(t.scope), t.valid_from, t.expires_at,
                          t.revoked_at, t.last_used_at) for t, by in rows]


async def log_access(db: Any, principal: Principal, client: str | None, operation: dict[str, Any]) -> None:
    """Every request under a scoped token: last use on the token, an ACCESS event for the auditors."""
    from sqlalchemy import update

    ctx = audit.AuditContext(principal.username, principal.user_id, None, client)
    async with db.write(ctx) as s:
        await s.execute(update(ApiToken).where(ApiToken.id == principal.token_id).values(last_used_at=utcnow()))
        ev = PendingEvent("ACCESS", "api_token", str(principal.token_id), operation)
        await audit.add(s, ev)
