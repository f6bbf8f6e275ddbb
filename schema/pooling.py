"""Pooling QA-released plasma for production, verified by a second person."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import pooling as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import PoolStatus
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.input
class ChargePoolInput:
    pool_code: str
    product: str
    donation_numbers: list[str]
    picking_list_code: str | None = strawberry.field(default=None, description="The picking list the units were "
                                                     "picked from (PR-34): they must be exactly its picked units, and "
                                                     "the list closes")


@strawberry.type
class PoolResult:
    code: str
    product: str
    status: PoolStatus
    pooled_at: datetime | None
    units: int


@strawberry.type
class PoolingMutation:
    @strawberry.mutation(description="Pool QA-released units, each with a retained sample; signed PERFORMED and "
                                     "VERIFIED.", extensions=can("plasma:pool", "write"))
    async def charge_pool(self, info: Info[Context, None], input: ChargePoolInput, signature: SignatureInput,
                          verification: SignatureInput) -> PoolResult:
        pool = await res.charge(info.context, signed(info, signature, verification), input.pool_code, input.product,
                                input.donation_numbers, input.picking_list_code)
        return of(PoolResult, pool, status=PoolStatus(pool.status), units=len(input.donation_numbers))
