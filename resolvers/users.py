"""User management by the system administrator: create, change roles, deactivate, settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from policies.authorize import load_roles
from policies.duties import check_role_set
from policies.errors import AppError, ErrorCode
from policies.passwords import check_password
from records import audit
from records.audit import PendingEvent
from records.base import utcnow
from records.identity import ApiToken, Role, Setting, User, UserRole
from resolvers import alarms
from resolvers.context import Context
from resolvers.identity import hash_password

MIN_PASSWORD = 12


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    active: bool
    roles: list[str]


def _need_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
    return reason.strip()


async def _roles(s: Any, names: list[str]) -> list[Role]:
    rows = {r.name: r for r in (await s.execute(select(Role).where(Role.name.in_(names)))).scalars()}
    return [rows[n] for n in names]


async def create_user(ctx: Context, username: str, display_name: str, password: str, roles: list[str],
                      reason: str) -> UserView:
    reason = _need_reason(reason)
    username = username.strip().lower()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AppError(ErrorCode.VALIDATION_FAILED, "username must be 1-64 characters without spaces")
    check_password(password, username)
    wanted = check_role_set(roles, load_roles(), ctx.services.policy.duties)
    try:
        async with ctx.db.write(ctx.audit_context(reason)) as s:
            if (await s.execute(select(User.id).where(User.username == username))).first():
                raise AppError(ErrorCode.CONFLICT, f"username {username} exists (usernames are never reused)")
            user = User(username=username, display_name=display_name.strip(), password_hash=hash_password(password),
                        active=True, failed_attempts=0)
            for role in await _roles(s, wanted):
                user.roles.append(UserRole(role=role, site_code="*"))
            s.add(user)
    except IntegrityError as exc:
        raise AppError(ErrorCode.CONFLICT, f"username {username} exists") from exc
    return UserView(username, user.display_name, True, wanted)


async def set_user_roles(ctx: Context, username: str, roles: list[str], reason: str) -> UserView:
    reason = _need_reason(reason)
    wanted = check_role_set(roles, load_roles(), ctx.services.policy.duties)
    async with ctx.db.write(ctx.audit_context(reason)) as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if user is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no user {username}")
        before = user.role_names
        keep = {ur.role.name: ur for ur in user.roles}
        for name, ur in keep.items():
            if name not in wanted:
                user.roles.remove(ur)
        for role in await _roles(s, [r for r in wanted if r not in keep]):
            user.roles.append(UserRole(role=role, site_code="*"))
        await s.flush()
        ev = PendingEvent("ROLES_CHANGED", "app_user", str(user.id), {"roles": [before, wanted]})
        await audit.add(s, ev)
    return UserView(user.username, user.display_name, user.active, wanted)


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
    return UserView(user.username, user.display_name, False, user.role_names)


async def list_users(ctx: Context) -> list[UserView]:
    async with ctx.db.read() as s:
        users = (await s.execute(select(User).order_by(User.username))).scalars().all()
        return [UserView(u.username, u.display_name, u.active, u.role_names) for u in users]


async def set_setting(ctx: Context, key: str, value: Any, reason: str) -> Any:
    reason = _need_reason(reason)
    if key == alarms.RECIPIENTS_KEY:
        alarms.check_recipients(value)
    async with ctx.db.write(ctx.audit_context(reason)) as s:
        row = await s.get(Setting, key)
        if row is None:
            s.add(Setting(key=key, value=value))
        else:
            row.value = value
    return value
