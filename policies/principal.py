"""The authenticated caller, as every layer sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def is_scoped(self) -> bool:
        """A partner's or regulator's scoped token: its data is limited to `scope`."""
        return self.token_kind == "scoped"  # noqa: S105 - a kind of token, not a secret

    @property
    def roles(self) -> list[str]:
        return sorted({g.role for g in self.grants})
