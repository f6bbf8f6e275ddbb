"""The rules a value entered by hand is entered under, per risk class (PR-04): the setting
`manualEntry.rules` (`{"HIGH": {"attachment": true, "verification": true}, ...}`), changed with the
administrator's signature like every setting; without it, the defaults below."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.identity import Setting
from records.recipe import RiskClass

RULES_KEY = "manualEntry.rules"
KINDS = ("attachment", "verification")
DEFAULT: dict[str, dict[str, bool]] = {
    RiskClass.LOW: {"attachment": False, "verification": False},
    RiskClass.MEDIUM: {"attachment": False, "verification": True},
    RiskClass.HIGH: {"attachment": True, "verification": True},
}


def check(key: str, value: Any) -> None:
    """The setting's shape: every risk class, each with both rules as true or false."""
    if not isinstance(value, dict) or set(value) != set(RiskClass) or not all(
            isinstance(r, dict) and set(r) == set(KINDS) and all(isinstance(v, bool) for v in r.values())
            for r in value.values()):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{key} gives each of {', '.join(RiskClass)} its "
                                                    f"{' and '.join(KINDS)} rules as true or false")


async def rules(s: AsyncSession) -> dict[str, dict[str, bool]]:
    setting = await s.get(Setting, RULES_KEY)
    return dict(setting.value) if setting is not None and setting.value else dict(DEFAULT)


def refusal(entries: list[tuple[str, str, bool]], verified: bool, rules_by_class: dict[str, dict[str, bool]]
            ) -> AppError | None:
    """The first entry (name, risk class, has an attachment) that breaks its class's rule, as the refusal."""
    for name, risk, attached in entries:
        rule = rules_by_class.get(risk, DEFAULT[RiskClass.LOW])
        if rule["attachment"] and not attached:
            return AppError(ErrorCode.VALIDATION_FAILED, f"{name} is a {risk}-risk entry: attach the photo or "
                                                         "printout it was read from (attachmentId)")
        if rule["verification"] and not verified:
            return AppError(ErrorCode.SIGNATURE_REQUIRED, f"{name} is a {risk}-risk entry: a second person "
                                                          "verifies it (verification)")
    return None
