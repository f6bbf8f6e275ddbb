"""Drug traceability codes: look one up (with its parent and children) and aggregate."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import packaging as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import PackagingLevel
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class PackagingUnit:
    code: str
    level: PackagingLevel
    lot_number: str
    product: str
    parent: str | None
    children: list[str]


@strawberry.input
class AggregatePackagingInput:
    parent_code: str
    child_codes: list[str]


@strawberry.type
class PackagingQuery:
    @strawberry.field(description="A packaging code with its lot, parent and children (scan a case to list it)",
                      extensions=can("trace:graph", "read"))
    async def packaging_unit(self, info: Info[Context, None], code: str) -> PackagingUnit | None:
        v = await res.lookup(info.context, code)
        return of(PackagingUnit, v) if v else None


@strawberry.type
class PackagingMutation:
    @strawberry.mutation(description="Aggregate units into a carton or cartons into a case; signed PERFORMED.",
                         extensions=can("packaging:aggregate", "write"))
    async def aggregate_packaging(self, info: Info[Context, None], input: AggregatePackagingInput,
                                  signature: SignatureInput) -> PackagingUnit:
        return of(PackagingUnit, await res.aggregate(info.context, signed(info, signature), input.parent_code,
                                                     input.child_codes))
