"""Batches made in the plant: created from an approved master recipe on closed plasma pools."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import batches as res
from resolvers.context import Context
from schema.permissions import can
from schema.plasma import Batch, batch_of
from schema.signing import SignatureInput, signed


@strawberry.input
class CreateBatchInput:
    batch_number: str
    recipe_code: str = strawberry.field(description="The master recipe; its approved version is used")
    pool_codes: list[str]
    reason: str


@strawberry.type
class BatchMutation:
    @strawberry.mutation(description="Plan a batch from the approved version of a master recipe on closed pools of "
                                     "its product; signed PERFORMED.", extensions=can("batch:record", "create"))
    async def create_batch(self, info: Info[Context, None], input: CreateBatchInput,
                           signature: SignatureInput) -> Batch:
        b = await res.create(info.context, signed(info, signature), input.batch_number, input.recipe_code,
                             input.pool_codes, input.reason)
        return batch_of(b)
