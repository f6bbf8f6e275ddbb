"""Weighing of materials into a batch (B.4; PR-14..PR-20, PR-39, PR-45, PR-46).

The lot's code is scanned (a typed code is flagged) and checked against the phase of the recipe: the
material must be one the phase uses, the lot released and in date, with enough left. The scale must be
usable (calibration in date: PR-18) and the weight comes from its tag in the twin, read now; only a
scale that gives no current weight may be read by a person, with the reason and the evidence (a photo
or printout of its display, uploaded as an attachment: PR-17). The net weight must fall within the
recipe's tolerance of the target, or the weighing is refused. A second person verifies in the same
request, the lot is drawn down, and the weighed portion gets its own code and label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.execution import PhaseRun, PhaseStatus, ValueSource
from records.materials import MaterialLot, MaterialStatus
from records.materials import Weighing as Weighing  # the row the schema shows
from records.plant import Equipment, LogKind, Sensor, log_line
from records.plasma import Batch, BatchStatus
from records.recipe import Recipe
from resolvers import attachments, codes, labels, plasma
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.execution import unusable
from resolvers.signed import Second, Signatures, SignedRequest, perform

SCALES = ("scale", "balance")  # the equipment classes that weigh (B.4 秤具: scales and balances)
FRESH = timedelta(seconds=30)  # a scale reading older than this is not "now"
LABEL_TYPE = "WG"  # the material type of a weighed portion's code


@dataclass(frozen=True)
class Weigh:
    batch_number: str
    phase_code: str
    lot_code: str
    scanned: bool
    scale_code: str
    tare: float
    gross: float | None = None
    reason: str | None = None
    evidence: str | None = None
    attachment_id: str | None = None


@dataclass(frozen=True)
class Plan:
    batch: Batch
    recipe: Recipe
    material: dict[str, Any]
    lot: MaterialLot
    scale: Equipment
    gross: float
    source: ValueSource
    read_at: datetime | None
    evidence: attachments.Evidence | None = None


@dataclass(frozen=True)
class WeighingView:
    weighing: Weighing
    batch_number: str
    product: str
    specification: str
    material_name: str
    lot: MaterialLot
    scale: Equipment
    label: labels.Label


async def _batch_phase(s: AsyncSession, w: Weigh) -> tuple[Batch, Recipe, dict[str, Any]]:
    batch = (await s.execute(select(Batch).where(Batch.batch_number == w.batch_number))).scalar_one_or_none()
    if batch is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {w.batch_number}")
    recipe = await s.get(Recipe, batch.recipe_id) if batch.recipe_id else None
    if recipe is None:
        raise conflict(f"batch {w.batch_number} has no master recipe")
    phase = next((p for p in recipe.procedure if p["code"] == w.phase_code), None)
    if phase is None:
        raise AppError(ErrorCode.NOT_FOUND, f"recipe {recipe.code} has no phase {w.phase_code}")
    if batch.status not in (BatchStatus.PLANNED, BatchStatus.IN_PROGRESS):
        raise conflict(f"batch {w.batch_number} is {batch.status}")
    done = (await s.execute(select(PhaseRun.id).where(
        PhaseRun.batch_id == batch.id, PhaseRun.phase_code == w.phase_code, PhaseRun.status == PhaseStatus.COMPLETED))
            ).first()
    if done is not None:
        raise conflict(f"phase {w.phase_code} of {w.batch_number} is complete")
    return batch, recipe, phase


def _material(phase: dict[str, Any], lot: MaterialLot, w: Weigh, today: date) -> dict[str, Any]:
    """PR-39: the scanned lot against the recipe."""
    material: dict[str, Any] | None = next((m for m in phase["materials"] if m["code"] == lot.material_code), None)
    if material is None:
        uses = ", ".join(m["code"] for m in phase["materials"]) or "no materials"
        raise invalid(f"{lot.code} is {lot.material_code} ({lot.name}); phase {w.phase_code} uses {uses}")
    if lot.status != MaterialStatus.RELEASED:
        raise conflict(f"{lot.code} (lot {lot.lot_number}) is {lot.status}, not released")
    if lot.expires_on < today:
        raise conflict(f"{lot.code} (lot {lot.lot_number}) expired on {lot.expires_on.isoformat()}")
    if lot.unit != material["unit"]:
        raise invalid(f"{lot.code} is counted in {lot.unit}; the recipe weighs {material['unit']}")
    return material


Gross = tuple[float, ValueSource, datetime | None]  # the weight, where it came from, when the scale read it


def _gross(ctx: Context, w: Weigh, scale: Equipment, tag: Sensor | None, unit: str) -> Gross:
    """The weight on the scale now (PR-16), or a person's reading where the scale gives none (PR-17)."""
    if tag is not None and tag.unit != unit:
        raise invalid(f"{scale.code} weighs in {tag.unit}; the recipe weighs {unit}")
    last = ctx.services.twin.last(tag.tag) if tag is not None else None
    live = (last is not None and last.value is not None and last.quality == "GOOD"
            and utcnow() - last.source_time <= FRESH)
    if w.gross is None:
        if not live or last is None or last.value is None:
            raise conflict(f"{scale.code} gives no current weight; enter the gross weight by hand with the reason "
                            "and the evidence")
        return last.value, ValueSource.TWIN, last.source_time
    if live:
        raise conflict(f"{scale.code} is giving its weight: take it from the scale, not by hand")
    text("reason (why the weight is entered by hand)", w.reason or "", 2000)
    if w.evidence is not None and len(w.evidence) > 200:
        raise invalid("evidence: at most 200 characters")
    return w.gross, ValueSource.MANUAL, None


async def _proof(ctx: Context, source: ValueSource, w: Weigh, who: str) -> attachments.Evidence | None:
    """PR-17: a weight read by a person rests on the photo or printout of the display they uploaded."""
    if source is not ValueSource.MANUAL:
        return None
    async with ctx.db.read() as s:
        return await attachments.evidence(s, w.attachment_id, who)


async def weigh(ctx: Context, req: SignedRequest, w: Weigh) -> WeighingView:
    """Weigh one material of a phase; signed PERFORMED by the weigher and VERIFIED by a second person."""
    p = ctx.signed_in()

    async def clean() -> Plan:
        if not math.isfinite(w.tare) or w.tare < 0 or (w.gross is not None and not math.isfinite(w.gross)):
            raise invalid("tare and gross are finite weights, tare not below 0")
        if req.second is not None:
            await ctx.require_duty("verify", "weighing", w.batch_number, "whoever weighs cannot verify the weighing",
                                   subject=req.second.signer, performed_by=p.username)
        today = utcnow().date()
        async with ctx.db.read() as s:
            batch, recipe, phase = await _batch_phase(s, w)
            lot = (await s.execute(select(MaterialLot).where(MaterialLot.code == w.lot_code))).scalar_one_or_none()
            if lot is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no material lot {w.lot_code}")
            material = _material(phase, lot, w, today)
            scale = (await s.execute(select(Equipment).where(Equipment.code == w.scale_code))).scalar_one_or_none()
            if scale is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no scale {w.scale_code}")
            tag = (await s.execute(select(Sensor).where(Sensor.equipment_id == scale.id, Sensor.kind == "weight")
                                   .limit(1))).scalar_one_or_none()
            weighed = (await s.execute(select(Weighing.id).where(
                Weighing.batch_id == batch.id, Weighing.phase_code == w.phase_code,
                Weighing.material_code == lot.material_code))).first()
        if weighed is not None:
            raise conflict(f"{lot.material_code} of phase {w.phase_code} is weighed already")
        reasons = unusable(scale, scale.kind if scale.kind in SCALES else SCALES[0], today)
        if reasons:
            raise conflict(f"{w.scale_code} cannot be used: {'; '.join(reasons)}")
        gross, source, read_at = _gross(ctx, w, scale, tag, material["unit"])
        proof = await _proof(ctx, source, w, p.username)
        net = gross - w.tare
        target, tolerance = float(material["quantity"]), float(material["tolerance_pct"])
        low, high = target * (1 - tolerance / 100), target * (1 + tolerance / 100)
        if not low <= net <= high:
            raise invalid(f"net {net:g} {material['unit']} of {lot.material_code} is outside {low:g}-{high:g} "
                          f"{material['unit']} (target {target:g}, tolerance {tolerance:g} %)")
        if net > lot.remaining:
            raise conflict(f"{lot.code} has {lot.remaining:g} {lot.unit} left, less than {net:g}")
        return Plan(batch, recipe, material, lot, scale, gross, source, read_at, proof)

    async def save(s: AsyncSession, x: Plan, signatures: Signatures[Plan]) -> WeighingView:
        verifier = signatures.second_signer
        assert verifier is not None  # Second(required=True)
        lot = await s.get_one(MaterialLot, x.lot.id)
        net = x.gross - w.tare
        if net > lot.remaining:
            raise conflict(f"{lot.code} has {lot.remaining:g} {lot.unit} left, less than {net:g}")
        lot.remaining = lot.remaining - net
        now = utcnow()
        row = Weighing(batch_id=x.batch.id, phase_code=w.phase_code, material_code=lot.material_code,
                       material_lot_id=lot.id, scanned=w.scanned, scale_id=x.scale.id,
                       scale_calibration=_calibration(x.scale), scale_precision=x.scale.precision, tare=w.tare,
                       gross=x.gross, net=net, unit=lot.unit, target=float(x.material["quantity"]),
                       tolerance_pct=float(x.material["tolerance_pct"]), source=x.source.value, reading_at=x.read_at,
                       manual_reason=(w.reason or "").strip() or None,
                       evidence=(w.evidence or "").strip() or (x.evidence.filename if x.evidence else None),
                       attachment_id=x.evidence.id if x.evidence else None,
                       weighed_at=now, weighed_by=signatures.signer, verified_by=verifier,
                       label_code=await codes.next_code(s, LABEL_TYPE, now.date()))
        s.add(row)
        await s.flush()
        await signatures.bind(s, "weighing", str(row.id), {
            "batch": w.batch_number, "phase": w.phase_code, "lot": lot.code, "scale": x.scale.code, "tare": w.tare,
            "gross": x.gross, "net": net, "source": x.source.value, "label": row.label_code,
            "evidence": x.evidence.sha256 if x.evidence else None})
        s.add(log_line(x.scale.id, LogKind.USE, f"weighed {net:g} {lot.unit} of {lot.material_code} lot "
                       f"{lot.lot_number} for batch {w.batch_number} phase {w.phase_code}", signatures.signer,
                       batch_id=x.batch.id, reference=f"weighing:{row.id}"))
        return view(row, x.batch, x.recipe, lot, x.scale)

    return await perform(ctx, req, reason=f"{w.lot_code} weighed for {w.batch_number} {w.phase_code}", clean=clean,
                         save=save, second=Second(("VERIFIED",), "the verifier's signature"),
                         conflict=f"that material of phase {w.phase_code} was weighed meanwhile")


def _calibration(scale: Equipment) -> str:
    """B.4 CJZT: the calibration status as it was when the scale was used."""
    until = scale.calibration_valid_until
    return f"{scale.calibration_status or 'not recorded'}" + (f", valid until {until.isoformat()}" if until else "")


def view(row: Weighing, batch: Batch, recipe: Recipe, lot: MaterialLot, scale: Equipment) -> WeighingView:
    """The weighing with its label (PR-19, PR-20): every value from the record, none typed again."""
    lines = [("Product", batch.product), ("Specification", recipe.specification or "-"),
             ("Batch", batch.batch_number), ("Material", f"{lot.name} ({lot.material_code})"),
             ("Material batch", lot.lot_number), ("Weight", f"{row.net:g} {row.unit} (net)"),
             ("Weighed by", row.weighed_by), ("Checked by", row.verified_by),
             ("Date", row.weighed_at.date().isoformat()), ("Scale", scale.code)]
    return WeighingView(row, batch.batch_number, batch.product, recipe.specification, lot.name, lot, scale,
                        labels.material_label(row.label_code, f"Weighed: {lot.name}", lines))


async def weighings(ctx: Context, batch_number: str) -> list[WeighingView]:
    """A batch's weighings in order (PR-46: each material batch and weighed quantity)."""
    async with ctx.db.read() as s:
        batch = await plasma.batch(s, batch_number, ctx.scope())
        if batch is None or batch.recipe_id is None:
            return []
        recipe = await s.get_one(Recipe, batch.recipe_id)
        rows = (await s.execute(select(Weighing, MaterialLot, Equipment)
                                .join(MaterialLot, MaterialLot.id == Weighing.material_lot_id)
                                .join(Equipment, Equipment.id == Weighing.scale_id)
                                .where(Weighing.batch_id == batch.id).order_by(Weighing.id))).all()
    return [view(r, batch, recipe, lot, scale) for r, lot, scale in rows]

