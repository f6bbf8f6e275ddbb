"""Material lots (B.3) and weighings (B.4): receipt, QA decision, scan lookup, weighing with its label."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import materials as res
from resolvers import weighing as weigh_res
from resolvers.context import Context
from schema.convert import of
from schema.enums import MaterialKind, MaterialStatus, ValueSource
from schema.node import Node
from schema.permissions import can
from schema.receipt import MaterialLabel, label_of
from schema.signing import SignatureInput, signed


@strawberry.type(description="A lot of a raw material, excipient or packaging material (B.3).")
class MaterialLot(Node):
    code: str = strawberry.field(description="The lot's code on its label (TMBH), from the material-code generator")
    kind: MaterialKind
    material_code: str = strawberry.field(description="WLBM")
    name: str = strawberry.field(description="WLMC")
    lot_number: str = strawberry.field(description="WLPH: the internal batch number")
    supplier: str
    supplier_lot: str | None
    artwork_version: str | None
    quantity: float
    remaining: float
    unit: str
    manufactured_on: date | None
    expires_on: date
    received_at: datetime
    received_by: str
    status: MaterialStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    _row: strawberry.Private[res.MaterialLot]

    @strawberry.field(description="The lot's label (PR-13), drawn when asked for")
    def label(self) -> MaterialLabel:
        return label_of(res.label(self._row))


def lot_of(lot: res.MaterialLot) -> MaterialLot:
    return of(MaterialLot, lot, _row=lot)


@strawberry.type(description="A weighing of a batch (B.4), with the weighed portion's label.")
class Weighing:
    batch_number: str
    phase_code: str
    product: str
    specification: str
    material_code: str
    material_name: str
    material_lot_code: str
    material_lot_number: str
    scanned: bool = strawberry.field(description="False: the lot's code was typed, not scanned (PR-14)")
    scale_code: str
    scale_name: str
    scale_calibration: str = strawberry.field(description="CJZT as it was when weighed")
    scale_precision: str | None
    tare: float
    gross: float
    net: float
    unit: str
    target: float
    tolerance_pct: float
    source: ValueSource = strawberry.field(description="TWIN: read from the scale's tag; MANUAL: read by a person")
    reading_at: datetime | None
    manual_reason: str | None
    evidence: str | None
    attachment_id: int | None
    weighed_at: datetime
    weighed_by: str
    verified_by: str
    label_code: str
    label: MaterialLabel


def weighing_of(v: weigh_res.WeighingView) -> Weighing:
    return of(Weighing, v.weighing, batch_number=v.batch_number, product=v.product, specification=v.specification,
              material_name=v.material_name, material_lot_code=v.lot.code, material_lot_number=v.lot.lot_number,
              scale_code=v.scale.code, scale_name=v.scale.name, label=label_of(v.label))


@strawberry.input
class ReceiveMaterialInput:
    kind: MaterialKind
    material_code: str
    name: str
    lot_number: str
    supplier: str
    quantity: float
    unit: str
    expires_on: date
    supplier_lot: str | None = None
    manufactured_on: date | None = None
    artwork_version: str | None = strawberry.field(default=None, description="Packaging materials only (PR-60)")


@strawberry.input
class DecideMaterialInput:
    code: str
    decision: MaterialStatus = strawberry.field(description="RELEASED or REJECTED")
    reason: str


@strawberry.input
class WeighMaterialInput:
    batch_number: str
    phase_code: str
    lot_code: str = strawberry.field(description="The lot's code as scanned from its label")
    scanned: bool = strawberry.field(default=True, description="False when the code was typed (flagged, PR-14)")
    scale_code: str
    tare: float
    gross: float | None = strawberry.field(default=None, description="Only when the scale gives no weight: "
                                                                     "read by hand, with reason and evidence")
    reason: str | None = None
    evidence: str | None = strawberry.field(default=None, description="What the evidence shows, in words")
    attachment_id: strawberry.ID | None = strawberry.field(default=None, description="By hand: the uploaded photo "
                                                                                      "or printout of the display")


@strawberry.type
class MaterialQuery:
    @strawberry.field(description="A scanned lot code: the lot as it is now (PR-11).",
                      extensions=can("material:lot", "read"))
    async def material_lot(self, info: Info[Context, None], code: str) -> MaterialLot | None:
        lot = await res.lookup(info.context, code)
        return lot_of(lot) if lot else None

    @strawberry.field(description="Lots, newest first (at most 500).", extensions=can("material:lot", "read"))
    async def material_lots(self, info: Info[Context, None], material_code: str | None = None,
                            status: MaterialStatus | None = None) -> list[MaterialLot]:
        return [lot_of(x) for x in await res.listing(info.context, material_code, status)]

    @strawberry.field(description="A batch's weighings in order (PR-46).", extensions=can("batch:phase", "read"))
    async def batch_weighings(self, info: Info[Context, None], batch_number: str) -> list[Weighing]:
        return [weighing_of(v) for v in await weigh_res.weighings(info.context, batch_number)]


@strawberry.type
class MaterialMutation:
    @strawberry.mutation(description="Receive a lot into quarantine under a new code; signed PERFORMED.",
                         extensions=can("material:lot", "write"))
    async def receive_material(self, info: Info[Context, None], input: ReceiveMaterialInput,
                               signature: SignatureInput) -> MaterialLot:
        r = res.Receipt(input.kind, input.material_code, input.name, input.lot_number, input.supplier,
                        input.supplier_lot, input.quantity, input.unit, input.manufactured_on, input.expires_on,
                        input.artwork_version)
        return lot_of(await res.receive(info.context, signed(info, signature), r))

    @strawberry.mutation(description="Release or reject a quarantined lot; signed APPROVED by QA.",
                         extensions=can("material:lot", "decide"))
    async def decide_material(self, info: Info[Context, None], input: DecideMaterialInput,
                              signature: SignatureInput) -> MaterialLot:
        lot = await res.decide(info.context, signed(info, signature), input.code, input.decision, input.reason)
        return lot_of(lot)

    @strawberry.mutation(description="Weigh a material of a batch's phase on a scale; signed PERFORMED by the "
                                     "weigher and VERIFIED by a second person.",
                         extensions=can("batch:weighing", "write"))
    async def weigh_material(self, info: Info[Context, None], input: WeighMaterialInput, signature: SignatureInput,
                             verification: SignatureInput) -> Weighing:
        w = weigh_res.Weigh(input.batch_number, input.phase_code, input.lot_code, input.scanned, input.scale_code,
                            input.tare, input.gross, input.reason, input.evidence,
                            str(input.attachment_id) if input.attachment_id else None)
        return weighing_of(await weigh_res.weigh(info.context, signed(info, signature, verification), w))
