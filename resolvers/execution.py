"""Guided execution of a batch's phases (PR-38, PR-40, PR-41, PR-44, PR-45, PR-47, PR-49, PR-51).

A phase starts only in the recipe's order (each phase it comes after complete), on equipment of the
phase's class that is usable now (status, cleaning, sterilisation and calibration in date: the
refusal names the reason) and after the pre-operation check is confirmed. It completes with the
critical process parameters taken from the twin's readings of their tags over the time the phase ran
(min, max, average, count) or entered by hand where the recipe gives no tag, the in-process control
results and the yield; anything outside its limits marks the phase as an exception and raises a
deviation against the batch at once. The operator signs; where the recipe asks, a second person
verifies in the same request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.alarms import UNCLEARED, Alarm, AlarmSource, AlarmState
from records.base import utcnow
from records.execution import PhaseRun as PhaseRun
from records.execution import PhaseStatus as PhaseStatus  # the value lists, for the schema
from records.execution import ValueSource as ValueSource
from records.genealogy import Intermediate, IntermediateMovement, MovementKind
from records.materials import Weighing
from records.plant import Equipment, EquipmentStatus, LogKind, Room, Sensor, log_line
from records.plasma import Batch, BatchStatus
from records.quality import LineClearance
from records.readings import SensorReading
from resolvers import attachments, deviations, manual_rules, plasma, training
from resolvers.checks import conflict
from resolvers.context import Context
from resolvers.history import history
from resolvers.signed import Second, Signatures, SignedRequest, perform
from subscriptions.topics import EQUIPMENT_TOPIC, PHASE_TOPIC

PRE_CHECK = ("equipment clean and ready", "no product, material or document of the previous batch",
             "materials and documents for this phase present")
TREND_POINTS = 200
UNUSABLE = (EquipmentStatus.FAULT, EquipmentStatus.MAINTENANCE, EquipmentStatus.OUT_OF_SERVICE)


@dataclass(frozen=True)
class Step:
    batch: Batch
    phase: dict[str, Any]
    equipment: Equipment | None = None


async def _step(s: AsyncSession, batch_number: str, phase_code: str) -> Step:
    batch = (await s.execute(select(Batch).where(Batch.batch_number == batch_number)
                             .options(selectinload(Batch.recipe)))).scalar_one_or_none()
    if batch is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
    if batch.recipe is None:
        raise conflict(f"batch {batch_number} has no master recipe to execute")
    phase = next((p for p in batch.recipe.procedure if p["code"] == phase_code), None)
    if phase is None:
        raise AppError(ErrorCode.NOT_FOUND, f"recipe {batch.recipe.code} has no phase {phase_code}")
    return Step(batch, phase)


def unusable(e: Equipment, equipment_class: str, today: date) -> list[str]:
    """Why this equipment cannot run the phase now (PR-06); empty when it can."""
    reasons = []
    if e.kind != equipment_class:
        reasons.append(f"it is a {e.kind}, the phase needs a {equipment_class}")
    if e.status in UNUSABLE:
        reasons.append(f"its status is {e.status}")
    for what, state, good, until in (("cleaning", e.cleaning_status, "CLEAN", e.cleaning_valid_until),
                                     ("sterilisation", e.sterilization_status, "STERILE", e.sterilization_valid_until),
                                     ("calibration", e.calibration_status, "CALIBRATED", e.calibration_valid_until)):
        if state is not None and state != good:
            reasons.append(f"its {what} status is {state}")
        elif until is not None and until < today:
            reasons.append(f"its {what} expired on {until.isoformat()}")
    return reasons


def equipment_state(e: Equipment) -> dict[str, Any]:
    """PR-47: the equipment's number, name, status and the validity of its care records, as used."""
    def day(d: date | None) -> str | None:
        return d.isoformat() if d else None

    return {"code": e.code, "name": e.name, "status": e.status,
            "cleaning": {"state": e.cleaning_status, "validUntil": day(e.cleaning_valid_until)},
            "sterilization": {"state": e.sterilization_status, "validUntil": day(e.sterilization_valid_until)},
            "calibration": {"state": e.calibration_status, "validUntil": day(e.calibration_valid_until)}}


async def _in_use(s: AsyncSession, equipment: Equipment) -> str | None:
    """The phase running on this equipment now, if any."""
    row = (await s.execute(select(Batch.batch_number, PhaseRun.phase_code).join(Batch, Batch.id == PhaseRun.batch_id)
                           .where(PhaseRun.equipment_id == equipment.id, PhaseRun.status == PhaseStatus.RUNNING))
           ).first()
    return f"it is in use by batch {row[0]} phase {row[1]}" if row else None


async def room_ready(s: AsyncSession, batch: Batch, room_id: int) -> str | None:
    """Why the room cannot take this batch yet (PR-38, PR-57); None when it can. Another batch may not
    be running in it, and the last batch that ran in it must have been cleared out: a passed line
    clearance of that batch in this room, verified, recorded after its last phase there ended."""
    in_room = (select(PhaseRun, Batch.batch_number, Room.code).join(Batch, Batch.id == PhaseRun.batch_id)
               .join(Equipment, Equipment.id == PhaseRun.equipment_id).join(Room, Room.id == Equipment.room_id)
               .where(Equipment.room_id == room_id))
    running = (await s.execute(in_room.where(PhaseRun.status == PhaseStatus.RUNNING, PhaseRun.batch_id != batch.id)
                               .limit(1))).first()
    if running is not None:
        return f"room {running[2]} is in use by batch {running[1]} phase {running[0].phase_code}"
    last = (await s.execute(in_room.order_by(PhaseRun.started_at.desc(), PhaseRun.id.desc()).limit(1))).first()
    if last is None or last[0].batch_id == batch.id:
        return None
    run, previous, room = last
    cleared = (await s.execute(select(LineClearance.id).where(
        LineClearance.room_code == room, LineClearance.batch_id == run.batch_id, LineClearance.passed.is_(True),
        LineClearance.cleared_at >= run.completed_at).limit(1))).first()
    if cleared is None:
        return f"the line clearance of room {room} after batch {previous} is not recorded"
    return None


async def _unweighed(s: AsyncSession, batch_id: int, phase: dict[str, Any]) -> list[str]:
    """The phase's materials neither weighed nor charged (an intermediate) for the batch yet (PR-38:
    materials present)."""
    done = set((await s.execute(select(Weighing.material_code).where(
        Weighing.batch_id == batch_id, Weighing.phase_code == phase["code"]))).scalars())
    done |= set(code for code in (await s.execute(select(Intermediate.material_code).join(
        IntermediateMovement, IntermediateMovement.intermediate_id == Intermediate.id).where(
        IntermediateMovement.kind == MovementKind.CHARGE, IntermediateMovement.batch_id == batch_id,
        IntermediateMovement.phase_code == phase["code"]))).scalars() if code)
    return [m["code"] for m in phase["materials"] if m["code"] not in done]


async def start(ctx: Context, req: SignedRequest, batch_number: str, phase_code: str, equipment_code: str,
                confirmed: list[str]) -> PhaseRun:
    """Start a phase; signed PERFORMED by the operator."""
    moves: list[dict[str, str]] = []

    async def clean() -> Step:
        missing = [c for c in PRE_CHECK if c not in confirmed]
        if missing:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"confirm the pre-operation check: {'; '.join(missing)}")
        async with ctx.db.read() as s:
            step = await _step(s, batch_number, phase_code)
            runs = {r.phase_code: r for r in (await s.execute(select(PhaseRun).where(
                PhaseRun.batch_id == step.batch.id))).scalars()}
            equipment = (await s.execute(select(Equipment).where(Equipment.code == equipment_code))
                         ).scalar_one_or_none()
        if step.batch.status not in (BatchStatus.PLANNED, BatchStatus.IN_PROGRESS):
            raise conflict(f"batch {batch_number} is {step.batch.status}")
        if phase_code in runs:
            raise conflict(f"phase {phase_code} of {batch_number} was started at {runs[phase_code].started_at}")
        waiting = [a for a in step.phase["after"] if runs.get(a) is None or runs[a].status != PhaseStatus.COMPLETED]
        if waiting:
            raise conflict(f"phase {phase_code} comes after {', '.join(waiting)}, not complete yet")
        if equipment is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no equipment {equipment_code}")
        async with ctx.db.read() as s:
            reasons = unusable(equipment, step.phase["equipment_class"], utcnow().date())
            busy = await _in_use(s, equipment)
            room = await room_ready(s, step.batch, equipment.room_id)
            unweighed = await _unweighed(s, step.batch.id, step.phase)
        reasons += [busy] if busy else []
        if room:
            raise conflict(f"phase {phase_code} cannot start: {room}")
        if unweighed:
            raise conflict(f"phase {phase_code} cannot start: not weighed or charged yet: {', '.join(unweighed)}")
        if reasons:
            raise conflict(f"{equipment_code} cannot be used: {'; '.join(reasons)}")
        await training.require_trained(ctx, step.phase, [ctx.signed_in().username])  # QM-09
        return Step(step.batch, step.phase, equipment)

    async def save(s: AsyncSession, step: Step, signatures: Signatures[Step]) -> PhaseRun:
        assert step.equipment is not None
        now = utcnow()
        run = PhaseRun(batch_id=step.batch.id, phase_code=phase_code, status=PhaseStatus.RUNNING.value,
                       equipment_id=step.equipment.id, pre_check=dict.fromkeys(PRE_CHECK, True), started_at=now,
                       started_by=signatures.signer, equipment_state=equipment_state(step.equipment))
        s.add(run)
        batch = await s.get(Batch, step.batch.id)
        assert batch is not None
        if batch.status == BatchStatus.PLANNED:
            batch.status, batch.started_at = BatchStatus.IN_PROGRESS.value, now
        await s.flush()
        await signatures.bind(s, "phase_run", str(run.id), {
            "batch": batch_number, "phase": phase_code, "equipment": run.equipment_state, "startedAt": now.isoformat()})
        await _use(s, run, batch.id, f"batch {batch_number} phase {phase_code} started", EquipmentStatus.RUNNING,
                   moves)
        return run

    return await perform(ctx, req, reason=f"phase {phase_code} of {batch_number} started", clean=clean, save=save,
                         publish=lambda run: _announce(ctx, run, moves),
                         conflict=f"phase {phase_code} of {batch_number} was started meanwhile")


async def _use(s: AsyncSession, run: PhaseRun, batch_id: int, what: str, status: EquipmentStatus,
               moves: list[dict[str, str]]) -> None:
    """The equipment's logbook records the use, and its status follows it: RUNNING while a phase runs on it,
    IDLE after (a status a person set, such as MAINTENANCE, is left alone). `moves` collects the status
    changes to announce after the commit."""
    e = await s.get_one(Equipment, run.equipment_id)
    s.add(log_line(e.id, LogKind.USE, what, run.completed_by or run.started_by, batch_id=batch_id,
                   reference=f"phase_run:{run.id}"))
    if e.status in (EquipmentStatus.IDLE, EquipmentStatus.RUNNING) and e.status != status:
        s.add(log_line(e.id, LogKind.STATUS, f"{e.status} -> {status}: {what}", "system", batch_id=batch_id,
                       reference=f"phase_run:{run.id}"))
        moves.append({"code": e.code, "status": status.value, "previous": e.status})
        e.status = status.value


def _announce(ctx: Context, run: PhaseRun, moves: list[dict[str, str]], cleared: list[Alarm] | None = None,
              raised: list[Alarm] | None = None) -> None:
    """After the commit: equipment status moves, alarms raised or cleared by the phase's end, and the
    phase itself (every node's alarm service watches the running phases' parameters)."""
    for m in moves:
        ctx.services.bus.publish(EQUIPMENT_TOPIC, m)
    for a in cleared or []:
        ctx.services.alarms.published("CLEARED", a)
    for a in raised or []:
        ctx.services.alarms.published("RAISED", a)
    ctx.services.bus.publish(PHASE_TOPIC, {"phaseRun": run.id, "status": run.status})


@dataclass(frozen=True)
class Entry:
    name: str
    value: float
    reason: str | None = None
    attachment_id: str | None = None  # the photo or printout the value was read from (PR-03)


def _within(low: float | None, high: float | None, lo: float | None, hi: float | None) -> bool:
    return (low is None or (lo is not None and lo >= low)) and (high is None or (hi is not None and hi <= high))


async def _captured(s: AsyncSession, p: dict[str, Any], since: datetime, until: datetime) -> dict[str, Any]:
    """A tagged parameter over the phase: the twin's readings of its tag (PR-41, PR-47)."""
    lo, hi, avg, n = (await s.execute(
        select(func.min(SensorReading.value), func.max(SensorReading.value), func.avg(SensorReading.value),
               func.count(SensorReading.value)).join(Sensor, Sensor.id == SensorReading.sensor_id)
        .where(Sensor.tag == p["tag"], SensorReading.source_time >= since, SensorReading.source_time <= until))).one()
    within = n > 0 and _within(p["low"], p["high"], lo, hi)
    # The trend kept with the batch record: at most TREND_POINTS buckets over the phase (resolvers.history).
    trend = [{"time": x.time.isoformat(), "value": x.value, "min": x.min, "max": x.max}
             for x in await history(s, p["tag"], since, until, TREND_POINTS)] if n else []
    return {**p, "source": ValueSource.TWIN.value, "min": lo, "max": hi, "avg": avg, "count": n, "within": within,
            "trend": trend, **({} if n else {"problem": "no readings of the tag while the phase ran"})}


def _entered(p: dict[str, Any], e: Entry | None, who: str,
             proofs: dict[str, attachments.Evidence] | None = None) -> dict[str, Any]:
    if e is None:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"enter {p['name']} ({p['unit']}): the recipe gives no tag for it")
    proof = (proofs or {}).get(e.name)
    return {**p, "source": ValueSource.MANUAL.value, "value": e.value, "within": _within(p["low"], p["high"],
            e.value, e.value), "enteredBy": who, "reason": e.reason,
            **({"attachment": {"id": proof.id, "sha256": proof.sha256, "filename": proof.filename}} if proof else {})}


@dataclass(frozen=True)
class Completion:
    run: PhaseRun
    step: Step
    balance: Balance
    proofs: dict[str, attachments.Evidence]


@dataclass(frozen=True)
class Balance:
    """A phase's output against its theoretical output (PR-21, PR-49), computed, never typed."""

    output: float | None
    losses: float
    yield_pct: float | None
    balance_pct: float | None
    outside: tuple[tuple[str, str], ...]  # (alarm condition, what) for each figure outside its range


def balance(phase: dict[str, Any], output: float | None, losses: float) -> Balance:
    theoretical, unit = phase.get("output"), phase.get("output_unit") or ""
    if theoretical is None:
        if output is not None or losses:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"phase {phase['code']} has no theoretical output to "
                                                        "weigh an output against")
        return Balance(None, 0, None, None, ())
    if output is None:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"enter the output of phase {phase['code']} ({unit})")
    if not (math.isfinite(output) and math.isfinite(losses)) or output < 0 or losses < 0:
        raise AppError(ErrorCode.VALIDATION_FAILED, "output and losses are quantities, not below 0")
    yield_pct = round(output / theoretical * 100, 2)
    balance_pct = round((output + losses) / theoretical * 100, 2)
    outside = [(condition, f"{what} {pct:g} % (limits {low:g}-{high:g} %)")
               for condition, what, pct, low, high in (
                   ("YIELD", "yield", yield_pct, phase.get("yield_low_pct"), phase.get("yield_high_pct")),
                   ("MATERIAL_BALANCE", "material balance", balance_pct, phase.get("balance_low_pct"),
                    phase.get("balance_high_pct")))
               if low is not None and high is not None and not low <= pct <= high]
    return Balance(output, losses, yield_pct, balance_pct, tuple(outside))


async def complete(ctx: Context, req: SignedRequest, batch_number: str, phase_code: str, manual: list[Entry],
                   controls: list[Entry], output: float | None, losses: float) -> PhaseRun:
    """Complete a running phase with its values; PERFORMED, and VERIFIED by a second person where the
    recipe asks. An excursion raises a deviation against the batch in the same transaction, and an
    alarm of the batch and phase for each figure out of range that no live alarm announced."""
    p = ctx.signed_in()
    moves: list[dict[str, str]] = []
    cleared: list[Alarm] = []
    raised: list[Alarm] = []

    async def clean() -> Completion:
        async with ctx.db.read() as s:
            step = await _step(s, batch_number, phase_code)
            run = (await s.execute(select(PhaseRun).where(PhaseRun.batch_id == step.batch.id,
                                                          PhaseRun.phase_code == phase_code))).scalar_one_or_none()
        if run is None or run.status != PhaseStatus.RUNNING:
            raise conflict(f"phase {phase_code} of {batch_number} is not running")
        needs_check = "VERIFIED" in step.phase["signatures"]
        if needs_check and req.second is None:
            raise AppError(ErrorCode.SIGNATURE_REQUIRED, f"phase {phase_code} needs a second person's verification")
        if req.second is not None:
            await ctx.require_duty("verify", "phase_run", str(run.id), "whoever performs a phase cannot verify it",
                                   subject=req.second.signer, performed_by=p.username)
        known = {x["name"] for x in step.phase["parameters"]} | {x["name"] for x in step.phase["controls"]}
        unknown = [e.name for e in (*manual, *controls) if e.name not in known]
        if unknown:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"not in the recipe's phase: {', '.join(unknown)}")
        async with ctx.db.read() as s:
            proofs = {e.name: await attachments.evidence(s, e.attachment_id, p.username)
                      for e in (*manual, *controls) if e.attachment_id}
            by_class = await manual_rules.rules(s)
        risk = {x["name"]: x.get("risk", "LOW") for x in (*step.phase["parameters"], *step.phase["controls"])}
        broken = manual_rules.refusal([(e.name, risk[e.name], e.name in proofs) for e in (*manual, *controls)],
                                      req.second is not None, by_class)
        if broken is not None:  # PR-04: the rule of the entry's risk class
            raise broken
        await training.require_trained(ctx, step.phase, [p.username, req.second_signer])  # QM-09
        return Completion(run, step, balance(step.phase, output, losses), proofs)

    async def save(s: AsyncSession, c: Completion, signatures: Signatures[Completion]) -> PhaseRun:
        run = await s.get(PhaseRun, c.run.id)
        assert run is not None
        if run.status != PhaseStatus.RUNNING:
            raise conflict(f"phase {phase_code} of {batch_number} was completed meanwhile")
        now = utcnow()
        by_name = {e.name: e for e in manual}
        params = [await _captured(s, x, run.started_at, now) if x.get("tag") else _entered(x, by_name.get(x["name"]),
                  p.username, c.proofs) for x in c.step.phase["parameters"]]
        results = {e.name: e for e in controls}
        checks = [_entered(x, results.get(x["name"]), p.username, c.proofs) for x in c.step.phase["controls"]]
        b = c.balance
        unannounced = [(kind, f"{x['name']} {x['value']:g} {x['unit']} (limits {x['low']}-{x['high']})")
                       for kind, xs in (("PARAMETER", params), ("CONTROL", checks)) for x in xs
                       if not x["within"] and x["source"] == ValueSource.MANUAL]  # the twin's raised live
        outside = [x["name"] for x in (*params, *checks) if not x["within"]] + [what for _, what in b.outside]
        run.status, run.completed_at, run.completed_by = PhaseStatus.COMPLETED.value, now, signatures.signer
        run.verified_by, run.parameters, run.controls = signatures.second_signer, params, checks
        run.output, run.losses, run.yield_pct, run.balance_pct = b.output, b.losses, b.yield_pct, b.balance_pct
        run.exception = bool(outside)
        if outside:
            await _deviation(s, c.step.batch, phase_code, outside, p.username)
            raised.extend(await _alerts(s, run, batch_number, [*unannounced, *b.outside], now))
        await _finish_batch(s, c.step)
        cleared.extend(await _end_watch(s, batch_number, phase_code, now))
        await s.flush()
        still = (await s.execute(select(PhaseRun.id).where(PhaseRun.equipment_id == run.equipment_id,
                                                           PhaseRun.status == PhaseStatus.RUNNING).limit(1))).first()
        await _use(s, run, c.step.batch.id, f"batch {batch_number} phase {phase_code} completed"
                   + (" (exception)" if run.exception else ""),
                   EquipmentStatus.RUNNING if still else EquipmentStatus.IDLE, moves)
        await signatures.bind(s, "phase_run", str(run.id), {
            "batch": batch_number, "phase": phase_code, "parameters": params, "controls": checks,
            "output": b.output, "losses": b.losses, "yieldPct": b.yield_pct, "balancePct": b.balance_pct,
            "exception": run.exception})
        return run

    return await perform(ctx, req, reason=f"phase {phase_code} of {batch_number} completed", clean=clean, save=save,
                         publish=lambda run: _announce(ctx, run, moves, cleared, raised),
                         second=Second(("VERIFIED",), "the verifier's signature", required=False))


async def _deviation(s: AsyncSession, batch: Batch, phase_code: str, outside: list[str], who: str) -> None:
    """PR-51, PR-55: an excursion becomes a deviation of the batch at once, for QA to investigate."""
    await deviations.opened(s, f"{batch.batch_number} {phase_code}: outside limits",
                            "Outside the recipe's limits: " + "; ".join(outside), batch.id, who)


async def _alerts(s: AsyncSession, run: PhaseRun, batch_number: str, items: list[tuple[str, str]],
                  now: datetime) -> list[Alarm]:
    """PR-21, PR-51: each figure found out of range at the phase's end is an alarm of the batch and phase,
    returned to normal at once (the phase is over) and waiting to be acknowledged and reviewed."""
    room_id = (await s.execute(select(Equipment.room_id).where(Equipment.id == run.equipment_id))).scalar_one()
    alarms = [Alarm(source=AlarmSource.PROCESS.value, condition=condition, priority="HIGH",
                    state=AlarmState.CLEARED.value, room_id=room_id, equipment_id=run.equipment_id,
                    message=f"{batch_number} {run.phase_code}: {what}", began_at=now, raised_at=now, cleared_at=now,
                    batch_number=batch_number, phase_code=run.phase_code) for condition, what in items]
    s.add_all(alarms)
    return alarms


async def _end_watch(s: AsyncSession, batch_number: str, phase_code: str, now: datetime) -> list[Alarm]:
    """The phase's parameter alarms still standing end with it: returned to normal at its end (they stay
    to be acknowledged and reviewed)."""
    standing = list((await s.execute(select(Alarm).where(
        Alarm.source == AlarmSource.PROCESS, Alarm.batch_number == batch_number, Alarm.phase_code == phase_code,
        Alarm.state.in_(UNCLEARED), Alarm.cleared_at.is_(None)))).scalars())
    for a in standing:
        a.cleared_at, a.state = now, AlarmState(a.state).cleared()
    return standing


async def _finish_batch(s: AsyncSession, step: Step) -> None:
    """The batch is COMPLETED when every phase of its recipe is."""
    done = set((await s.execute(select(PhaseRun.phase_code).where(
        PhaseRun.batch_id == step.batch.id, PhaseRun.status == PhaseStatus.COMPLETED))).scalars())
    assert step.batch.recipe is not None
    if {x["code"] for x in step.batch.recipe.procedure} <= done:
        batch = await s.get(Batch, step.batch.id)
        assert batch is not None
        batch.status = BatchStatus.COMPLETED.value


async def runs(ctx: Context, batch_number: str) -> list[tuple[PhaseRun, str]]:
    """The batch's phase runs in start order, with their equipment codes; none for a batch out of scope."""
    async with ctx.db.read() as s:
        if await plasma.batch(s, batch_number, ctx.scope()) is None:
            return []
        rows = (await s.execute(select(PhaseRun, Equipment.code).join(Equipment, Equipment.id == PhaseRun.equipment_id)
                                .join(Batch, Batch.id == PhaseRun.batch_id).where(Batch.batch_number == batch_number)
                                .order_by(PhaseRun.id))).all()
    return [(r, code) for r, code in rows]
