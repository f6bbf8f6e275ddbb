"""Sign-in, bearer tokens and the principal behind a request (IT-40, IT-57)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from policies.principal import Principal, RoleGrant
from records import audit
from records.audit import AuditContext, PendingEvent
from records.base import utcnow
from records.db import Database
from records.identity import ApiToken, User
from subscriptions.bus import Bus
from subscriptions.topics import SESSION_TOPIC

# Ended sessions travel on this bus topic so every API node closes the WebSockets they hold.
CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403

_hasher = PasswordHasher()
# Verified against when no real password is checked, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def configure_hashing(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Argon2id cost for this process (PLASMATWIN_ARGON2_*; tune it to the hardware, OWASP's
    guidance). The dummy hash follows, so an unknown account still costs one real verification."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Lockout:
    attempts: int
    seconds: int


def _password_ok(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def sign_in(
    db: Database, username: str, password: str, *, ttl: timedelta, lockout: Lockout,
    client: str | None,
) -> IssuedToken:
    """Check the password, lock out after repeated failures, audit every attempt."""
    now = utcnow()
    # A lone surrogate can be neither looked up, hashed nor audited; escaped, it fails like any wrong name.
    username, password = (v.encode("utf-8", "backslashreplace").decode() for v in (username, password))
    async with db.write(AuditContext(actor=username[:64] or "?", client_address=client)) as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
        wrong = password_refusal(user, password, now, lockout)
        failure = None if wrong is None else (wrong, user.id if user is not None else None)
        if failure is None:
            assert user is not None
            token = secrets.token_urlsafe(32)
            s.add(ApiToken(token_hash=token_digest(token), user_id=user.id, expires_at=now + ttl))
            s.info["audit"] = AuditContext(actor=username, actor_id=user.id, client_address=client,
                                           reason="sign-in")
            await s.flush()
            await _audit(s, "SIGN_IN", user.id, {"result": "ok"})
            return IssuedToken(token, now + ttl)
        reason, user_id = failure
        await _audit(s, "SIGN_IN_FAILED", user_id, {"result": reason})
    # Committed above: the failed attempt and any lockout are recorded, then the caller is refused.
    raise AppError(ErrorCode.UNAUTHENTICATED, "sign-in failed: wrong username or password, or account locked")


def password_refusal(user: User | None, password: str, now: datetime, lockout: Lockout) -> str | None:
    """Why `password` does not admit `user` (None when it does), counting the failure towards the lockout on
    the row, whose session the caller commits. Sign-in and re-authentication at signing share this rule."""
    if user is None or (user.locked_until and user.locked_until > now) or not user.active:
        # The same Argon2 work as checking a real password, so the time of the answer does not
        # tell an unknown, a locked or a deactivated account from a wrong password.
        _password_ok(_DUMMY_HASH, password)
    if user is None:
        return "unknown user"
    if user.locked_until and user.locked_until > now:
        return "account locked"
    if not user.active:
        return "account deactivated"
    if not _password_ok(user.password_hash, password):
        user.failed_attempts += 1
        if user.failed_attempts < lockout.attempts:
            return "wrong password"
        user.locked_until, user.failed_attempts = now + timedelta(seconds=lockout.seconds), 0
        return "wrong password, account locked"
    if user.failed_attempts:
        user.failed_attempts = 0
    return None


async def _audit(s: AsyncSession, action: str, user_id: int | None, changes: dict[str, object]) -> None:
    await audit.add(s, PendingEvent(action, "app_user", str(user_id) if user_id else None, changes))


async def sign_out(db: Database, bus: Bus, principal: Principal, client: str | None) -> None:
    ctx = AuditContext(principal.username, principal.user_id, "sign-out", client)
    async with db.write(ctx) as s:
        await s.execute(update(ApiToken).where(ApiToken.id == principal.token_id).values(revoked_at=utcnow()))
        await _audit(s, "SIGN_OUT", principal.user_id, {"token": principal.token_id})
    end_sessions(bus, "signed out", tokens=[principal.token_id])


def end_sessions(bus: Bus, reason: str, *, tokens: list[int] | None = None, users: list[int] | None = None,
                 code: int = CLOSE_SIGNED_OUT, refresh: list[int] | None = None) -> None:
    """After commit: every node closes the WebSockets of these tokens or accounts (api.sockets) and
    forgets their cached principals (api.auth.PrincipalCache), and those of the `refresh` accounts,
    whose sessions go on with a changed principal."""
    bus.publish(SESSION_TOPIC, {"tokens": tokens or [], "users": users or [], "code": code, "reason": reason,
                                "refresh": refresh or []})


async def principal_for(db: Database, token: str) -> Principal | None:
    """The principal behind a bearer token, or None if unknown, expired, revoked or deactivated."""
    now = utcnow()
    async with db.read() as s:
        row = (await s.execute(
            select(ApiToken).where(ApiToken.token_hash == token_digest(token))
        )).scalar_one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
            return None
        if row.valid_from is not None and row.valid_from > now:
            return None
        # The user's roles came with the token row (User.roles loads eagerly): no second query.
        grants = [(ur.role.name, ur.site_code) for ur in row.user.roles]
        partner = any(ur.role.kind == "partner" for ur in row.user.roles)
        scope = row.scope if row.kind == "scoped" else account_scope(row.user) if partner else None
        return Principal(
            user_id=row.user_id, username=row.user.username, display_name=row.user.display_name,
            grants=tuple(RoleGrant(r, site) for r, site in grants), token_id=row.id,
            token_kind=row.kind, scope=scope, expires_at=row.expires_at, partner=partner,
            password_change_required=row.user.password_change_required,
        )


def account_scope(user: User) -> dict[str, Any]:
    """What an external party's account reaches when it signs in with its password: its own
    organisation (a station its own units and donors, with write for its declarations; a
    distributor its own deliveries, read-only); a regulator or an account without an
    organisation sees nothing without a scoped token."""
    roles = set(user.role_names)
    org = user.organisation
    if org and "station_partner" in roles:
        return {"readOnly": False, "stations": [org]}
    if org and "distributor_partner" in roles:
        return {"readOnly": True, "distributors": [org]}
    return {"readOnly": True}


def password_ok(stored: str, password: str) -> bool:
    """Whether `password` matches the stored Argon2 hash (a password change re-checks the current one)."""
    return _password_ok(stored, password)
