"""Master recipes: versions with their phases, the signed draft -> review -> approval, and a comparison."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import recipes as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import RecipeStatus, RiskClass
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class RecipeMaterial:
    code: str
    name: str
    quantity: float = strawberry.field(description="Theoretical quantity for the recipe's batch size")
    unit: str
    tolerance_pct: float
    artwork_version: str | None = strawberry.field(description="A printed packaging material's approved artwork")


@strawberry.type
class RecipeParameter:
    name: str
    unit: str
    low: float | None
    high: float | None
    tag: str | None = strawberry.field(description="The twin tag it is read from; null: entered by hand")
    alarm_delay_s: float = strawberry.field(description="Outside its limits this long while the phase runs "
                                                        "before it alarms")
    risk: RiskClass = strawberry.field(description="Entered by hand, the rule of this risk class applies (PR-04)")


@strawberry.type
class RecipeControl:
    name: str
    method: str
    unit: str
    low: float | None
    high: float | None
    risk: RiskClass


@strawberry.type(description="One phase (ISA-88: procedure > unit procedure > operation > phase).")
class RecipePhase:
    code: str
    name: str
    unit_procedure: str
    operation: str
    equipment_class: str
    instructions: str
    after: list[str] = strawberry.field(description="Phases that must be complete before this one starts")
    materials: list[RecipeMaterial]
    parameters: list[RecipeParameter]
    controls: list[RecipeControl]
    signatures: list[str] = strawberry.field(description="PERFORMED, and VERIFIED where a second person checks")
    yield_low_pct: float | None
    yield_high_pct: float | None
    output: float | None = strawberry.field(description="The theoretical output for the recipe's batch size")
    output_unit: str | None
    balance_low_pct: float | None
    balance_high_pct: float | None
    sop: str = strawberry.field(description="The code of the controlled SOP the phase is carried out under")

    @strawberry.field(description="The effective version of the phase's SOP, the only one operators see (QM-08); "
                                  "null when the phase names none or it has no effective version.")
    async def effective_sop(self, info: Info[Context, None]) -> EffectiveSop | None:
        if not self.sop:
            return None
        r = await info.context.loaders.effective_document_by_code.load(self.sop)
        return of(EffectiveSop, r) if r is not None else None


@strawberry.type(description="The effective version of a controlled SOP, as an operational view shows it.")
class EffectiveSop:
    code: str
    version: int
    title: str
    effective_date: date | None
    body: str = strawberry.field(description="The SOP's text; empty when its content is a stored file")
    attachment_id: int | None = strawberry.field(description="The stored file of the SOP (attachment), if any")
    content_sha256: str


PHASE_DEFAULTS = {"output": None, "output_unit": None, "balance_low_pct": None, "balance_high_pct": None, "sop": ""}


def _phase(p: dict[str, Any]) -> RecipePhase:
    return of(RecipePhase, {**PHASE_DEFAULTS, **p},
              materials=[of(RecipeMaterial, {"artwork_version": None, **m}) for m in p["materials"]],
              parameters=[of(RecipeParameter, {"alarm_delay_s": 0.0, "risk": "LOW", **x}) for x in p["parameters"]],
              controls=[of(RecipeControl, {"risk": "LOW", **c}) for c in p["controls"]])


@strawberry.type(description="A master recipe version (PR-40).")
class Recipe:
    code: str
    version: int
    product: str
    name: str
    status: RecipeStatus
    change_note: str
    batch_size: float
    batch_unit: str
    specification: str
    phases: list[RecipePhase]
    drafted_by: str
    drafted_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None


def recipe_of(r: res.Recipe) -> Recipe:
    return of(Recipe, r, phases=[_phase(p) for p in r.procedure])


@strawberry.type
class RecipeDifference:
    phase: str | None = strawberry.field(description="The phase's code; null for the recipe's own fields")
    field: str
    before: JSON | None
    after: JSON | None


@strawberry.type
class RecipeComparison:
    code: str
    from_version: int
    to_version: int
    differences: list[RecipeDifference]


@strawberry.input
class RecipeMaterialInput:
    code: str
    name: str
    quantity: float
    unit: str
    tolerance_pct: float
    artwork_version: str | None = None


@strawberry.input
class RecipeParameterInput:
    name: str
    unit: str
    low: float | None = None
    high: float | None = None
    tag: str | None = None
    alarm_delay_s: float = 0
    risk: RiskClass = RiskClass.LOW


@strawberry.input
class RecipeControlInput:
    name: str
    method: str
    unit: str
    low: float | None = None
    high: float | None = None
    risk: RiskClass = RiskClass.LOW


@strawberry.input
class RecipePhaseInput:
    code: str
    name: str
    unit_procedure: str
    operation: str
    equipment_class: str
    instructions: str
    after: list[str] = strawberry.field(default_factory=list)
    materials: list[RecipeMaterialInput] = strawberry.field(default_factory=list)
    parameters: list[RecipeParameterInput] = strawberry.field(default_factory=list)
    controls: list[RecipeControlInput] = strawberry.field(default_factory=list)
    signatures: list[str] = strawberry.field(default_factory=lambda: ["PERFORMED"])
    yield_low_pct: float | None = None
    yield_high_pct: float | None = None
    output: float | None = strawberry.field(default=None, description="The theoretical output for the recipe's "
                                                                      "batch size; yield and balance use it")
    output_unit: str | None = None
    balance_low_pct: float | None = None
    balance_high_pct: float | None = None
    sop: str = strawberry.field(default="", description="The code of the controlled SOP the phase is carried "
                                                        "out under")

    def plain(self) -> res.Phase:
        return res.Phase(
            self.code, self.name, self.unit_procedure, self.operation, self.equipment_class, self.instructions,
            tuple(self.after),
            tuple(res.Material(m.code, m.name, m.quantity, m.unit, m.tolerance_pct, m.artwork_version)
                  for m in self.materials),
            tuple(res.Parameter(x.name, x.unit, x.low, x.high, x.tag, x.alarm_delay_s, x.risk.value)
                  for x in self.parameters),
            tuple(res.Control(c.name, c.method, c.unit, c.low, c.high, c.risk.value) for c in self.controls),
            tuple(self.signatures), self.yield_low_pct, self.yield_high_pct, self.output, self.output_unit,
            self.balance_low_pct, self.balance_high_pct, self.sop.strip())


@strawberry.input
class DraftRecipeInput:
    code: str
    product: str
    name: str
    batch_size: float
    batch_unit: str
    phases: list[RecipePhaseInput]
    specification: str = strawberry.field(default="", description="The product's specification (CPGG), "
                                                                   "e.g. '20 %, 50 mL'")
    change_note: str = strawberry.field(description="What changed from the last version, and why")


@strawberry.input
class RecipeDecisionInput:
    code: str
    version: int
    comment: str


@strawberry.type
class RecipeQuery:
    @strawberry.field(description="Recipe versions by code, newest first.", extensions=can("recipe:master", "read"))
    async def recipes(self, info: Info[Context, None], product: str | None = None,
                      status: RecipeStatus | None = None) -> list[Recipe]:
        return [recipe_of(r) for r in await res.listing(info.context, product, status)]

    @strawberry.field(description="A version; without one, the approved version (else the newest).",
                      extensions=can("recipe:master", "read"))
    async def recipe(self, info: Info[Context, None], code: str, version: int | None = None) -> Recipe | None:
        r = await res.get(info.context, code, version)
        return recipe_of(r) if r is not None else None

    @strawberry.field(description="What changed between two versions, phase by phase.",
                      extensions=can("recipe:master", "read"))
    async def compare_recipes(self, info: Info[Context, None], code: str, from_version: int,
                              to_version: int) -> RecipeComparison:
        _, _, diffs = await res.compare(info.context, code, from_version, to_version)
        return RecipeComparison(code=code, from_version=from_version, to_version=to_version,
                                differences=[of(RecipeDifference, d) for d in diffs])


@strawberry.type
class RecipeMutation:
    @strawberry.mutation(description="Draft a new version (or rewrite the open draft); signed PERFORMED.",
                         extensions=can("recipe:master", "write"))
    async def draft_recipe(self, info: Info[Context, None], input: DraftRecipeInput,
                           signature: SignatureInput) -> Recipe:
        d = res.RecipeDraft(input.code, input.product, input.name, input.batch_size, input.batch_unit,
                            tuple(p.plain() for p in input.phases), input.specification)
        return recipe_of(await res.draft(info.context, signed(info, signature), d, input.change_note))

    @strawberry.mutation(description="Review a draft (not its author); signed REVIEWED.",
                         extensions=can("recipe:master", "review"))
    async def review_recipe(self, info: Info[Context, None], input: RecipeDecisionInput,
                            signature: SignatureInput) -> Recipe:
        return recipe_of(await res.review(info.context, signed(info, signature), input.code, input.version,
                                          input.comment))

    @strawberry.mutation(description="Approve a reviewed version (neither its author nor its reviewer); signed "
                                     "APPROVED. The version approved before is superseded.",
                         extensions=can("recipe:master", "approve"))
    async def approve_recipe(self, info: Info[Context, None], input: RecipeDecisionInput,
                             signature: SignatureInput) -> Recipe:
        return recipe_of(await res.approve(info.context, signed(info, signature), input.code, input.version,
                                           input.comment))
