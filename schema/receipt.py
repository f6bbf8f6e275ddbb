"""Receipt by scan and printable labels."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import labels
from resolvers import receipt as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import ShipmentStatus
from schema.permissions import can
from schema.plasma import PlasmaUnit, unit_of
from schema.signing import SignatureInput, signed


@strawberry.type(description="One line of a printed label: the field name in English, its stable key and the value")
class LabelLine:
    label: str = strawberry.field(description="The field name in English, as printed")
    value: str = strawberry.field(description="The value as recorded")

    @strawberry.field(description="The field's stable key (camelCase, e.g. quantity, collectedOn), for printing "
                                  "the field name in the reader's language (issue 15)")
    def key(self) -> str:
        return labels.line_key(self.label)


@strawberry.type(description="A printable label (PR-13): name, batch information, the code as Code 128 and QR")
class MaterialLabel:
    material_code: str
    material_name: str
    lines: list[LabelLine]
    code128_svg: str
    qr_svg: str


def label_of(lab: labels.Label) -> MaterialLabel:
    return of(MaterialLabel, lab, lines=[LabelLine(label=k, value=v) for k, v in lab.lines])


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
        return ReceivedUnit(unit=unit_of(u), label=label_of(res.label(u)))


@strawberry.type
class LabelQuery:
    @strawberry.field(description="The label of a received unit, for (re)printing", extensions=can("plasma:unit",
                                                                                                     "read"))
    async def plasma_unit_label(self, info: Info[Context, None], material_code: str) -> MaterialLabel:
        return label_of(await res.unit_label(info.context, material_code))


@strawberry.input
class ClosePlasmaReceiptInput:
    station_code: str
    shipment_code: str


@strawberry.type(description="The receipt and acceptance record of a shipment (PL-07)")
class ReceiptRecord:
    shipment_code: str
    status: ShipmentStatus
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
        return of(ReceiptRecord, ship, shipment_code=ship.code, declared=ship.declared_count or 0,
                  received=ship.received_count or 0, missing=ship.missing or [],
                  refused_scans=ship.refused_scans or [])
