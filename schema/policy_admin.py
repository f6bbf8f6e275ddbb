"""Which policy version is active, and activating a new one (signed)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import policy_admin as res
from resolvers.context import Context
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class PolicyStatus:
    active_fingerprint: str
    on_disk_fingerprint: str = strawberry.field(description="Differs from the active one after the files changed")
    loaded_at: str
    rules: int

    @classmethod
    def of(cls, s: res.PolicyStatus) -> PolicyStatus:
        return cls(active_fingerprint=s.active, on_disk_fingerprint=s.on_disk, loaded_at=s.loaded_at, rules=s.rules)


@strawberry.input
class ReloadPoliciesInput:
    fingerprint: str = strawberry.field(description="The onDiskFingerprint being approved")
    reason: str


@strawberry.type
class PolicyQuery:
    @strawberry.field(extensions=can("setting:policy", "read"))
    async def policy_status(self, info: Info[Context, None]) -> PolicyStatus:
        return PolicyStatus.of(res.status(info.context))


@strawberry.type
class PolicyMutation:
    @strawberry.mutation(description="Activate the policy files on disk: signed PERFORMED by a system "
                                     "administrator and APPROVED by a QA officer (a second person).",
                         extensions=can("setting:policy", "write"))
    async def reload_policies(self, info: Info[Context, None], input: ReloadPoliciesInput,
                              signature: SignatureInput, approval: SignatureInput) -> PolicyStatus:
        return PolicyStatus.of(await res.reload(info.context, signed(info, signature, approval), input.fingerprint,
                                                input.reason))
