"""Master recipes (PR-40): drafted, reviewed and approved by three people, each step signed; only an
approved version starts a batch, and a change is a new version that can be compared with another.

The content is checked as a whole when drafted: phase codes unique, each dependency on an earlier
phase (so the order is a valid sequence and there are no cycles), quantities, tolerances and limits
that make sense, and the signatures each phase needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plant import Sensor
from records.recipe import Recipe as Recipe
from records.recipe import RecipeStatus as RecipeStatus  # the value list, for the schema
from records.recipe import RiskClass as RiskClass
from resolvers import versions
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
PHASE_MEANINGS = ("PERFORMED", "VERIFIED")  # what a phase's completion may need: the operator, a checker
MAX_PHASES = 200


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    quantity: float  # for the recipe's batch size
    unit: str
    tolerance_pct: float
    artwork_version: str | None = None  # a printed packaging material's approved artwork (PR-60)


@dataclass(frozen=True)
class Parameter:
    """A critical process parameter: its limits and the twin tag it is read from (None: entered by hand)."""

    name: str
    unit: str
    low: float | None
    high: float | None
    tag: str | None = None
    alarm_delay_s: float = 0  # outside its limits this long while the phase runs before it alarms (PR-51)
    risk: str = RiskClass.LOW.value  # entered by hand: the rule of its risk class applies (PR-04)


@dataclass(frozen=True)
class Control:
    """An in-process control: what is measured, how, and its acceptance limits."""

    name: str
    method: str
    unit: str
    low: float | None
    high: float | None
    risk: str = RiskClass.LOW.value


@dataclass(frozen=True)
class Phase:
    code: str
    name: str
    unit_procedure: str
    operation: str
    equipment_class: str
    instructions: str
    after: tuple[str, ...] = ()
    materials: tuple[Material, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    controls: tuple[Control, ...] = ()
    signatures: tuple[str, ...] = ("PERFORMED",)
    yield_low_pct: float | None = None
    yield_high_pct: float | None = None
    # The phase's theoretical output for the recipe's batch size; yield and material balance are
    # computed against it (PR-21, PR-49), each checked against its range.
    output: float | None = None
    output_unit: str | None = None
    balance_low_pct: float | None = None
    balance_high_pct: float | None = None
    # The controlled SOP the phase is carried out under (its code): operators see its effective version and
    # sign the phase only when trained on it (QM-08, QM-09).
    sop: str = ""


@dataclass(frozen=True)
class RecipeDraft:
    code: str
    product: str
    name: str
    batch_size: float
    batch_unit: str
    phases: tuple[Phase, ...]
    specification: str = ""  # the product's specification (CPGG), such as "20 %, 50 mL"


def _limits(what: str, low: float | None, high: float | None) -> None:
    if low is None and high is None:
        raise invalid(f"{what}: give a low limit, a high limit or both")
    if low is not None and high is not None and low >= high:
        raise invalid(f"{what}: the low limit must be below the high limit")


def _phase(p: Phase, earlier: set[str]) -> None:
    where = f"phase {p.code}"
    if not CODE.fullmatch(p.code):
        raise invalid(f"phase code {p.code!r}: 1-32 capitals, digits, '_', '.' or '-'")
    for what, value in (("name", p.name), ("unitProcedure", p.unit_procedure), ("operation", p.operation),
                        ("equipmentClass", p.equipment_class)):
        text(f"{where} {what}", value)
    text(f"{where} instructions", p.instructions, 20_000)
    if p.sop and not CODE.fullmatch(p.sop):
        raise invalid(f"{where} sop {p.sop!r}: a document code, 1-32 capitals, digits, '_', '.' or '-'")
    missing = [a for a in p.after if a not in earlier]
    if missing:
        raise invalid(f"{where} comes after {', '.join(missing)}, which must be earlier phases of the recipe")
    _items(p, where)
    if "PERFORMED" not in p.signatures or not set(p.signatures) <= set(PHASE_MEANINGS):
        raise invalid(f"{where}: signatures are PERFORMED, with VERIFIED where a second person checks")
    for what, low, high in (("yield", p.yield_low_pct, p.yield_high_pct),
                            ("material balance", p.balance_low_pct, p.balance_high_pct)):
        if low is None and high is None:
            continue
        if low is None or high is None or not 0 <= low <= high <= 200:
            raise invalid(f"{where}: a {what} range is a low and a high percentage, 0-200, low not above high")
        if p.output is None:
            raise invalid(f"{where}: a {what} range needs the phase's theoretical output")
    if p.output is not None:
        text(f"{where} outputUnit", p.output_unit or "", 16)
        if p.output <= 0:
            raise invalid(f"{where}: the theoretical output is above 0")


def _items(p: Phase, where: str) -> None:
    """A phase's materials, parameters and controls."""
    for m in p.materials:
        text(f"{where} material code", m.code, 32)
        text(f"{where} material {m.code} name", m.name)
        text(f"{where} material {m.code} unit", m.unit, 16)
        if m.quantity <= 0 or not 0 <= m.tolerance_pct <= 100:
            raise invalid(f"{where} material {m.code}: quantity above 0, tolerance 0-100 %")
        if m.artwork_version is not None:
            text(f"{where} material {m.code} artworkVersion", m.artwork_version, 32)
    limited: list[Parameter | Control] = [*p.parameters, *p.controls]
    for c in limited:
        text(f"{where} parameter name", c.name)
        text(f"{where} {c.name} unit", c.unit, 16)
        _limits(f"{where} {c.name}", c.low, c.high)
    if any(c.risk not in tuple(RiskClass) for c in limited):
        raise invalid(f"{where}: a risk class is {', '.join(RiskClass)}")
    if any(not 0 <= x.alarm_delay_s <= 3600 for x in p.parameters):
        raise invalid(f"{where}: a parameter's alarmDelayS is 0-3600 seconds")
    for c in p.controls:
        text(f"{where} {c.name} method", c.method)
    for what, names in (("parameters", [x.name for x in p.parameters]), ("controls", [x.name for x in p.controls]),
                        ("materials", [x.code for x in p.materials])):
        if len(set(names)) != len(names):
            raise invalid(f"{where}: {what} named twice")


def check(d: RecipeDraft) -> None:
    """Everything that can be told from the draft alone."""
    if not CODE.fullmatch(d.code):
        raise invalid(f"code {d.code!r}: 1-32 capitals, digits, '_', '.' or '-'")
    text("product", d.product, 64)
    text("name", d.name)
    text("batchUnit", d.batch_unit, 16)
    if len(d.specification) > 100:
        raise invalid("specification: at most 100 characters")
    if d.batch_size <= 0:
        raise invalid("batchSize: above 0")
    if not 0 < len(d.phases) <= MAX_PHASES:
        raise invalid(f"a recipe has 1-{MAX_PHASES} phases")
    earlier: set[str] = set()
    for p in d.phases:
        if p.code in earlier:
            raise invalid(f"phase {p.code} appears twice")
        _phase(p, earlier)
        earlier.add(p.code)


def procedure(d: RecipeDraft) -> list[dict[str, Any]]:
    """The phases as stored: plain JSON (lists, not tuples), as they read back and as they are signed."""
    data: list[dict[str, Any]] = json.loads(json.dumps([asdict(p) for p in d.phases]))
    return data


def content(r: Recipe) -> dict[str, Any]:
    """What a recipe signature is bound to: the version as a whole and its status."""
    return {"code": r.code, "version": r.version, "product": r.product, "name": r.name, "status": r.status,
            "batchSize": r.batch_size, "batchUnit": r.batch_unit, "specification": r.specification,
            "procedure": r.procedure}


async def _find(s: AsyncSession, code: str, version: int) -> Recipe:
    found: Recipe = await versions.find(s, Recipe, code, version, "recipe")
    return found


async def draft(ctx: Context, req: SignedRequest, d: RecipeDraft, change_note: str) -> Recipe:
    """A new version (DRAFT), or the open draft of this code rewritten; signed PERFORMED."""
    p = ctx.signed_in()

    async def clean() -> RecipeDraft:
        text("changeNote (what changed and why)", change_note, 2000)
        check(d)
        tags = {x.tag: f"phase {ph.code} {x.name}" for ph in d.phases for x in ph.parameters if x.tag}
        async with ctx.db.read() as s:
            known = set((await s.execute(select(Sensor.tag).where(Sensor.tag.in_(tags)))).scalars())
        unknown = [f"{where}: {tag}" for tag, where in tags.items() if tag not in known]
        if unknown:  # a parameter the twin would never capture
            raise invalid(f"tags the plant does not have: {'; '.join(unknown[:5])}")
        return d

    async def save(s: AsyncSession, new: RecipeDraft, signatures: Signatures[RecipeDraft]) -> Recipe:
        versions = list((await s.execute(select(Recipe).where(Recipe.code == new.code)
                                          .order_by(Recipe.version.desc()))).scalars())
        row = next((r for r in versions if r.status == RecipeStatus.DRAFT), None)
        if versions and versions[0].product != new.product:
            raise AppError(ErrorCode.CONFLICT, f"recipe {new.code} is for {versions[0].product}")
        if row is None:
            base = next((r for r in versions if r.status == RecipeStatus.APPROVED), None)
            row = Recipe(code=new.code, version=(versions[0].version + 1) if versions else 1,
                         based_on_id=base.id if base else None, status=RecipeStatus.DRAFT.value)
            s.add(row)
        row.product, row.name, row.batch_size, row.batch_unit = new.product, new.name, new.batch_size, new.batch_unit
        row.specification = new.specification.strip()
        row.procedure, row.change_note = procedure(new), change_note.strip()
        row.drafted_by, row.drafted_at = p.username, utcnow()
        await s.flush()
        await signatures.bind(s, "recipe", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=change_note.strip(), clean=clean, save=save,
                         conflict="this recipe was drafted concurrently; look again")


async def review(ctx: Context, req: SignedRequest, code: str, version: int, comment: str) -> Recipe:
    """Another person reviews the draft; signed REVIEWED."""
    async def clean() -> Recipe:
        text("comment", comment, 2000)
        async with ctx.db.read() as s:
            r = await _find(s, code, version)
        if r.status != RecipeStatus.DRAFT:
            raise AppError(ErrorCode.CONFLICT, f"recipe {code} version {version} is {r.status}, not a draft")
        await ctx.require_duty("review_recipe", "recipe", str(r.id), "whoever drafted a recipe cannot review it",
                               drafted_by=r.drafted_by)
        return r

    async def save(s: AsyncSession, r: Recipe, signatures: Signatures[Recipe]) -> Recipe:
        row = await _find(s, code, version)
        if row.status != RecipeStatus.DRAFT or row.drafted_at != r.drafted_at:
            raise AppError(ErrorCode.CONFLICT, "the draft changed meanwhile; review it again")
        row.status, row.reviewed_by, row.reviewed_at = RecipeStatus.REVIEWED.value, signatures.signer, utcnow()
        await s.flush()
        await signatures.bind(s, "recipe", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=comment.strip(), clean=clean, save=save, meanings=("REVIEWED",))


async def approve(ctx: Context, req: SignedRequest, code: str, version: int, reason: str) -> Recipe:
    """QA approves a reviewed version, by a third person; the version approved before is superseded."""
    async def clean() -> Recipe:
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            r = await _find(s, code, version)
        if r.status != RecipeStatus.REVIEWED:
            raise AppError(ErrorCode.CONFLICT, f"recipe {code} version {version} is {r.status}; "
                                               "only a reviewed version is approved")
        await ctx.require_duty("approve_recipe", "recipe", str(r.id),
                               "whoever drafted or reviewed a recipe cannot approve it",
                               drafted_by=r.drafted_by, reviewed_by=r.reviewed_by)
        return r

    async def save(s: AsyncSession, r: Recipe, signatures: Signatures[Recipe]) -> Recipe:
        row = await _find(s, code, version)
        if row.status != RecipeStatus.REVIEWED:
            raise AppError(ErrorCode.CONFLICT, f"recipe {code} version {version} is {row.status}")
        for old in (await s.execute(select(Recipe).where(Recipe.code == code,
                                                         Recipe.status == RecipeStatus.APPROVED))).scalars():
            old.status = RecipeStatus.SUPERSEDED.value
        row.status, row.approved_by, row.approved_at = RecipeStatus.APPROVED.value, signatures.signer, utcnow()
        await s.flush()
        await signatures.bind(s, "recipe", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("APPROVED",))


async def approved(s: AsyncSession, code: str) -> Recipe:
    """The version a batch may start from."""
    r = (await s.execute(select(Recipe).where(Recipe.code == code, Recipe.status == RecipeStatus.APPROVED))
         ).scalar_one_or_none()
    if r is None:
        raise AppError(ErrorCode.CONFLICT, f"recipe {code} has no approved version")
    return r


# --- reads -------------------------------------------------------------------------------------------

async def get(ctx: Context, code: str, version: int | None) -> Recipe | None:
    """A version, or without one the approved version (else the newest)."""
    found: Recipe | None = await versions.version(ctx, Recipe, code, version, RecipeStatus.APPROVED)
    return found


async def listing(ctx: Context, product: str | None, status: str | None) -> Sequence[Recipe]:
    """Every version, by code and newest version first."""
    return await versions.listing(ctx, Recipe, product=product, status=status)


@dataclass(frozen=True)
class Difference:
    """One change between two versions: the phase (None for the recipe itself), what, before, after."""

    phase: str | None
    field: str
    before: Any
    after: Any


HEADER = ("product", "name", "specification", "batch_size", "batch_unit")


def differences(a: Recipe, b: Recipe) -> list[Difference]:
    """What changed from version a to version b, phase by phase (matched by code), field by field."""
    out = [Difference(None, f, getattr(a, f), getattr(b, f)) for f in HEADER if getattr(a, f) != getattr(b, f)]
    before = {p["code"]: (i, p) for i, p in enumerate(a.procedure)}
    after = {p["code"]: (i, p) for i, p in enumerate(b.procedure)}
    for code in [*before, *(c for c in after if c not in before)]:
        if code not in after:
            out.append(Difference(code, "phase", before[code][1]["name"], None))
        elif code not in before:
            out.append(Difference(code, "phase", None, after[code][1]["name"]))
        else:
            (i, old), (j, new) = before[code], after[code]
            if i != j:
                out.append(Difference(code, "position", i + 1, j + 1))
            out += [Difference(code, k, old.get(k), new.get(k)) for k in new if old.get(k) != new.get(k)]
    return out


async def compare(ctx: Context, code: str, a: int, b: int) -> tuple[Recipe, Recipe, list[Difference]]:
    async with ctx.db.read() as s:
        ra, rb = await _find(s, code, a), await _find(s, code, b)
    return ra, rb, differences(ra, rb)
