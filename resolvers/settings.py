"""Plain settings the system administrator changes with `setSetting`, each with its check.

Only keys listed here are plain settings. Values that decide who may do what (the active policy
version) or that carry a GMP approval of their own (video retention) are changed only through
their signed mutations; `setSetting` refuses them and audits the attempt. A setting is GMP
configuration: `setSetting` itself is signed by the system administrator, with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.identity import Setting
from records.readings import STORE_EVERY_KEY
from records.training import ENFORCED_KEY as TRAINING_KEY
from resolvers import alarms, manual_rules, reagents, reauth, signing
from resolvers.context import POLICY_KEY, Context
from resolvers.retest import DEFAULT_QUARANTINE_DAYS
from resolvers.signed import Signatures, SignedRequest, perform
from resolvers.video import SETTING_KEY as VIDEO_RETENTION_KEY


def _int_between(low: int, high: int) -> Callable[[str, Any], None]:
    def check(key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"{key} is a whole number from {low} to {high}")
    return check


def _min_units(key: str, value: Any) -> None:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10_000
            for k, v in value.items()):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{key} maps each product to a number of units (1-10000)")


def _flag(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{key} is true or false")


PLAIN: dict[str, Callable[[str, Any], None]] = {
    alarms.RECIPIENTS_KEY: lambda _k, v: alarms.check_recipients(v),
    alarms.CHATTER_COUNT_KEY: _int_between(2, 20),  # alarms within the window that declare a tag chattering
    alarms.CHATTER_SECONDS_KEY: _int_between(10, 3600),
    "quarantine.days": _int_between(DEFAULT_QUARANTINE_DAYS, 3650),
    "pooling.minUnits": _min_units,
    "audit.review.days": _int_between(1, 366),
    manual_rules.RULES_KEY: manual_rules.check,
    reagents.REMINDER_KEY: _int_between(0, 365),
    reagents.KITS_REQUIRED_KEY: lambda _k, v: reagents.check_kits_required(v),
    TRAINING_KEY: _flag,
    signing.KEY_ROLES_KEY: signing.check_key_roles,
    reauth.ENFORCED_KEY: _flag,
    reauth.CONTINUOUS_KEY: reauth.check_minutes,
    STORE_EVERY_KEY: _int_between(0, 3600),
}

# Keys changed only through their own signed mutation.
GUARDED = {POLICY_KEY: "reloadPolicies", VIDEO_RETENTION_KEY: "setVideoRetentionPolicy"}


async def set_setting(ctx: Context, req: SignedRequest, key: str, value: Any, reason: str) -> Any:
    """Settings are GMP configuration: changed with the administrator's signature and a reason."""
    async def clean() -> None:
        if not reason or not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        check = PLAIN.get(key)
        if check is None:
            via = GUARDED.get(key)
            message = (f"{key} is changed only through the signed {via} mutation" if via
                       else f"{key} is not a setting; known settings: {', '.join(sorted(PLAIN))}")
            raise AppError(ErrorCode.FORBIDDEN if via else ErrorCode.VALIDATION_FAILED, message)
        check(key, value)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> Any:
        row = await s.get(Setting, key)
        if row is None:
            s.add(Setting(key=key, value=value))
        else:
            row.value = value
        await s.flush()
        await signatures.bind(s, "setting", key, {"key": key, "value": value})
        return value

    return await perform(ctx, req, reason=(reason or "").strip(), clean=clean, save=save)
