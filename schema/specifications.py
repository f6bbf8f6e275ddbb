"""Electronic specifications (QC-03, QC-05): versions with their test items, the signed draft -> approval,
and a preview of the automatic judgement of a result (QC-04). Limits and values travel as decimal text, so
nothing is rounded on the way by a float."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import specifications as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import RoundingKind, SpecificationStatus, SubjectKind, Verdict
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="One test item of a specification.")
class SpecificationItem:
    name: str
    method: str = strawberry.field(description="The test method: the SOP or pharmacopoeia reference")
    unit: str
    low: str | None = strawberry.field(description="Low limit, a decimal as text")
    high: str | None = strawberry.field(description="High limit, a decimal as text")
    low_inclusive: bool
    high_inclusive: bool
    action_low: str | None = strawberry.field(description="Internal action limit inside the low limit")
    action_high: str | None = strawberry.field(description="Internal action limit inside the high limit")
    expected: str | None = strawberry.field(description="A text item's expected result, e.g. 'negative'")
    rounding: RoundingKind | None = strawberry.field(description="The GB/T 8170 rounding rule of the result")
    precision: int | None = strawberry.field(description="Decimal places or significant figures reported")
    interval: str | None = strawberry.field(description="INTERVAL rounding: 1, 2 or 5 x 10^n, e.g. '0.5'")
    formula: str | None = strawberry.field(description="A preset formula over named inputs (QC-10), e.g. "
                                                   "'(a - b) / m * 1000'; the result is computed from them")


@strawberry.type(description="A specification version of a material, intermediate or product (QC-03).")
class Specification:
    code: str = strawberry.field(description="The specification's number")
    version: int
    title: str
    subject_kind: SubjectKind
    subject_code: str
    effective_date: date | None
    status: SpecificationStatus
    change_note: str
    items: list[SpecificationItem]
    drafted_by: str
    drafted_at: datetime
    approved_by: str | None
    approved_at: datetime | None


def specification_of(r: res.Specification) -> Specification:
    return of(Specification, r, items=[of(SpecificationItem, i) for i in res.stored_items(r)])


@strawberry.type(description="A result judged against a specification item (QC-04).")
class Judgement:
    reported: str = strawberry.field(description="The value as reported: rounded by the item's GB/T 8170 rule")
    verdict: Verdict
    reason: str


@strawberry.input
class SpecificationItemInput:
    name: str
    method: str = ""
    unit: str = ""
    low: str | None = None
    high: str | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    action_low: str | None = None
    action_high: str | None = None
    expected: str | None = None
    rounding: RoundingKind | None = None
    precision: int | None = None
    interval: str | None = None
    formula: str | None = None

    def plain(self) -> res.SpecItem:
        fields: dict[str, Any] = {k: getattr(self, k) for k in (
            "name", "method", "unit", "low", "high", "low_inclusive", "high_inclusive", "action_low",
            "action_high", "expected", "precision", "interval", "formula")}
        return res.SpecItem(**fields, rounding=self.rounding.value if self.rounding else None)


@strawberry.input
class CreateSpecificationInput:
    code: str = strawberry.field(description="The specification's number")
    subject_kind: SubjectKind
    subject_code: str = strawberry.field(description="The material, intermediate or product code")
    title: str = ""
    effective_date: date | None = None
    items: list[SpecificationItemInput] = strawberry.field(default_factory=list)
    change_note: str = strawberry.field(description="What changed from the last version, and why")


@strawberry.input
class SpecificationDecisionInput:
    code: str
    version: int
    comment: str


@strawberry.type
class SpecificationQuery:
    @strawberry.field(description="Specification versions, by code and newest first.",
                      extensions=can("quality:specification", "read"))
    async def specifications(self, info: Info[Context, None], subject_code: str | None = None,
                             status: SpecificationStatus | None = None) -> list[Specification]:
        return [specification_of(r) for r in await res.listing(info.context, subject_code, status)]

    @strawberry.field(description="A version; without one, the effective version (else the newest).",
                      extensions=can("quality:specification", "read"))
    async def specification(self, info: Info[Context, None], code: str,
                            version: int | None = None) -> Specification | None:
        r = await res.get(info.context, code, version)
        return specification_of(r) if r is not None else None

    @strawberry.field(description="Preview the automatic judgement of a raw result against an item: rounded by "
                                  "its rule, the rounded value judged. Nothing is recorded.",
                      extensions=can("quality:specification", "read"))
    async def judge_result(self, info: Info[Context, None], specification_code: str, item: str, value: str,
                           version: int | None = None) -> Judgement:
        j = await res.judge_result(info.context, specification_code, version, item, value)
        return of(Judgement, j)


@strawberry.type
class SpecificationMutation:
    @strawberry.mutation(description="Draft a new version (or rewrite the open draft); signed PERFORMED.",
                         extensions=can("quality:specification", "write"))
    async def create_specification(self, info: Info[Context, None], input: CreateSpecificationInput,
                                   signature: SignatureInput) -> Specification:
        d = res.SpecificationDraft(input.code, input.subject_kind.value, input.subject_code, input.title,
                                   input.effective_date, tuple(i.plain() for i in input.items))
        return specification_of(await res.create(info.context, signed(info, signature), d, input.change_note))

    @strawberry.mutation(description="Approve a complete draft (not its author); signed APPROVED. It becomes the "
                                     "effective version of its subject; the one effective before is superseded.",
                         extensions=can("quality:specification", "approve"))
    async def approve_specification(self, info: Info[Context, None], input: SpecificationDecisionInput,
                                    signature: SignatureInput) -> Specification:
        return specification_of(await res.approve(info.context, signed(info, signature), input.code,
                                                  input.version, input.comment))
