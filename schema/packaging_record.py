"""The electronic batch packaging record (B.9)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import packaging_record as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import CheckResult
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class PackagingCheck:
    item: str
    result: CheckResult
    note: str


@strawberry.type(description="A packaging material lot issued to the record, and its reconciliation once closed.")
class PackagingMaterial:
    code: str = strawberry.field(description="The lot's code")
    material_code: str
    name: str
    lot_number: str
    artwork_version: str | None
    issued: float
    unit: str
    used: float | None
    destroyed: float | None
    returned: float | None
    balanced: bool | None


@strawberry.type(description="The electronic batch packaging record of one final lot (B.9).")
class PackagingRecord:
    batch_number: str
    lot_number: str
    line_code: str
    specification: str = strawberry.field(description="B.9 BZGG: the packaged specification")
    units_per_carton: int
    cartons_per_case: int
    product_identifier: str
    checklist: list[PackagingCheck]
    started_at: datetime
    started_by: str
    checked_by: str
    inspected: int | None
    rejected: int | None
    inspection_notes: str | None
    inspected_by: str | None
    units_packed: int
    cases_packed: int
    status: str
    closed_at: datetime | None
    closed_by: str | None
    yield_pct: float | None
    exception: bool
    materials: list[PackagingMaterial]


def record_of(v: res.View) -> PackagingRecord:
    counted: dict[str, dict[str, Any]] = {r["code"]: r for r in v.record.reconciliation or []}
    materials = [PackagingMaterial(code=m.code, material_code=m.material_code, name=m.name, lot_number=m.lot_number,
                                   artwork_version=m.artwork_version, issued=i.issued, unit=m.unit,
                                   used=counted.get(m.code, {}).get("used"),
                                   destroyed=counted.get(m.code, {}).get("destroyed"),
                                   returned=counted.get(m.code, {}).get("returned"),
                                   balanced=counted.get(m.code, {}).get("balanced")) for i, m in v.issues]
    return of(PackagingRecord, v.record, batch_number=v.batch_number, lot_number=v.lot_number, line_code=v.line_code,
              checklist=[of(PackagingCheck, c) for c in v.record.checklist], materials=materials)


@strawberry.input
class PackagingCheckInput:
    item: str
    result: CheckResult
    note: str | None = None


@strawberry.input
class StartPackagingInput:
    batch_number: str
    bulk_code: str = strawberry.field(description="The filled bulk: a released intermediate of the batch")
    lot_number: str
    line_code: str
    specification: str
    units_per_carton: int
    cartons_per_case: int
    product_identifier: str = strawberry.field(description="The 7 digits the product's traceability codes begin with")
    expires_on: date
    checklist: list[PackagingCheckInput] = strawberry.field(description="The pre-packaging check (PR-59)")


@strawberry.input
class IssuePackagingMaterialInput:
    lot_number: str
    material_lot_code: str
    quantity: float


@strawberry.input
class RecordInspectionInput:
    lot_number: str
    inspected: int
    rejected: int
    notes: str | None = None


@strawberry.input
class CartonInput:
    code: str
    units: list[str]


@strawberry.input
class PackCaseInput:
    lot_number: str
    case_code: str
    cartons: list[CartonInput]


@strawberry.input
class ReconciledInput:
    material_lot_code: str
    used: float
    destroyed: float
    returned: float


@strawberry.input
class ClosePackagingInput:
    lot_number: str
    materials: list[ReconciledInput]


@strawberry.type
class PackagingRecordQuery:
    @strawberry.field(description="The packaging record of a final lot (B.9).",
                      extensions=can("batch:packaging", "read"))
    async def packaging_record(self, info: Info[Context, None], lot_number: str) -> PackagingRecord:
        return record_of(await res.read(info.context, lot_number))


@strawberry.type
class PackagingRecordMutation:
    @strawberry.mutation(description="Open the packaging record after the pre-packaging check; signed PERFORMED and "
                                     "VERIFIED by a second person.", extensions=can("batch:packaging", "write"))
    async def start_packaging(self, info: Info[Context, None], input: StartPackagingInput, signature: SignatureInput,
                              verification: SignatureInput) -> PackagingRecord:
        o = res.Opening(input.batch_number, input.bulk_code, input.lot_number, input.line_code, input.specification,
                        input.units_per_carton, input.cartons_per_case, input.product_identifier, input.expires_on,
                        tuple((c.item, c.result.value, c.note) for c in input.checklist))
        return record_of(await res.start(info.context, signed(info, signature, verification), o))

    @strawberry.mutation(description="Issue a packaging material lot of the approved artwork; signed PERFORMED.",
                         extensions=can("batch:packaging", "write"))
    async def issue_packaging_material(self, info: Info[Context, None], input: IssuePackagingMaterialInput,
                                       signature: SignatureInput) -> PackagingRecord:
        return record_of(await res.issue(info.context, signed(info, signature), input.lot_number,
                                         input.material_lot_code, input.quantity))

    @strawberry.mutation(description="The visual inspection's counts (PR-61); signed PERFORMED.",
                         extensions=can("batch:packaging", "write"))
    async def record_inspection(self, info: Info[Context, None], input: RecordInspectionInput,
                                signature: SignatureInput) -> PackagingRecord:
        return record_of(await res.inspect(info.context, signed(info, signature), input.lot_number, input.inspected,
                                           input.rejected, input.notes))

    @strawberry.mutation(description="A case the line packed, with its cartons and units and the codes it printed; "
                                     "signed PERFORMED.", extensions=can("batch:packaging", "write"))
    async def pack_case(self, info: Info[Context, None], input: PackCaseInput,
                        signature: SignatureInput) -> PackagingRecord:
        cartons = [res.Carton(c.code, tuple(c.units)) for c in input.cartons]
        return record_of(await res.pack_case(info.context, signed(info, signature), input.lot_number, input.case_code,
                                             cartons))

    @strawberry.mutation(description="Close the record with the reconciliation of every material issued; signed "
                                     "APPROVED by the production supervisor (PR-63).",
                         extensions=can("batch:packaging", "close"))
    async def close_packaging(self, info: Info[Context, None], input: ClosePackagingInput,
                              signature: SignatureInput) -> PackagingRecord:
        counts = [res.Reconciled(m.material_lot_code, m.used, m.destroyed, m.returned) for m in input.materials]
        return record_of(await res.close(info.context, signed(info, signature), input.lot_number, counts))
