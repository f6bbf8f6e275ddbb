"""User management by the system administrator: create, change roles, deactivate, own password.

Who may do what is itself GMP data: creating an account or changing its roles is signed by the
administrator, and when it grants a GMP (business) role a QA officer approves it with a second
signature. Nobody changes their own roles or approves a grant to themself. A new account gets a
one-time password made by the server, shown once, which must be changed at the first sign-in, so
the administrator never knows a key person's password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from policies.authorize import RoleInfo, load_roles
from policies.duties import check_role_set
from policies.errors import AppError, ErrorCode
from policies.passwords import check_password
from records import audit
from records.audit import PendingEvent
from records.base import utcnow
from records.identity import ApiToken, Role, User, UserRole
from resolvers.context import Context
from resolvers.identity import CLOSE_FORBIDDEN, end_sessions, hash_password, password_ok
from resolvers.signed import Second, Signatures, SignedRequest, perform

# Roles whose accounts belong to an organisation (station or distributor code): their data scope.
ORGANISATION_ROLES = frozenset({"station_partner", "distributor_partner"})


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    active: bool
    roles: list[str]
    organisation: str | None = None
    password_change_required: bool = False


@dataclass(frozen=True)
class CreatedUser:
    user: UserView
    initial_password: str


def _view(u: User, roles: list[str] | None = None) -> UserView:
    return UserView(u.username, u.display_name, u.active, roles if roles is not None else u.role_names,
                    u.organisation, u.password_change_required)


def _need_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
    return reason.strip()


async def _roles(s: Any, names: list[str]) -> list[Role]:
    rows = {r.name: r for r in (await s.execute(select(Role).where(Role.name.in_(names)))).scalars()}
    return [rows[n] for n in names]


def _gmp_roles(names: list[str], known: dict[str, RoleInfo]) -> list[str]:
    return [n for n in names if known[n].kind == "business"]


APPROVAL = Second(("APPROVED",), "a QA officer's approval", required=False)


async def _two_person(ctx: Context, req: SignedRequest, target: str, granted: list[str]) -> None:
    """QA's approval when GMP roles are granted (a second person, not the account that receives
    them); nobody acts on their own account."""
    await ctx.require_duty("grant_roles", "app_user", target, "nobody changes their own roles or account",
                           target=target)
    if granted and req.second is None:
        raise AppError(ErrorCode.SIGNATURE_REQUIRED,
                       f"granting {', '.join(granted)} needs a QA officer's approval signature")
    if req.second is not None:
        await ctx.require_duty("grant_roles", "app_user", target, "nobody approves a grant to themself",
                               subject=req.second.signer, target=target)


def _organisation(roles: list[str], organisation: str | None) -> str | None:
    org = (organisation or "").strip() or None
    if org is not None and (len(org) > 32 or not org.replace("-", "").isalnum()):
        raise AppError(ErrorCode.VALIDATION_FAILED, "organisation is a station or distributor code (1-32 "
                                                    "letters, digits and -)")
    if org is not None and not ORGANISATION_ROLES & set(roles):
        raise AppError(ErrorCode.VALIDATION_FAILED, "only station and distributor accounts belong to an organisation")
    return org


async def create_user(ctx: Context, req: SignedRequest, username: str, display_name: str,
                      roles: list[str], organisation: str | None, reason: str) -> CreatedUser:
    username = username.strip().lower()
    password = secrets.token_urlsafe(15)

    async def clean() -> tuple[list[str], str | None]:
        _need_reason(reason)
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise AppError(ErrorCode.VALIDATION_FAILED, "username must be 1-64 characters without spaces")
        if not display_name.strip() or len(display_name) > 200:
            raise AppError(ErrorCode.VALIDATION_FAILED, "display name must be 1-200 characters")
        known = load_roles()
        wanted = check_role_set(roles, known, ctx.services.policy.duties)
        org = _organisation(wanted, organisation)
        await _two_person(ctx, req, username, _gmp_roles(wanted, known))
        return wanted, org

    async def save(s: AsyncSession, checked: tuple[list[str], str | None], signatures: Signatures[Any]) -> CreatedUser:
        wanted, org = checked
        if (await s.execute(select(User.id).where(User.username == username))).first():
            raise AppError(ErrorCode.CONFLICT, f"username {username} exists (usernames are never reused)")
        user = User(username=username, display_name=display_name.strip(), password_hash=hash_password(password),
                    active=True, failed_attempts=0, organisation=org, password_change_required=True)
        for role in await _roles(s, wanted):
            user.roles.append(UserRole(role=role, site_code="*"))
        s.add(user)
        await s.flush()
        await signatures.bind(s, "app_user", str(user.id), {"username": username, "roles": wanted,
                                                            "organisation": org})
        return CreatedUser(_view(user, wanted), password)

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, second=APPROVAL)


async def set_user_roles(ctx: Context, req: SignedRequest, username: str, roles: list[str],
                         reason: str) -> UserView:
    async def clean() -> tuple[list[str], list[str]]:
        _need_reason(reason)
        known = load_roles()
        wanted = check_role_set(roles, known, ctx.services.policy.duties)
        async with ctx.db.read() as s:
            current = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
            if current is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no user {username}")
            before = current.role_names
        await _two_person(ctx, req, username, _gmp_roles([r for r in wanted if r not in before], known))
        return wanted, before

    async def save(s: AsyncSession, checked: tuple[list[str], list[str]],
                   signatures: Signatures[Any]) -> tuple[UserView, int]:
        wanted, before = checked
        user = (await s.execute(select(User).where(User.username == username))).scalar_one()
        if user.role_names != before:
            raise AppError(ErrorCode.CONFLICT, f"the roles of {username} changed meanwhile; look again")
        keep = {ur.role.name: ur for ur in user.roles}
        for name, ur in keep.items():
            if name not in wanted:
                user.roles.remove(ur)
                await s.delete(ur)  # explicitly, so the removal is an audited DELETE, not a silent cascade
        for role in await _roles(s, [r for r in wanted if r not in keep]):
            user.roles.append(UserRole(role=role, site_code="*"))
        await s.flush()
        await audit.add(s, PendingEvent("ROLES_CHANGED", "app_user", str(user.id), {"roles": [before, wanted]}))
        await signatures.bind(s, "app_user", str(user.id), {"username": username, "roles": wanted,
                                                            "previous": before})
        return _view(user, wanted), user.id

    def publish(changed: tuple[UserView, int]) -> None:
        # Open connections carry the old roles: close them so the account connects again with the new ones.
        end_sessions(ctx.services.bus, "roles changed", users=[changed[1]], code=CLOSE_FORBIDDEN)

    view, _ = await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, publish=publish,
                            second=APPROVAL)
    return view


async def deactivate_user(ctx: Context, username: str, reason: str) -> UserView:
    """Accounts are deactivated, never deleted, so their name stays attributable (IT-40)."""
    reason = _need_reason(reason)
    async with ctx.db.write(ctx.audit_context(reason)) as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if user is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no user {username}")
        user.active = False
        await s.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
        user_id = user.id
    end_sessions(ctx.services.bus, "account deactivated", users=[user_id])
    return _view(user)


async def change_password(ctx: Context, current: str, password: str) -> UserView:
    """The signed-in person replaces their password (a one-time one first of all); other sessions end."""
    me = ctx.signed_in()
    async with ctx.db.read() as s:
        user = await s.get(User, me.user_id)
        assert user is not None
        stored = user.password_hash
    if not password_ok(stored, current):
        await ctx.db.record(ctx.audit_context(), PendingEvent(
            "PASSWORD_CHANGE_REFUSED", "app_user", str(me.user_id), {"reason": "current password wrong"}))
        raise AppError(ErrorCode.UNAUTHENTICATED, "the current password is wrong")
    try:
        if password == current:
            raise AppError(ErrorCode.VALIDATION_FAILED, "the new password must differ from the current one")
        check_password(password, me.username)
    except AppError as refused:
        await ctx.db.record(ctx.audit_context(), PendingEvent(
            "PASSWORD_CHANGE_REFUSED", "app_user", str(me.user_id), {"reason": refused.message}))
        raise
    async with ctx.db.write(ctx.audit_context("password changed by its holder")) as s:
        user = await s.get(User, me.user_id)
        assert user is not None
        user.password_hash = hash_password(password)
        user.password_change_required = False
        await s.execute(update(ApiToken).where(ApiToken.user_id == me.user_id, ApiToken.id != me.token_id,
                                               ApiToken.revoked_at.is_(None), ApiToken.kind == "session")
                        .values(revoked_at=utcnow()))
        await audit.add(s, PendingEvent("PASSWORD_CHANGED", "app_user", str(me.user_id), {}))
        others = list((await s.execute(select(ApiToken.id).where(
            ApiToken.user_id == me.user_id, ApiToken.id != me.token_id, ApiToken.kind == "session"))).scalars())
    # The session that changed it goes on, no longer held to changing its one-time password.
    end_sessions(ctx.services.bus, "password changed", tokens=others, refresh=[me.user_id])
    return _view(user)


async def list_users(ctx: Context) -> list[UserView]:
    async with ctx.db.read() as s:
        users = (await s.execute(select(User).order_by(User.username))).scalars().all()
        return [_view(u) for u in users]
