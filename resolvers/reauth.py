"""Re-authentication at signing (21 CFR 11.200(a)(1); the guideline's reliable electronic signatures).

A key the browser holds proves the device, not the person at it. So the signer gives their password
again (`reauthenticate`):
- for their own signatures, at the first one on a token and after any pause longer than the
  continuous period (setting `signing.continuousMinutes`, default 15): each signature in between
  keeps the period going;
- as a second person signing on someone else's token (a verifier at the operator's tablet), for
  every signature: one confirmation allows one request, within the signature window.

A signature without it is refused with REAUTHENTICATION_REQUIRED (extensions: `signer`,
`secondPerson`), so a client asks that person for their password and sends the request again. Wrong
passwords count towards the account's lockout as at sign-in. On by default; a plant turns it off
only through the signed setting `signing.reauthentication` (or a server started with
PLASMATWIN_SIGNING_REAUTHENTICATION=false, which the setting overrides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from records import audit
from records.audit import PendingEvent
from records.base import utcnow
from records.identity import Setting, SigningSession, User
from resolvers.context import Context
from resolvers.identity import password_refusal

ENFORCED_KEY = "signing.reauthentication"
CONTINUOUS_KEY = "signing.continuousMinutes"
DEFAULT_CONTINUOUS_MINUTES = 15


@dataclass(frozen=True)
class Confirmed:
    signer: str
    second_person: bool
    valid_until: datetime


def check_minutes(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{key} is a whole number of minutes from 1 to 60")


async def _setting(s: AsyncSession, key: str, default: Any) -> Any:
    row = await s.get(Setting, key)
    return default if row is None else row.value


async def _period(s: AsyncSession) -> timedelta:
    return timedelta(minutes=int(await _setting(s, CONTINUOUS_KEY, DEFAULT_CONTINUOUS_MINUTES)))


async def reauthenticate(ctx: Context, password: str, signer: str | None = None) -> Confirmed:
    """The password of the caller (or of `signer`, a second person at the caller's device) given again."""
    me = ctx.signed_in()
    username = signer or me.username
    second = username != me.username
    now = utcnow()
    async with ctx.db.write(ctx.audit_context("re-authentication at signing")) as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
        failure = password_refusal(user, password, now, ctx.services.lockout)
        details = {"signer": username, "secondPerson": second}
        target = str(user.id) if user is not None else None
        if failure is not None:
            await audit.add(s, PendingEvent("REAUTHENTICATION_FAILED", "app_user", target,
                                            {**details, "result": failure}))
        else:
            assert user is not None
            until = await _open(s, me, user, second, now, ctx.services.signature_window)
            await audit.add(s, PendingEvent("REAUTHENTICATED", "app_user", target, details))
    if failure is not None:  # committed above: the attempt and any lockout stay recorded
        # Not UNAUTHENTICATED: the session itself stands, and clients end a session on that code.
        raise AppError(ErrorCode.REAUTHENTICATION_REQUIRED, "re-authentication failed: wrong password, or the "
                                                            "account is locked or deactivated",
                       signer=username, secondPerson=second)
    return Confirmed(username, second, until)


async def _open(s: AsyncSession, me: Principal, user: User, second: bool, now: datetime,
                window: int) -> datetime:
    if second:  # valid for one signature within the signature window
        s.add(SigningSession(token_id=me.token_id, user_id=user.id, second_person=True, confirmed_at=now,
                             active_at=now))
        return now + timedelta(seconds=window)
    own = (await s.execute(select(SigningSession).where(
        SigningSession.token_id == me.token_id, SigningSession.user_id == user.id,
        SigningSession.second_person.is_(False)))).scalar_one_or_none()
    if own is None:
        s.add(SigningSession(token_id=me.token_id, user_id=user.id, second_person=False, confirmed_at=now,
                             active_at=now))
    else:
        own.confirmed_at = own.active_at = now
    return now + await _period(s)


async def session_for(ctx: Context, s: AsyncSession, user_id: int, signer: str, second: bool) -> int | None:
    """The signing session a signature by `signer` uses on the caller's token; None when the plant does
    not ask for re-authentication; REAUTHENTICATION_REQUIRED when there is none in time."""
    if not await _setting(s, ENFORCED_KEY, ctx.services.reauthentication):
        return None
    me = ctx.signed_in()
    now = utcnow()
    query = select(SigningSession).where(SigningSession.token_id == me.token_id, SigningSession.user_id == user_id,
                                         SigningSession.second_person.is_(second))
    if second:
        query = query.where(SigningSession.used_at.is_(None),
                            SigningSession.confirmed_at >= now - timedelta(seconds=ctx.services.signature_window))
    else:
        query = query.where(SigningSession.active_at >= now - await _period(s))
    found = (await s.execute(query.order_by(SigningSession.id).limit(1))).scalar_one_or_none()
    if found is None:
        who = f"{signer}, as the second person," if second else signer
        raise AppError(ErrorCode.REAUTHENTICATION_REQUIRED,
                       f"{who} must give their password again before signing (reauthenticate)",
                       signer=signer, secondPerson=second)
    return found.id


async def spend(s: AsyncSession, own: int | None, second: int | None) -> None:
    """In the write that stores the signatures: the own session goes on from now; a second person's
    confirmation is used up (once: a second request racing for it is refused)."""
    now = utcnow()
    if own is not None:
        await s.execute(update(SigningSession).where(SigningSession.id == own).values(active_at=now))
    if second is not None:
        done = await s.execute(update(SigningSession).where(SigningSession.id == second,
                                                             SigningSession.used_at.is_(None)).values(used_at=now))
        if getattr(done, "rowcount", 1) != 1:
            raise AppError(ErrorCode.REAUTHENTICATION_REQUIRED,
                           "the second person's password was already used for another signature; ask again",
                           secondPerson=True)
