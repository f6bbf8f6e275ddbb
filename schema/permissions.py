"""Permissions declared on fields: `extensions=can("plant:layout", "read")`.

Every guarded field passes through Context.require, the one enforcement point (Casbin roles,
token scope, audited denials); it raises the coded error itself, so a denial never reaches the
resolver and nothing is written.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info


class Can(BasePermission):
    def __init__(self, obj: str, act: str) -> None:
        self.obj = obj
        self.act = act

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.require(self.obj, self.act)
        return True


def can(obj: str, act: str) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[Can(obj, act)], fail_silently=False, use_directives=False)]
