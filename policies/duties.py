"""Separation of duties (IT-12, IT-13, IT-15, IT-23), as Casbin deny rules in policies/duties.csv.

Static rules check the role set of an account; dynamic rules check one record's history
(who performed, who signed, who raised it) against the person acting now.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import casbin

from policies.authorize import RoleInfo
from policies.errors import AppError, ErrorCode

HERE = Path(__file__).resolve().parent
SOLITARY_KINDS = frozenset({"admin", "audit", "partner", "service"})


class Duties:
    def __init__(self, model: Path = HERE / "duties.conf", policy: Path = HERE / "duties.csv") -> None:
        self.enforcer = casbin.Enforcer(str(model), str(policy))

    def allows(self, username: str, action: str, **record: Any) -> bool:
        return bool(self.enforcer.enforce(username, action, SimpleNamespace(**record)))

    def require(self, username: str, action: str, message: str, **record: Any) -> None:
        if not self.allows(username, action, **record):
            raise AppError(ErrorCode.SOD_VIOLATION, message)


_default: Duties | None = None


def duties() -> Duties:
    global _default
    if _default is None:
        _default = Duties()
    return _default


def check_role_set(roles: Iterable[str], known: dict[str, RoleInfo], rules: Duties | None = None) -> list[str]:
    """Validate a role set for one account; returns it sorted or raises with the rule broken."""
    wanted = sorted(set(roles))
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"unknown roles: {', '.join(unknown)}")
    if not wanted:
        raise AppError(ErrorCode.VALIDATION_FAILED, "an account needs at least one role")
    kinds = {known[r].kind for r in wanted}
    (rules or duties()).require(
        "*", "hold_roles",
        "administration, audit administration and partner roles cannot be combined with other kinds of role "
        f"(asked for {', '.join(wanted)})",
        kinds=len(kinds), solitary=len(kinds & SOLITARY_KINDS),
    )
    return wanted
