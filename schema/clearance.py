"""Line clearance: the operator's signature and the reviewer's verification in one request."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import clearance as res
from resolvers.context import Context
from schema.enums import CheckResult
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.input
class CheckItemInput:
    item: str
    result: CheckResult
    note: str | None = None


@strawberry.input
class RecordLineClearanceInput:
    room_code: str
    batch_number: str
    process_step: str
    checklist: list[CheckItemInput]


@strawberry.type
class LineClearance:
    id: strawberry.ID
    room_code: str
    product: str
    process_step: str
    cleared_at: datetime
    passed: bool
    operator: str
    reviewer: str
    checklist: JSON


@strawberry.type
class ClearanceMutation:
    @strawberry.mutation(description="Record a line clearance (B.8); signed PERFORMED and VERIFIED by another "
                                     "person present.", extensions=can("batch:clearance", "write"))
    async def record_line_clearance(self, info: Info[Context, None], input: RecordLineClearanceInput,
                                    signature: SignatureInput, verification: SignatureInput) -> LineClearance:
        items = [res.CheckItem(i.item, i.result, i.note) for i in input.checklist]
        row = await res.record(info.context, signed(info, signature, verification), input.room_code,
                               input.batch_number, input.process_step, items)
        return LineClearance(id=strawberry.ID(str(row.id)), room_code=row.room_code, product=row.product,
                             process_step=row.process_step, cleared_at=row.cleared_at, passed=row.passed,
                             operator=row.operator, reviewer=row.reviewer,
                             checklist=row.checklist)  # type: ignore[arg-type]
