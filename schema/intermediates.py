"""Intermediate products (B.5): recorded, labelled, stored, sampled, charged, decided by QA."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import intermediates as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import LotStatus, MovementKind
from schema.permissions import can
from schema.receipt import MaterialLabel, label_of
from schema.signing import SignatureInput, signed


@strawberry.type(description="An intermediate product (B.5): ZJPMC name, ZJPPH batch, CCWZ location, YXQZ expiry, "
                             "ZLZT quality status.")
class IntermediateProduct:
    code: str
    name: str
    material_code: str | None
    batch_number: str
    product: str
    phase_code: str | None
    amount: float | None
    remaining: float | None
    unit: str | None
    storage_conditions: str | None
    expires_on: date | None
    expired: bool = strawberry.field(description="Past its expiry: flagged, and it does not leave the store")
    status: LotStatus | None = strawberry.field(description="QUARANTINE, RELEASED or REJECTED")
    location: str | None = strawberry.field(description="Where it is stored; null while out of store")
    made_at: datetime | None
    made_by: str | None
    label: MaterialLabel


def product_of(v: res.View) -> IntermediateProduct:
    return of(IntermediateProduct, v.intermediate, name=v.intermediate.kind, batch_number=v.batch_number,
              product=v.product, expired=v.expired, label=label_of(res.label(v)))


@strawberry.type(description="One movement of an intermediate's stock (B.5).")
class IntermediateMovement:
    kind: MovementKind
    at: datetime
    by: str
    reviewer: str | None
    location: str | None
    quantity: float | None
    phase_code: str | None


@strawberry.input
class RecordIntermediateInput:
    batch_number: str
    phase_code: str = strawberry.field(description="The phase that made it")
    material_code: str = strawberry.field(description="The code the recipe's later phases use for it")
    name: str
    amount: float
    unit: str
    storage_conditions: str = strawberry.field(description="For the label, e.g. '2-8 °C, protected from light'")
    expires_on: date


@strawberry.input
class MoveIntermediateInput:
    code: str
    kind: MovementKind
    location: str | None = strawberry.field(default=None, description="STOCK_IN and RETURN: a registered location, "
                                                                      "ROOM-PLACE")
    quantity: float | None = strawberry.field(default=None, description="SAMPLE and CHARGE")
    batch_number: str | None = strawberry.field(default=None, description="CHARGE: the batch it goes into")
    phase_code: str | None = strawberry.field(default=None, description="CHARGE: the phase it goes into")


@strawberry.input
class DecideIntermediateInput:
    code: str
    decision: LotStatus = strawberry.field(description="RELEASED or REJECTED")
    reason: str


@strawberry.type
class IntermediateQuery:
    @strawberry.field(description="Intermediates of a batch or in a location (a room or a place in it), as they are "
                                  "now (PR-24, PR-54).", extensions=can("batch:intermediate", "read"))
    async def intermediates(self, info: Info[Context, None], batch_number: str | None = None,
                            location: str | None = None) -> list[IntermediateProduct]:
        return [product_of(v) for v in await res.stock(info.context, batch_number, location)]

    @strawberry.field(description="An intermediate's movements, oldest first.",
                      extensions=can("batch:intermediate", "read"))
    async def intermediate_movements(self, info: Info[Context, None], code: str) -> list[IntermediateMovement]:
        return [of(IntermediateMovement, m) for m in await res.movements(info.context, code)]


@strawberry.type
class IntermediateMutation:
    @strawberry.mutation(description="Record an intermediate made by a phase; signed PERFORMED.",
                         extensions=can("batch:intermediate", "write"))
    async def record_intermediate(self, info: Info[Context, None], input: RecordIntermediateInput,
                                  signature: SignatureInput) -> IntermediateProduct:
        made = res.Made(input.batch_number, input.phase_code, input.material_code, input.name, input.amount,
                        input.unit, input.storage_conditions, input.expires_on)
        return product_of(await res.record(info.context, signed(info, signature), made))

    @strawberry.mutation(description="Move an intermediate's stock; signed PERFORMED, a CHARGE also VERIFIED by a "
                                     "second person.", extensions=can("batch:intermediate", "write"))
    async def move_intermediate(self, info: Info[Context, None], input: MoveIntermediateInput,
                                signature: SignatureInput,
                                verification: SignatureInput | None = None) -> IntermediateProduct:
        mv = res.Move(input.code, input.kind, input.location, input.quantity, input.batch_number, input.phase_code)
        return product_of(await res.move(info.context, signed(info, signature, verification), mv))

    @strawberry.mutation(description="Release or reject an intermediate; signed APPROVED by QA.",
                         extensions=can("batch:intermediate", "decide"))
    async def decide_intermediate(self, info: Info[Context, None], input: DecideIntermediateInput,
                                  signature: SignatureInput) -> IntermediateProduct:
        if input.decision not in ("RELEASED", "REJECTED"):
            from resolvers.checks import invalid

            raise invalid("decision: RELEASED or REJECTED")
        v = await res.decide(info.context, signed(info, signature), input.code, res.LotStatus(input.decision),
                             input.reason)
        return product_of(v)
