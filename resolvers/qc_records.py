"""Electronic test records of a batch (QC-06, QC-07, QC-09, QC-10, QC-12).

A QC analyst records a result, signed PERFORMED: the first result of a batch, stage and subject opens its
test record against the specification version effective then, and every later result is judged against
that same version. The server computes a formula item from its inputs (records/formula.py), rounds by the
item's GB/T 8170 rule and judges (records/judgement.py); nothing of that is typed. A QC reviewer who entered
none of its results reviews the record, signed REVIEWED. A correction keeps the line it replaces, needs a
reason, and sends a reviewed record back to review.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Alarm
from records.audit import PendingEvent, add
from records.base import utcnow
from records.formula import evaluate
from records.judgement import CHECK_VERSION, Judgement, SpecItem, judge
from records.plasma import Batch
from records.qc_record import ROUNDING_STANDARD
from records.qc_record import EntryMethod as EntryMethod
from records.qc_record import TestRecord as TestRecord
from records.qc_record import TestRecordStatus as TestRecordStatus
from records.qc_record import TestResult as TestResult
from records.qc_record import TestStage as TestStage
from records.qc_watch import after_result
from records.specification import Specification, SubjectKind
from records.test_report import flag_for_reissue
from resolvers import reagents, sample_life
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from resolvers.specifications import effective, stored_items

MOST_INPUTS = 20


@dataclass(frozen=True)
class ResultEntry:
    batch_number: str
    stage: str
    subject_code: str
    item: str
    value: str | None = None  # the raw result; none for a formula item
    inputs: tuple[tuple[str, str], ...] = ()  # a formula item's raw inputs, by name
    instrument_id: str = ""
    entry_method: str = EntryMethod.MANUAL.value
    reagents: tuple[str, ...] = ()  # codes of the reagent and kit lots used (QC-22, QC-23)
    sample_code: str = ""  # the sample tested (B.13), received in the lab and not used up
    sample_amount: float | None = None  # how much of it the test used


@dataclass(frozen=True)
class Computed:
    raw: str
    inputs: dict[str, str] | None
    formula: str | None
    rounding: str
    method: str
    judgement: Judgement


def subject_kind(stage: str) -> str:
    """Intermediates are specified as intermediates; the bulk and the finished product as the product."""
    return SubjectKind.INTERMEDIATE.value if stage == TestStage.INTERMEDIATE else SubjectKind.PRODUCT.value


def rounding_of(item: SpecItem) -> str:
    if item.textual:
        return "none (text result)"
    rule = item.interval if item.rounding == "INTERVAL" else item.precision
    return f"{ROUNDING_STANDARD} {item.rounding} {rule}"


def compute(item: SpecItem, value: str | None, inputs: dict[str, str] | None) -> Computed:
    """The reported value and verdict of a raw result (or a formula's inputs): the server's alone."""
    try:
        if item.formula is not None:
            if value is not None and value.strip():
                raise ValueError(f"item {item.name} is computed by its formula {item.formula}: give its inputs")
            raw = format(evaluate(item.formula, inputs or {}), "f")
        else:
            if inputs:
                raise ValueError(f"item {item.name} has no formula: give its value, not inputs")
            raw = value or ""
        return Computed(raw, inputs if item.formula is not None else None, item.formula, rounding_of(item),
                        item.method, judge(item, raw))
    except ValueError as e:
        raise invalid(str(e)) from None


def _item(spec: Specification, name: str) -> SpecItem:
    found = next((i for i in stored_items(spec) if i.name.strip().casefold() == name.strip().casefold()), None)
    if found is None:
        raise invalid(f"specification {spec.code} version {spec.version} has no item {name.strip()[:60]!r}")
    return found


def _key(record_id: int, item: str) -> str:
    return f"{record_id}:{item.strip().casefold()}"


def content(r: TestResult, record: TestRecord) -> dict[str, Any]:
    """What a result signature is bound to: the line as the server computed it, and its specification."""
    return {"record": record.id, "specification": f"{record.specification_code}/{record.specification_version}",
            "item": r.item, "raw": r.raw, "inputs": r.inputs, "formula": r.formula, "reported": r.reported,
            "verdict": r.verdict, "rounding": r.rounding, "checkVersion": r.check_version, "method": r.method,
            "instrumentId": r.instrument_id, "entryMethod": r.entry_method, "replaces": r.replaces_id}


def _check(e: ResultEntry) -> dict[str, str] | None:
    text("batchNumber", e.batch_number, 32)
    text("subjectCode", e.subject_code, 64)
    text("item", e.item, 200)
    if e.stage not in TestStage.__members__:
        raise invalid(f"stage: one of {', '.join(TestStage)}")
    if e.entry_method not in EntryMethod.__members__:
        raise invalid(f"entryMethod: one of {', '.join(EntryMethod)}")
    if len(e.instrument_id) > 64:
        raise invalid("instrumentId: at most 64 characters")
    if e.entry_method == EntryMethod.INSTRUMENT and not e.instrument_id.strip():
        raise invalid("instrumentId is missing: a result from an instrument names it")
    if e.value is not None and len(e.value) > 200:
        raise invalid("value: at most 200 characters")
    if len(e.inputs) > MOST_INPUTS:
        raise invalid(f"inputs: at most {MOST_INPUTS}")
    if e.sample_amount is not None and not (e.sample_code.strip() and 0 < e.sample_amount < 1e9):
        raise invalid("sampleAmount: a positive amount of the sample named by sampleCode")
    names = [n for n, _ in e.inputs]
    if len(set(names)) != len(names):
        raise invalid("inputs: an input is named twice")
    return dict(e.inputs) if e.inputs else None


async def _record_of(s: AsyncSession, e: ResultEntry) -> tuple[Batch, TestRecord | None]:
    batch = (await s.execute(select(Batch).where(Batch.batch_number == e.batch_number.strip()))).scalar_one_or_none()
    if batch is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {e.batch_number.strip()[:32]}")
    record = (await s.execute(select(TestRecord).where(
        TestRecord.batch_id == batch.id, TestRecord.stage == e.stage,
        TestRecord.subject_code == e.subject_code.strip()))).scalar_one_or_none()
    return batch, record


async def record_result(ctx: Context, req: SignedRequest, e: ResultEntry) -> TestResult:
    """A QC analyst's result (QC-06, QC-09), signed PERFORMED; judged on the server."""
    p = ctx.signed_in()

    @dataclass(frozen=True)
    class Ready:
        spec_id: int
        computed: Computed
        lots: tuple[int, ...] = ()

    async def clean() -> Ready:
        inputs = _check(e)
        async with ctx.db.read() as s:
            batch, record = await _record_of(s, e)
            if e.sample_code.strip():
                await sample_life.testable(s, e.sample_code, batch.id)
            if record is not None:
                spec = await s.get_one(Specification, record.specification_id)
                if record.status == TestRecordStatus.REVIEWED:
                    raise conflict("this test record is reviewed; a result is changed by a correction")
                taken = (await s.execute(select(TestResult.id).where(
                    TestResult.current_key == _key(record.id, e.item)))).first()
                if taken is not None:
                    raise conflict(f"item {e.item.strip()[:60]} has a result; correct it with a reason instead")
            else:
                spec = await effective(s, subject_kind(e.stage), e.subject_code.strip())
        computed = compute(_item(spec, e.item), e.value, inputs)
        lots = await reagents.usable(ctx, e.reagents, "recordTestResult")  # refused (and audited) if not usable
        return Ready(spec.id, computed, tuple(lots.values()))

    async def save(s: AsyncSession, ready: Ready, signatures: Signatures[Ready]) -> TestResult:
        batch, record = await _record_of(s, e)
        spec = await s.get_one(Specification, ready.spec_id)
        if record is None:
            record = TestRecord(batch_id=batch.id, stage=e.stage, subject_kind=subject_kind(e.stage),
                                subject_code=e.subject_code.strip(), specification_id=spec.id,
                                specification_code=spec.code, specification_version=spec.version,
                                status=TestRecordStatus.OPEN.value, created_by=p.username, created_at=utcnow())
            s.add(record)
            await s.flush()
        elif record.specification_id != spec.id or record.status != TestRecordStatus.OPEN:
            raise conflict("the test record changed meanwhile; look again")
        item = _item(spec, e.item)
        row = _line(record, item, ready.computed, signatures.signer, e)
        s.add(row)
        await s.flush()
        raised.extend(await after_result(s, record, row, item))  # an OOS when it fails, an OOT alert
        await reagents.record_use(s, list(ready.lots), "test_result", str(row.id), signatures.signer)
        used = {"reagents": sorted(c.strip() for c in e.reagents)} if ready.lots else {}
        if e.sample_code.strip():
            await sample_life.used_in_test(s, e.sample_code, batch.id, row, e.sample_amount)
            used["sample"] = [e.sample_code.strip()]
        await signatures.bind(s, "test_result", str(row.id), content(row, record) | used)
        return row

    raised: list[Alarm] = []
    return await perform(ctx, req, reason=f"result of {e.item.strip()[:60]} for batch {e.batch_number.strip()}",
                         clean=clean, save=save, conflict="this item was recorded concurrently; look again",
                         publish=lambda _: announce(ctx, raised))


def _line(record: TestRecord, item: SpecItem, c: Computed, analyst: str, e: ResultEntry) -> TestResult:
    j = c.judgement
    return TestResult(record_id=record.id, item=item.name, raw=c.raw, inputs=c.inputs, formula=c.formula,
                      reported=j.reported, verdict=j.verdict.value, reason=j.reason, rounding=c.rounding,
                      check_version=CHECK_VERSION,
                      analyst=analyst, entered_at=utcnow(), method=c.method, instrument_id=e.instrument_id.strip(),
                      entry_method=e.entry_method, current_key=_key(record.id, item.name))


async def correct_result(ctx: Context, req: SignedRequest, result_id: int, value: str | None,
                         inputs: tuple[tuple[str, str], ...], reason: str) -> TestResult:
    """A corrected result, signed PERFORMED by a QC analyst: a new line; the old one stays, no longer current.
    A reviewed record goes back to review."""
    @dataclass(frozen=True)
    class Ready:
        old: TestResult
        computed: Computed
        entry: ResultEntry

    async def clean() -> Ready:
        text("reason (why the result is corrected)", reason, 2000)
        async with ctx.db.read() as s:
            old = await s.get(TestResult, result_id)
            if old is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no test result {result_id}")
            if old.current_key is None:
                raise conflict("this result was corrected already; correct the current one")
            record = await s.get_one(TestRecord, old.record_id)
            spec = await s.get_one(Specification, record.specification_id)
        entry = ResultEntry("-", record.stage, record.subject_code, old.item, value, inputs, old.instrument_id,
                            old.entry_method)
        checked = _check(entry)
        return Ready(old, compute(_item(spec, old.item), value, checked), entry)

    async def save(s: AsyncSession, ready: Ready, signatures: Signatures[Ready]) -> TestResult:
        old = await s.get_one(TestResult, result_id)
        if old.current_key != ready.old.current_key:
            raise conflict("the result was corrected meanwhile; look again")
        record = await s.get_one(TestRecord, old.record_id)
        spec = await s.get_one(Specification, record.specification_id)
        old.current_key = None
        await s.flush()  # the key is free before the new line takes it
        row = _line(record, _item(spec, old.item), ready.computed, signatures.signer, ready.entry)
        row.replaces_id, row.correction_reason = old.id, reason.strip()
        s.add(row)
        if record.status == TestRecordStatus.REVIEWED:
            record.status, record.reviewed_by, record.reviewed_at = TestRecordStatus.OPEN.value, None, None
        await s.flush()
        raised.extend(await after_result(s, record, row, _item(spec, old.item)))
        await flag_for_reissue(s, record.id, reason.strip())
        await add(s, PendingEvent("RESULT_CORRECTED", "test_result", str(row.id), {
            "record": record.id, "item": old.item, "old": {"raw": old.raw, "inputs": old.inputs,
                                                          "reported": old.reported, "verdict": old.verdict},
            "new": {"raw": row.raw, "inputs": row.inputs, "reported": row.reported, "verdict": row.verdict},
            "replaces": old.id}, reason.strip()))
        await signatures.bind(s, "test_result", str(row.id), content(row, record))
        return row

    raised: list[Alarm] = []
    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save,
                         conflict="this result was corrected concurrently; look again",
                         publish=lambda _: announce(ctx, raised))


def announce(ctx: Context, raised: list[Alarm]) -> None:
    """Out-of-trend alarms go to the alarm subscribers once the result is committed."""
    for a in raised:
        ctx.services.alarms.published("RAISED", a)


async def review(ctx: Context, req: SignedRequest, record_id: int, comment: str) -> TestRecord:
    """A QC reviewer who entered none of its results reviews a record (separation of duties), signed REVIEWED."""
    async def clean() -> TestRecord:
        text("comment", comment, 2000)
        async with ctx.db.read() as s:
            record = await s.get(TestRecord, record_id)
            if record is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no test record {record_id}")
            analysts = set((await s.execute(select(TestResult.analyst).where(
                TestResult.record_id == record_id))).scalars())
        if record.status != TestRecordStatus.OPEN:
            raise conflict(f"test record {record_id} is {record.status}")
        if not analysts:
            raise conflict(f"test record {record_id} has no results to review")
        await ctx.require_duty("review_test_record", "test_record", str(record_id),
                               "whoever entered a result of a test record cannot review it",
                               analysts=sorted(analysts))
        return record

    async def save(s: AsyncSession, before: TestRecord, signatures: Signatures[TestRecord]) -> TestRecord:
        record = await s.get_one(TestRecord, record_id)
        lines = list((await s.execute(select(TestResult).where(TestResult.record_id == record_id)
                                      .order_by(TestResult.id))).scalars())
        if record.status != TestRecordStatus.OPEN or signatures.signer in {r.analyst for r in lines}:
            raise conflict("the test record changed meanwhile; look again")
        record.status, record.reviewed_by, record.reviewed_at = (TestRecordStatus.REVIEWED.value,
                                                                 signatures.signer, utcnow())
        await s.flush()
        await signatures.bind(s, "test_record", str(record.id), {
            "record": record.id, "status": record.status,
            "specification": f"{record.specification_code}/{record.specification_version}",
            "results": [content(r, record) for r in lines if r.current_key is not None]})
        return record

    return await perform(ctx, req, reason=comment.strip(), clean=clean, save=save, meanings=("REVIEWED",),
                         conflict="the test record was reviewed concurrently; look again")


# --- reads -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordView:
    record: TestRecord
    batch_number: str
    results: list[TestResult]


async def _views(s: AsyncSession, records: Sequence[tuple[TestRecord, str]]) -> list[RecordView]:
    ids = [r.id for r, _ in records]
    lines: dict[int, list[TestResult]] = {i: [] for i in ids}
    if ids:
        for line in (await s.execute(select(TestResult).where(TestResult.record_id.in_(ids))
                                     .order_by(TestResult.id))).scalars():
            lines[line.record_id].append(line)
    return [RecordView(r, n, lines[r.id]) for r, n in records]


async def get(ctx: Context, record_id: int) -> RecordView | None:
    async with ctx.db.read() as s:
        rows = (await s.execute(select(TestRecord, Batch.batch_number).join(Batch, Batch.id == TestRecord.batch_id)
                                .where(TestRecord.id == record_id))).all()
        views = await _views(s, rows)
    return views[0] if views else None


async def of_batch(ctx: Context, batch_number: str) -> list[RecordView]:
    """Every test record of a batch, every stage (QC-07), intermediates first."""
    order = {s.value: i for i, s in enumerate(TestStage)}
    async with ctx.db.read() as s:
        rows = (await s.execute(select(TestRecord, Batch.batch_number).join(Batch, Batch.id == TestRecord.batch_id)
                                .where(Batch.batch_number == batch_number.strip()).order_by(TestRecord.id))
                ).all()
        views = await _views(s, rows)
    return sorted(views, key=lambda v: (order.get(v.record.stage, 9), v.record.id))


def _plain(v: RecordView) -> dict[str, Any]:
    r = v.record
    return {"id": r.id, "batchNumber": v.batch_number, "stage": r.stage, "subjectCode": r.subject_code,
            "specification": f"{r.specification_code}/{r.specification_version}", "status": r.status,
            "createdBy": r.created_by, "createdAt": r.created_at.isoformat(), "reviewedBy": r.reviewed_by,
            "reviewedAt": r.reviewed_at.isoformat() if r.reviewed_at else None,
            "results": [content(x, r) | {"id": x.id, "analyst": x.analyst, "enteredAt": x.entered_at.isoformat(),
                                         "current": x.current_key is not None,
                                         "correctionReason": x.correction_reason} for x in v.results]}


async def export(ctx: Context, batch_number: str) -> tuple[str, int]:
    """Every test record of a batch as JSON, every line with its corrections (QC-12); the export is audited."""
    text("batchNumber", batch_number, 32)
    views = await of_batch(ctx, batch_number)
    data = json.dumps({"batchNumber": batch_number.strip(), "testRecords": [_plain(v) for v in views]},
                      ensure_ascii=False, indent=1)
    await ctx.db.record(ctx.audit_context(f"test records of batch {batch_number.strip()} exported"), PendingEvent(
        "EXPORTED", "test_record", batch_number.strip(), {"format": "JSON", "count": len(views)}))
    return data, len(views)
