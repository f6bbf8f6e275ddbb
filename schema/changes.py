"""Change control (QM-10): change requests with their impact assessment, QA's decision, implementation and
closure, each signed, linked to the documents, specifications and recipes they change."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import changes as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import ChangeStatus, ChangeTarget
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="What a change request changes.")
class ChangeTargetRef:
    kind: ChangeTarget
    code: str


@strawberry.type(description="A change request (QM-10).")
class ChangeRequest:
    number: str
    title: str
    description: str
    reason: str
    impact: str = strawberry.field(description="The impact assessment")
    targets: list[ChangeTargetRef]
    status: ChangeStatus
    raised_by: str
    raised_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str | None
    implemented_by: str | None
    implemented_at: datetime | None
    implementation: str | None
    closed_by: str | None
    closed_at: datetime | None
    closure: str | None


def change_of(r: res.ChangeRequest) -> ChangeRequest:
    return of(ChangeRequest, r, targets=[of(ChangeTargetRef, t) for t in r.targets])


@strawberry.input
class ChangeTargetInput:
    kind: ChangeTarget
    code: str


@strawberry.input
class RaiseChangeInput:
    title: str
    description: str
    reason: str
    impact: str = strawberry.field(description="The impact assessment: product, validation, documents, training")
    targets: list[ChangeTargetInput]


@strawberry.input
class DecideChangeInput:
    number: str
    approved: bool
    comment: str


@strawberry.input
class ChangeStepInput:
    number: str
    comment: str


@strawberry.type
class ChangeQuery:
    @strawberry.field(description="Change requests, newest first; with targetCode, those that change it.",
                      extensions=can("quality:change", "read"))
    async def change_requests(self, info: Info[Context, None], status: ChangeStatus | None = None,
                              target_code: str | None = None) -> list[ChangeRequest]:
        rows = await res.listing(info.context, status.value if status else None, target_code)
        return [change_of(r) for r in rows]


@strawberry.type
class ChangeMutation:
    @strawberry.mutation(description="Raise a change request; signed PERFORMED.",
                         extensions=can("quality:change", "write"))
    async def raise_change(self, info: Info[Context, None], input: RaiseChangeInput,
                           signature: SignatureInput) -> ChangeRequest:
        d = res.ChangeDraft(input.title, input.description, input.reason, input.impact,
                            tuple(res.Target(t.kind.value, t.code) for t in input.targets))
        return change_of(await res.raise_change(info.context, signed(info, signature), d))

    @strawberry.mutation(description="QA approves or rejects an open change request (not whoever raised it); "
                                     "signed APPROVED.", extensions=can("quality:change", "approve"))
    async def decide_change(self, info: Info[Context, None], input: DecideChangeInput,
                            signature: SignatureInput) -> ChangeRequest:
        return change_of(await res.decide(info.context, signed(info, signature), input.number, input.approved,
                                          input.comment))

    @strawberry.mutation(description="Record how an approved change was carried out; signed PERFORMED.",
                         extensions=can("quality:change", "write"))
    async def implement_change(self, info: Info[Context, None], input: ChangeStepInput,
                               signature: SignatureInput) -> ChangeRequest:
        return change_of(await res.implement(info.context, signed(info, signature), input.number, input.comment))

    @strawberry.mutation(description="QA closes an implemented change; signed APPROVED.",
                         extensions=can("quality:change", "approve"))
    async def close_change(self, info: Info[Context, None], input: ChangeStepInput,
                           signature: SignatureInput) -> ChangeRequest:
        return change_of(await res.close(info.context, signed(info, signature), input.number, input.comment))
