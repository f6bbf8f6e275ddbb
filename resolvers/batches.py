"""Batches created in the plant, not only by the demo's generator: a batch starts from the approved
version of a master recipe on closed plasma pools of the same product (PR-31, PR-36, PR-40)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.plasma import Batch, BatchStatus, Pool, PoolStatus, UnitStatus, batch_pool
from records.recipe import Recipe
from resolvers import recipes
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")


@dataclass(frozen=True)
class Plan:
    recipe: Recipe
    pools: tuple[Pool, ...]


async def _pools(s: AsyncSession, codes: list[str], product: str) -> tuple[Pool, ...]:
    rows = {p.code: p for p in (await s.execute(select(Pool).where(Pool.code.in_(codes))
                                                 .options(selectinload(Pool.units)))).scalars()}
    missing = [c for c in codes if c not in rows]
    if missing:
        raise AppError(ErrorCode.NOT_FOUND, f"no pool {', '.join(missing)}")
    used = set((await s.execute(select(Pool.code).join(batch_pool, batch_pool.c.pool_id == Pool.id)
                                .where(Pool.code.in_(codes)))).scalars())
    problems = [f"{c}: already charged into a batch" for c in codes if c in used]
    for c in codes:
        p = rows[c]
        if p.status != PoolStatus.CLOSED:
            problems.append(f"{c}: {p.status}, not closed")
        if p.product != product:
            problems.append(f"{c}: pooled for {p.product}, not {product}")
        if not p.units or any(u.status != UnitStatus.POOLED for u in p.units):
            problems.append(f"{c}: not every unit in it is QA-released plasma charged into the pool")
    if problems:
        raise AppError(ErrorCode.CONFLICT, "these pools cannot start the batch: " + "; ".join(problems[:5]))
    return tuple(rows[c] for c in codes)


async def create(ctx: Context, req: SignedRequest, batch_number: str, recipe_code: str, pool_codes: list[str],
                 reason: str) -> Batch:
    """A PLANNED batch of the recipe's approved version on the given pools; signed PERFORMED."""
    number = batch_number.strip()

    async def clean() -> Plan:
        if not NUMBER.fullmatch(number):
            raise AppError(ErrorCode.VALIDATION_FAILED, "batchNumber: 1-32 capitals, digits, '_', '.' or '-'")
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        if not pool_codes or len(set(pool_codes)) != len(pool_codes):
            raise AppError(ErrorCode.VALIDATION_FAILED, "name each pool once, at least one")
        async with ctx.db.read() as s:
            recipe = await recipes.approved(s, recipe_code)
            return Plan(recipe, await _pools(s, pool_codes, recipe.product))

    async def save(s: AsyncSession, plan: Plan, signatures: Signatures[Plan]) -> Batch:
        if (await s.execute(select(Batch.id).where(Batch.batch_number == number))).first():
            raise AppError(ErrorCode.CONFLICT, f"batch {number} exists")
        # The approval may have moved on since clean(): the batch records the version in force now.
        recipe = await recipes.approved(s, plan.recipe.code)
        batch = Batch(batch_number=number, product=recipe.product, status=BatchStatus.PLANNED.value,
                      recipe_id=recipe.id)
        s.add(batch)
        await s.flush()
        await s.execute(insert(batch_pool), [{"batch_id": batch.id, "pool_id": p.id} for p in plan.pools])
        await signatures.bind(s, "batch", str(batch.id), {
            "batchNumber": number, "recipe": recipe.code, "recipeVersion": recipe.version,
            "pools": [p.code for p in plan.pools]})
        return batch

    await perform(ctx, req, reason=reason.strip(), clean=clean, save=save,
                  conflict=f"batch {number} was created meanwhile")
    async with ctx.db.read() as s:
        return (await s.execute(select(Batch).where(Batch.batch_number == number)
                                .options(selectinload(Batch.pools), selectinload(Batch.recipe)))).scalar_one()
