"""Drug traceability codes: look one up (with its parent and children) and aggregate."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from resolvers import packaging as res
from resolvers.context import Context
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class PackagingUnit:
    code: str
    level: str = strawberry.field(description="UNIT, CARTON or CASE")
    lot_number: str
    product: str
    parent: str | None
    children: list[str]

    @classmethod
    def of(cls, v: res.PackView) -> PackagingUnit:
        return cls(code=v.code, level=v.level, lot_number=v.lot_number, product=v.product, parent=v.parent,
                   children=v.children)


@strawberry.input
class AggregatePackagingInput:
    parent_code: str
    child_codes: list[str]


@strawberry.type
class PackagingQuery:
    @strawberry.field(description="A packaging code with its lot, parent and children (scan a case to list it)",
                      extensions=can("trace:graph", "read"))
    async def packaging_unit(self, info: Info[Context, None], code: str) -> PackagingUnit | None:
        if info.context.signed_in().is_scoped:
            raise AppError(ErrorCode.OUT_OF_SCOPE, "use traceBackward for scoped access to packaging codes")
        async with info.context.db.read() as s:
            v = await res.view(s, code)
        return PackagingUnit.of(v) if v else None


@strawberry.type
class PackagingMutation:
    @strawberry.mutation(description="Aggregate units into a carton or cartons into a case; signed PERFORMED.",
                         extensions=can("packaging:aggregate", "write"))
    async def aggregate_packaging(self, info: Info[Context, None], input: AggregatePackagingInput,
                                  signature: SignatureInput) -> PackagingUnit:
        return PackagingUnit.of(await res.aggregate(info.context, signed(info, signature), input.parent_code,
                                                    input.child_codes))
