"""Receipt by scan and printable labels."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from records.plasma import PlasmaUnit as UnitRow
from resolvers import labels
from resolvers import receipt as res
from resolvers.context import Context
from schema.permissions import can
from schema.plasma import PlasmaUnit
from schema.signing import SignatureInput, signed


@strawberry.type
class LabelLine:
    label: str
    value: str


@strawberry.type(description="A printable label (PR-13): name, batch information, the code as Code 128 and QR")
class MaterialLabel:
    material_code: str
    material_name: str
    lines: list[LabelLine]
    code128_svg: str
    qr_svg: str

    @classmethod
    def of(cls, u: UnitRow) -> MaterialLabel:
        assert u.material_code is not None
        lab = labels.plasma_label(u.material_code, u.donation_number, u.station.name, u.collected_on,
                                  u.received_weight_g or u.weight_g)
        return cls(material_code=lab.material_code, material_name=lab.material_name,
                   lines=[LabelLine(label=k, value=v) for k, v in lab.lines], code128_svg=lab.code128_svg,
                   qr_svg=lab.qr_svg)


@strawberry.input
class ReceivePlasmaUnitInput:
    station_code: str
    shipment_code: str
    scanned_code: str = strawberry.field(description="The donation-number barcode as scanned")
    weight_g: float = strawberry.field(description="Weight measured at receipt")
    storage_location: str


@strawberry.type
class ReceivedUnit:
    unit: PlasmaUnit
    label: MaterialLabel


@strawberry.type
class ReceiptMutation:
    @strawberry.mutation(description="Receive one scanned unit against its shipment manifest; signed PERFORMED.",
                         extensions=can("plasma:receipt", "write"))
    async def receive_plasma_unit(self, info: Info[Context, None], input: ReceivePlasmaUnitInput,
                                  signature: SignatureInput) -> ReceivedUnit:
        u = await res.receive(info.context, signed(info, signature), input.station_code, input.shipment_code,
                              input.scanned_code, input.weight_g, input.storage_location)
        return ReceivedUnit(unit=PlasmaUnit.of(u), label=MaterialLabel.of(u))


@strawberry.type
class LabelQuery:
    @strawberry.field(description="The label of a received unit, for (re)printing", extensions=can("plasma:unit",
                                                                                                     "read"))
    async def plasma_unit_label(self, info: Info[Context, None], material_code: str) -> MaterialLabel:
        async with info.context.db.read() as s:
            u = (await s.execute(select(UnitRow).where(UnitRow.material_code == material_code)
                                 .options(selectinload(UnitRow.station)))).scalar_one_or_none()
        if info.context.signed_in().is_scoped:  # labels are internal; checked first so nothing leaks
            raise AppError(ErrorCode.OUT_OF_SCOPE, "labels are not within your access")
        if u is None:
            raise AppError(ErrorCode.NOT_FOUND, "no such material code")
        return MaterialLabel.of(u)


@strawberry.input
class ClosePlasmaReceiptInput:
    station_code: str
    shipment_code: str


@strawberry.type(description="The receipt and acceptance record of a shipment (PL-07)")
class ReceiptRecord:
    shipment_code: str
    status: str
    closed_by: str | None
    declared: int
    received: int
    missing: list[str]
    refused_scans: list[str]


@strawberry.type
class ReceiptCloseMutation:
    @strawberry.mutation(description="Close receipt: units never scanned become MISSING, the station is told; "
                                     "signed PERFORMED.", extensions=can("plasma:receipt", "write"))
    async def close_plasma_receipt(self, info: Info[Context, None], input: ClosePlasmaReceiptInput,
                                   signature: SignatureInput) -> ReceiptRecord:
        ship = await res.close(info.context, signed(info, signature), input.station_code, input.shipment_code)
        return ReceiptRecord(shipment_code=ship.code, status=ship.status, closed_by=ship.closed_by,
                             declared=ship.declared_count or 0, received=ship.received_count or 0,
                             missing=ship.missing or [], refused_scans=ship.refused_scans or [])
