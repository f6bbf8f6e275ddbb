"""Plasma stations declare shipments; the answer is a per-row report."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from resolvers import manifest_files
from resolvers import shipments as res
from resolvers.context import Context
from schema.enums import RowOutcome
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.input
class ShipmentUnitInput:
    donation_number: str
    donor_card_number: str
    blood_type: str
    collected_on: date
    weight_g: float


@strawberry.input
class SubmitPlasmaShipmentInput:
    station_code: str
    shipment_code: str
    units: list[ShipmentUnitInput]


@strawberry.type
class ShipmentRow:
    row: int
    donation_number: str
    result: RowOutcome
    code: str | None
    reason: str | None


@strawberry.type
class ShipmentReport:
    shipment_code: str
    station_code: str
    accepted: int
    duplicates: int
    rejected: int
    rows: list[ShipmentRow]


def _report(rep: res.ShipmentReport) -> ShipmentReport:
    return ShipmentReport(
        shipment_code=rep.shipment_code, station_code=rep.station_code, accepted=rep.count("ACCEPTED"),
        duplicates=rep.count("DUPLICATE"), rejected=rep.count("REJECTED"),
        rows=[ShipmentRow(row=r.row, donation_number=r.donation_number, result=r.result, code=r.code,
                          reason=r.reason) for r in rep.rows])


@strawberry.type
class ShipmentMutation:
    @strawberry.mutation(description="Declare a shipment of plasma units (station partners); signed PERFORMED.",
                         extensions=can("plasma:shipment", "write"))
    async def submit_plasma_shipment(self, info: Info[Context, None], input: SubmitPlasmaShipmentInput,
                                     signature: SignatureInput) -> ShipmentReport:
        rows = [res.UnitRow(u.donation_number, u.donor_card_number, u.blood_type, u.collected_on, u.weight_g)
                for u in input.units]
        rep = await res.submit(info.context, signed(info, signature), input.station_code, input.shipment_code,
                               rows)
        return _report(rep)


@strawberry.input
class SubmitPlasmaShipmentFileInput:
    station_code: str
    shipment_code: str
    format: str = strawberry.field(description="CSV (header: donation_number, donor_card_number, blood_type, "
                                               "collected_on, weight_g) or JSON (a list of such objects)")
    content: str = strawberry.field(description="The file's text; the signature covers it as sent")


@strawberry.type
class ShipmentFileMutation:
    @strawberry.mutation(description="Declare a shipment from a station system's manifest file; per-line report.",
                         extensions=can("plasma:shipment", "write"))
    async def submit_plasma_shipment_file(self, info: Info[Context, None], input: SubmitPlasmaShipmentFileInput,
                                          signature: SignatureInput) -> ShipmentReport:
        parsed = manifest_files.parse(input.content, input.format.upper())
        rep = await res.submit(info.context, signed(info, signature), input.station_code, input.shipment_code,
                               parsed.rows, line_numbers=parsed.lines, parse_errors=parsed.errors)
        return _report(rep)
