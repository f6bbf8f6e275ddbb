"""The authenticated caller, as every layer sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RoleGrant:
    role: str
    site: str = "*"


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    grants: tuple[RoleGrant, ...]
    token_id: int
    token_kind: str = "session"  # noqa: S105 - a kind, not a secret
    scope: dict[str, Any] | None = field(default=None)
    expires_at: datetime | None = None
    # The account belongs to an external party (a role of kind partner): scoped whatever its token.
    partner: bool = False
    # Signed in with a one-time password: only changePassword (and viewer, signOut) until it is replaced.
    password_change_required: bool = False

    @property
    def is_scoped(self) -> bool:
        """A partner's or regulator's access, by scoped token or password: its data is limited to `scope`."""
        return self.partner or self.token_kind == "scoped"  # noqa: S105 - a kind of token, not a secret

    @property
    def roles(self) -> list[str]:
        return sorted({g.role for g in self.grants})
