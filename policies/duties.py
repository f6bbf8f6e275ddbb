"""Static separation of duties over role kinds (IT-12, IT-13, IT-15).

Kinds come from policies/roles.csv. Administrators, audit administrators and partner systems
each stand alone: an account holds roles of one kind only, and administrators never hold
business roles.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.authorize import RoleInfo
from policies.errors import AppError, ErrorCode

SOLITARY_KINDS = frozenset({"admin", "audit", "partner"})


def check_role_set(roles: Iterable[str], known: dict[str, RoleInfo]) -> list[str]:
    """Validate a role set for one account; returns it sorted or raises with the rule broken."""
    wanted = sorted(set(roles))
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"unknown roles: {', '.join(unknown)}")
    if not wanted:
        raise AppError(ErrorCode.VALIDATION_FAILED, "an account needs at least one role")
    kinds = {known[r].kind for r in wanted}
    if len(kinds) > 1 and kinds & SOLITARY_KINDS:
        raise AppError(
            ErrorCode.SOD_VIOLATION,
            "administration, audit administration and partner roles cannot be combined with other kinds of role "
            f"(asked for {', '.join(wanted)})",
        )
    return wanted
