"""Sign-in, sign-out and the viewer."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from resolvers import identity, permissions, reauth, users
from resolvers.context import Context
from schema.permissions import Can


@strawberry.type
class Viewer:
    username: str
    display_name: str
    roles: list[str]
    password_change_required: bool = strawberry.field(
        description="Signed in with a one-time password: only changePassword is allowed until it is replaced")
    permissions: list[str] = strawberry.field(
        description="The \"object:action\" pairs the caller's roles and token scope allow (\"plant:alarm:"
                    "acknowledge\"), for showing only what the caller can do; the server still checks each request")


# The pairs the schema's fields declare with can(...), per schema: read once from its types.
_declared: dict[int, frozenset[tuple[str, str]]] = {}


def declared(schema: strawberry.Schema) -> frozenset[tuple[str, str]]:
    key = id(schema)
    if key not in _declared:
        found: set[tuple[str, str]] = set()
        for t in schema.schema_converter.type_map.values():
            for f in getattr(t.definition, "fields", None) or ():
                for ext in getattr(f, "extensions", None) or ():
                    if isinstance(ext, PermissionExtension):
                        found.update((c.obj, c.act) for c in ext.permissions if isinstance(c, Can))
        _declared[key] = frozenset(found)
    return _declared[key]


@strawberry.type
class SignInPayload:
    token: str
    expires_at: datetime


@strawberry.type
class SigningConfirmation:
    signer: str
    second_person: bool = strawberry.field(description="A second person at the caller's device: one signature")
    valid_until: datetime = strawberry.field(
        description="Own signatures: the end of the continuous period, moved on by each signature")


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="The signed-in caller, or null when the request has no valid token.")
    def viewer(self, info: Info[Context, None]) -> Viewer | None:
        p = info.context.principal
        if p is None:
            return None
        return Viewer(username=p.username, display_name=p.display_name, roles=p.roles,
                      password_change_required=p.password_change_required,
                      permissions=permissions.granted(info.context, declared(info.schema)))


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Exchange a username and password for a bearer token.")
    async def sign_in(self, info: Info[Context, None], username: str, password: str) -> SignInPayload:
        ctx = info.context
        issued = await identity.sign_in(
            ctx.db, username, password, ttl=ctx.services.token_ttl, lockout=ctx.services.lockout,
            client=ctx.client,
        )
        return SignInPayload(token=issued.token, expires_at=issued.expires_at)

    @strawberry.mutation(description="Replace your own password (first of all a one-time one); your other "
                                     "sessions end. The new one follows the password policy.")
    async def change_password(self, info: Info[Context, None], current: str, new: str) -> bool:
        await users.change_password(info.context, current, new)
        return True

    @strawberry.mutation(description="Give a password again before signing (21 CFR 11.200(a)(1)): your own, "
                                     "for the first signature on this session and after a pause longer than "
                                     "the continuous period; or `signer`'s, a second person at your device, "
                                     "for one signature. Audited; wrong passwords count towards lockout.")
    async def reauthenticate(self, info: Info[Context, None], password: str,
                             signer: str | None = None) -> SigningConfirmation:
        done = await reauth.reauthenticate(info.context, password, signer)
        return SigningConfirmation(signer=done.signer, second_person=done.second_person,
                                   valid_until=done.valid_until)

    @strawberry.mutation(description="Revoke the bearer token of this request.")
    async def sign_out(self, info: Info[Context, None]) -> bool:
        ctx = info.context
        await identity.sign_out(ctx.db, ctx.services.bus, ctx.signed_in(), ctx.client)
        return True
