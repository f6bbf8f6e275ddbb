"""User management and settings, for the system administrator."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import settings as settings_res
from resolvers import users as res
from resolvers.context import Context
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class User:
    username: str
    display_name: str
    active: bool
    roles: list[str]
    organisation: str | None = strawberry.field(description="Station or distributor code of a partner account")
    password_change_required: bool

    @classmethod
    def of(cls, u: res.UserView) -> User:
        return cls(username=u.username, display_name=u.display_name, active=u.active, roles=u.roles,
                   organisation=u.organisation, password_change_required=u.password_change_required)


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    roles: list[str]
    reason: str
    organisation: str | None = strawberry.field(
        default=None, description="Station or distributor code: the data a partner account reaches")


@strawberry.type
class CreatedUser:
    user: User
    initial_password: str = strawberry.field(
        description="One-time password, shown only here; the account must change it at its first sign-in")


@strawberry.input
class SetUserRolesInput:
    username: str
    roles: list[str]
    reason: str


@strawberry.input
class SetSettingInput:
    key: str
    value: JSON
    reason: str


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Every account with its roles (system and audit administrators).",
                      extensions=can("user:account", "read"))
    async def users(self, info: Info[Context, None]) -> list[User]:
        return [User.of(u) for u in await res.list_users(info.context)]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(description="Create an account with a one-time password. Signed PERFORMED by the "
                                     "system administrator; granting a GMP role also needs a QA officer's "
                                     "APPROVED signature as `approval`.",
                         extensions=can("user:account", "write"))
    async def create_user(self, info: Info[Context, None], input: CreateUserInput, signature: SignatureInput,
                          approval: SignatureInput | None = None) -> CreatedUser:
        made = await res.create_user(info.context, signed(info, signature, approval), input.username,
                                     input.display_name, input.roles, input.organisation, input.reason)
        return CreatedUser(user=User.of(made.user), initial_password=made.initial_password)

    @strawberry.mutation(description="Replace an account's roles; separation of duties is checked. Signed "
                                     "PERFORMED by the system administrator; adding a GMP role also needs a QA "
                                     "officer's APPROVED signature as `approval`. Nobody changes their own roles.",
                         extensions=can("user:roles", "write"))
    async def set_user_roles(self, info: Info[Context, None], input: SetUserRolesInput, signature: SignatureInput,
                             approval: SignatureInput | None = None) -> User:
        return User.of(await res.set_user_roles(info.context, signed(info, signature, approval), input.username,
                                                input.roles, input.reason))

    @strawberry.mutation(description="Deactivate an account and revoke its tokens; accounts are never deleted.",
                         extensions=can("user:account", "write"))
    async def deactivate_user(self, info: Info[Context, None], username: str, reason: str) -> User:
        return User.of(await res.deactivate_user(info.context, username, reason))

    @strawberry.mutation(description="Change a plain setting, signed PERFORMED by the system administrator "
                                     "(settings that decide who may do what have their own signed mutations).",
                         extensions=can("setting:value", "write"))
    async def set_setting(self, info: Info[Context, None], input: SetSettingInput, signature: SignatureInput) -> JSON:
        value: JSON = await settings_res.set_setting(info.context, signed(info, signature), input.key, input.value,
                                                     input.reason)
        return value
