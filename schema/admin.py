"""User management and settings, for the system administrator."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import users as res
from resolvers.context import Context
from schema.permissions import can


@strawberry.type
class User:
    username: str
    display_name: str
    active: bool
    roles: list[str]

    @classmethod
    def of(cls, u: res.UserView) -> User:
        return cls(username=u.username, display_name=u.display_name, active=u.active, roles=u.roles)


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    password: str
    roles: list[str]


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Every account with its roles (system and audit administrators).",
                      extensions=can("user:account", "read"))
    async def users(self, info: Info[Context, None]) -> list[User]:
        return [User.of(u) for u in await res.list_users(info.context)]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(extensions=can("user:account", "write"))
    async def create_user(self, info: Info[Context, None], input: CreateUserInput, reason: str) -> User:
        return User.of(await res.create_user(
            info.context, input.username, input.display_name, input.password, input.roles, reason))

    @strawberry.mutation(description="Replace an account's roles; separation of duties is checked.",
                         extensions=can("user:roles", "write"))
    async def set_user_roles(self, info: Info[Context, None], username: str, roles: list[str], reason: str) -> User:
        return User.of(await res.set_user_roles(info.context, username, roles, reason))

    @strawberry.mutation(description="Deactivate an account and revoke its tokens; accounts are never deleted.",
                         extensions=can("user:account", "write"))
    async def deactivate_user(self, info: Info[Context, None], username: str, reason: str) -> User:
        return User.of(await res.deactivate_user(info.context, username, reason))

    @strawberry.mutation(extensions=can("setting:value", "write"))
    async def set_setting(self, info: Info[Context, None], key: str, value: JSON, reason: str) -> JSON:
        return await res.set_setting(info.context, key, value, reason)
