"""Review by exception of a batch record (PR-70, PR-71, PR-72).

`items` gathers every exception of a batch from the records themselves: phases with a value outside
its limits, alarms of its phases and alarms in its rooms while it ran, its deviations, values entered
by hand (parameters without a tag, weights read by a person, lot codes typed instead of scanned), and
changes to recorded values after they were recorded (UPDATE or DELETE events of the audit trail
beyond a record's own lifecycle). QA reviews them with a signed conclusion, and concludes the review
of the whole record with an opinion once every item is reviewed and every deviation closed; release
checks the same again. Whoever signed production records of the batch reviews none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, String, and_, cast, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Alarm, AlarmState
from records.audit import AuditEvent
from records.base import utcnow
from records.execution import PhaseRun, ValueSource
from records.genealogy import Intermediate
from records.materials import Weighing
from records.packaging_record import PackagingRecord
from records.plant import Equipment
from records.plasma import Batch, BatchStatus, batch_pool
from records.quality import Deviation, DeviationStatus, LineClearance
from records.review import BatchReview as BatchReview  # the rows the schema shows
from records.review import ReviewedItem
from records.review import ReviewKind as ReviewKind  # the value list, for the schema
from records.signature import ESignature
from resolvers import audit_review, plasma, test_reports
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

# Fields a record's normal lifecycle fills in after it is created; any other change is a data change.
LIFECYCLE = {
    "phase_run": {"status", "completed_at", "completed_by", "verified_by", "parameters", "controls", "output",
                  "losses", "yield_pct", "balance_pct", "exception"},
    "batch": {"status", "started_at"},
    "weighing": set(),
    "line_clearance": set(),
    "intermediate": {"remaining", "status", "location"},
    "packaging_record": {"inspected", "rejected", "inspection_notes", "inspected_by", "inspected_at", "units_packed",
                         "cases_packed", "status", "closed_at", "closed_by", "reconciliation", "yield_pct",
                         "exception"},
}
REVIEWABLE = (BatchStatus.IN_PROGRESS, BatchStatus.COMPLETED, BatchStatus.UNDER_REVIEW)
CONCLUDABLE = (BatchStatus.COMPLETED, BatchStatus.UNDER_REVIEW)


@dataclass(frozen=True)
class Item:
    key: str
    kind: ReviewKind
    at: datetime
    phase_code: str | None
    summary: str
    entity: str  # where the audit trail has it: entity and id
    entity_id: str
    open: bool  # the thing itself still open: a deviation not closed, an alarm not acknowledged
    reviewed: ReviewedItem | None = None


async def _batch(s: AsyncSession, ctx: Context, batch_number: str) -> Batch:
    b = await plasma.batch(s, batch_number, ctx.scope())
    if b is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
    return b


async def items(s: AsyncSession, b: Batch) -> list[Item]:
    """Every exception of the batch, oldest first, with its review where there is one."""
    runs = [(run, room) for run, room in (await s.execute(
        select(PhaseRun, Equipment.room_id).join(Equipment, Equipment.id == PhaseRun.equipment_id)
        .where(PhaseRun.batch_id == b.id).order_by(PhaseRun.id))).all()]
    found: list[Item] = []
    for run, _ in runs:
        if run.exception:
            outside = [x["name"] for x in (*(run.parameters or []), *(run.controls or [])) if not x["within"]]
            found.append(Item(f"phase_run:{run.id}", ReviewKind.PHASE_EXCEPTION, run.completed_at or run.started_at,
                              run.phase_code, f"phase {run.phase_code} outside its limits"
                              + (f": {', '.join(outside)}" if outside else " (yield or material balance)"),
                              "phase_run", str(run.id), False))
        for x in run.parameters or []:
            if x["source"] == ValueSource.MANUAL:
                found.append(Item(f"manual:{run.id}:{x['name']}", ReviewKind.MANUAL_ENTRY,
                                  run.completed_at or run.started_at, run.phase_code,
                                  f"{x['name']} {x['value']:g} {x['unit']} entered by {x['enteredBy']}"
                                  + (f": {x['reason']}" if x.get("reason") else ""), "phase_run", str(run.id), False))
    found += await _weighings(s, b)
    found += await _alarms(s, b, runs)
    found += [Item(f"deviation:{d.id}", ReviewKind.DEVIATION, d.raised_at, None, f"{d.number} {d.title} ({d.status})",
                   "deviation", str(d.id), d.status != DeviationStatus.CLOSED)
              for d in (await s.execute(select(Deviation).where(Deviation.batch_id == b.id))).scalars()]
    found += await _changes(s, b)
    reviewed = {r.item_key: r for r in (await s.execute(select(ReviewedItem).where(ReviewedItem.batch_id == b.id))
                                        ).scalars()}
    return sorted((Item(**{**i.__dict__, "reviewed": reviewed.get(i.key)}) for i in found), key=lambda i: (i.at, i.key))


async def _weighings(s: AsyncSession, b: Batch) -> list[Item]:
    out = []
    for w in (await s.execute(select(Weighing).where(Weighing.batch_id == b.id).order_by(Weighing.id))).scalars():
        if w.source == ValueSource.MANUAL:
            out.append(Item(f"weighing:{w.id}", ReviewKind.MANUAL_ENTRY, w.weighed_at, w.phase_code,
                            f"{w.material_code}: {w.gross:g} {w.unit} read by hand by {w.weighed_by}: "
                            f"{w.manual_reason} (evidence: {w.evidence})", "weighing", str(w.id), False))
        if not w.scanned:
            out.append(Item(f"typed:{w.id}", ReviewKind.MANUAL_ENTRY, w.weighed_at, w.phase_code,
                            f"{w.material_code}: the lot's code was typed, not scanned", "weighing", str(w.id), False))
    return out


async def _alarms(s: AsyncSession, b: Batch, runs: list[tuple[PhaseRun, int]]) -> list[Item]:
    """The batch's own alarms, and those of its rooms while its phases ran there."""
    now = utcnow()
    in_rooms = [and_(Alarm.room_id == room, Alarm.raised_at >= run.started_at,
                     Alarm.raised_at <= (run.completed_at or now)) for run, room in runs]
    rows = (await s.execute(select(Alarm).where(or_(Alarm.batch_number == b.batch_number, *in_rooms))
                            .order_by(Alarm.id))).scalars().all()
    return [Item(f"alarm:{a.id}", ReviewKind.ALARM, a.raised_at, a.phase_code, f"{a.priority} {a.message}",
                 "alarm", str(a.id), a.state != AlarmState.CLOSED) for a in rows]


async def _changes(s: AsyncSession, b: Batch) -> list[Item]:
    """Recorded values changed after they were recorded: the audit trail's UPDATE and DELETE events of
    the batch's records beyond their lifecycle fields."""
    ids = owned(b.id)
    # Plain rows, not entities: a long history is thousands of events, most of them lifecycle updates.
    rows = (await s.execute(select(AuditEvent.id, AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id,
                                   AuditEvent.actor, AuditEvent.reason, AuditEvent.occurred_at, AuditEvent.changes)
                            .where(AuditEvent.action.in_(("UPDATE", "DELETE")), or_(
                                *(and_(AuditEvent.entity == entity, AuditEvent.entity_id.in_(keys))
                                  for entity, keys in ids.items())))
                            .order_by(AuditEvent.id))).all()
    out = []
    for e in rows:
        fields = sorted(set(e.changes) - LIFECYCLE[e.entity]) if e.action == "UPDATE" else sorted(e.changes)
        if fields:
            out.append(Item(f"change:{e.id}", ReviewKind.DATA_CHANGE, e.occurred_at, None,
                            f"{e.action.lower()} of {e.entity} {e.entity_id} by {e.actor}: {', '.join(fields)}"
                            + (f" ({e.reason})" if e.reason else ""), e.entity, e.entity_id or "", False))
    return out


async def listing(ctx: Context, batch_number: str) -> tuple[Batch, list[Item], BatchReview | None]:
    async with ctx.db.read() as s:
        b = await _batch(s, ctx, batch_number)
        found = await items(s, b)
        review = (await s.execute(select(BatchReview).where(BatchReview.batch_id == b.id))).scalar_one_or_none()
    return b, found, review


def owned(batch_id: int, *, pools: bool = False) -> dict[str, Select[tuple[str]]]:
    """The ids (as the audit trail and signatures name them) of the records of a batch's production, per
    entity: the batch itself, its phases, weighings, line clearances, intermediates and packaging record,
    and where asked its pools."""
    def ids(q: Select[tuple[int]] | Select[int]) -> Select[tuple[str]]:
        return select(cast(q.subquery().c[0], String))

    out: dict[str, Select[tuple[str]]] = {"batch": select(literal(str(batch_id))),
                                          "phase_run": ids(select(PhaseRun.id).where(PhaseRun.batch_id == batch_id)),
                                          "weighing": ids(select(Weighing.id).where(Weighing.batch_id == batch_id)),
                                          "line_clearance": ids(select(LineClearance.id).where(
                                              LineClearance.batch_id == batch_id)),
                                          "intermediate": ids(select(Intermediate.id).where(
                                              Intermediate.batch_id == batch_id)),
                                          "packaging_record": ids(select(PackagingRecord.id).where(
                                              PackagingRecord.batch_id == batch_id))}
    if pools:
        out["pool"] = ids(select(batch_pool.c.pool_id).where(batch_pool.c.batch_id == batch_id))
    return out


async def production_signers(s: AsyncSession, batch_id: int) -> list[str]:
    """Everyone who signed a production record of the batch (GP-06): its own records and the charging
    of its pools."""
    records = owned(batch_id, pools=True)
    return sorted(set((await s.execute(select(ESignature.signer).where(
        or_(*(and_(ESignature.entity == entity, ESignature.entity_id.in_(q)) for entity, q in records.items())),
        ESignature.meaning.in_(("PERFORMED", "VERIFIED", "REVIEWED"))))).scalars()))


async def _duty(ctx: Context, action: str, b: Batch) -> None:
    async with ctx.db.read() as s:
        signers = await production_signers(s, b.id)
    await ctx.require_duty(action, "batch", str(b.id), "whoever signed production records of a batch cannot "
                           "review or release it", production_signers=tuple(signers))


async def review_items(ctx: Context, req: SignedRequest, batch_number: str, keys: list[str],
                       conclusion: str) -> list[Item]:
    """QA's conclusion on one or more exceptions; signed REVIEWED."""
    async def clean() -> tuple[Batch, list[Item]]:
        text("conclusion", conclusion, 4000)
        if not keys or len(set(keys)) != len(keys):
            raise invalid("name each item once, at least one")
        async with ctx.db.read() as s:
            b = await _batch(s, ctx, batch_number)
            found = {i.key: i for i in await items(s, b)}
        if b.status not in REVIEWABLE:
            raise AppError(ErrorCode.CONFLICT, f"batch {batch_number} is {b.status}")
        unknown = [k for k in keys if k not in found]
        if unknown:
            raise AppError(ErrorCode.NOT_FOUND, f"not an exception of {batch_number}: {', '.join(unknown)}")
        done = [k for k in keys if found[k].reviewed is not None]
        if done:
            raise AppError(ErrorCode.CONFLICT, f"reviewed already: {', '.join(done)}")
        await _duty(ctx, "review_batch", b)
        return b, [found[k] for k in keys]

    async def save(s: AsyncSession, picked: tuple[Batch, list[Item]],
                   signatures: Signatures[tuple[Batch, list[Item]]]) -> list[Item]:
        b, chosen = picked
        now = utcnow()
        rows = [ReviewedItem(batch_id=b.id, item_key=i.key, kind=i.kind.value, conclusion=conclusion.strip(),
                             reviewed_by=signatures.signer, reviewed_at=now) for i in chosen]
        s.add_all(rows)
        await s.flush()
        await signatures.bind(s, "batch_review_item", ",".join(str(r.id) for r in rows), {
            "batch": batch_number, "items": [i.key for i in chosen], "conclusion": conclusion.strip()})
        return [Item(**{**i.__dict__, "reviewed": r}) for i, r in zip(chosen, rows, strict=True)]

    return await perform(ctx, req, reason=f"{len(keys)} exception(s) of {batch_number} reviewed", clean=clean,
                         save=save, meanings=("REVIEWED",), conflict="one of these items was reviewed meanwhile")


def blockers(found: list[Item]) -> list[str]:
    """What stands between the batch record and its release: unreviewed items, open deviations."""
    out = [f"{i.key} not reviewed" for i in found if i.reviewed is None]
    out += [f"{i.summary}: not closed" for i in found if i.kind is ReviewKind.DEVIATION and i.open]
    return out


async def conclude(ctx: Context, req: SignedRequest, batch_number: str, opinion: str) -> BatchReview:
    """QA's opinion on the batch record once nothing is left open; signed REVIEWED. The batch is then
    UNDER_REVIEW, waiting for the QP's decision."""
    async def clean() -> tuple[Batch, list[Item]]:
        text("opinion", opinion, 4000)
        async with ctx.db.read() as s:
            b = await _batch(s, ctx, batch_number)
            found = await items(s, b)
            done = (await s.execute(select(BatchReview.id).where(BatchReview.batch_id == b.id))).first()
        if b.status not in CONCLUDABLE:
            raise AppError(ErrorCode.CONFLICT, f"batch {batch_number} is {b.status}; a review is concluded on a "
                                               "completed batch")
        if done is not None:
            raise AppError(ErrorCode.CONFLICT, f"the review of {batch_number} is concluded already")
        left = blockers(found)
        if left:
            raise AppError(ErrorCode.CONFLICT, f"the review cannot be concluded: {'; '.join(left[:10])}"
                           + (f" and {len(left) - 10} more" if len(left) > 10 else ""))
        await _duty(ctx, "review_batch", b)
        return b, found

    async def save(s: AsyncSession, checked: tuple[Batch, list[Item]],
                   signatures: Signatures[tuple[Batch, list[Item]]]) -> BatchReview:
        b, found = checked
        batch = await s.get_one(Batch, b.id)
        if batch.status == BatchStatus.COMPLETED:
            batch.status = BatchStatus.UNDER_REVIEW.value
        row = BatchReview(batch_id=b.id, opinion=opinion.strip(), items=len(found), concluded_by=signatures.signer,
                          concluded_at=utcnow())
        s.add(row)
        # The batch's audit trail is reviewed with it: its data changes are items above (IT-07).
        await audit_review.for_release(s, batch_number, signatures.signer, found, opinion.strip(), batch.started_at)
        await s.flush()
        await signatures.bind(s, "batch_review", str(row.id), {
            "batch": batch_number, "opinion": row.opinion, "items": [i.key for i in found]})
        return row

    return await perform(ctx, req, reason=f"review of {batch_number} concluded", clean=clean, save=save,
                         meanings=("REVIEWED",), conflict=f"the review of {batch_number} was concluded meanwhile")


async def ready_for_release(s: AsyncSession, b: Batch) -> None:
    """Release needs the concluded review and, again now, nothing unreviewed or open (PR-71)."""
    review = (await s.execute(select(BatchReview.id).where(BatchReview.batch_id == b.id))).first()
    if review is None:
        raise AppError(ErrorCode.CONFLICT, f"QA has not concluded the review of {b.batch_number}")
    left = blockers(await items(s, b)) + (await test_reports.batch_qc(s, b.id))[1]
    if left:
        raise AppError(ErrorCode.CONFLICT, f"{b.batch_number} cannot be released: {'; '.join(left[:10])}")


async def reject(ctx: Context, req: SignedRequest, batch_number: str, reason: str) -> Batch:
    """The QP's decision not to release (QM-01): the batch is REJECTED, from any status before release;
    signed REJECTED."""
    async def clean() -> Batch:
        text("reason", reason, 4000)
        async with ctx.db.read() as s:
            b = await _batch(s, ctx, batch_number)
        if not BatchStatus(b.status).can_become(BatchStatus.REJECTED):
            raise AppError(ErrorCode.CONFLICT, f"batch {batch_number} is {b.status}: it cannot be rejected")
        return b

    async def save(s: AsyncSession, b: Batch, signatures: Signatures[Batch]) -> Batch:
        batch = await s.get_one(Batch, b.id)
        if not BatchStatus(batch.status).can_become(BatchStatus.REJECTED):
            raise AppError(ErrorCode.CONFLICT, f"batch {batch_number} became {batch.status} meanwhile")
        batch.status = BatchStatus.REJECTED.value
        await s.flush()
        await signatures.bind(s, "batch", str(b.id), {"batchNumber": batch_number, "status": "REJECTED",
                                                      "reason": reason.strip()})
        return batch

    await perform(ctx, req, reason=f"batch {batch_number} rejected: {reason.strip()}", clean=clean, save=save,
                  meanings=("REJECTED",))
    async with ctx.db.read() as s:
        return await _batch(s, ctx, batch_number)  # with its pools and recipe, for the answer
