"""The QC laboratory's work queues (issue 13, "Screens"): reads only, a constant number of statements.

The analyst's worklist: every OPEN test record with the items of its specification version that have no
current result yet, and the batches in production or completed whose product or intermediate has an
effective specification but no test record at a stage yet (so a first result can start one).
The reviewer's queue: OPEN records with results of which the caller entered none (separation of duties:
whoever entered a result cannot review it), and REVIEWED records whose report is not issued or waits for
reissue, again only those the caller entered nothing in (nor may they approve that report).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from records.formula import inputs_of
from records.genealogy import Intermediate
from records.judgement import SpecItem
from records.plasma import Batch, BatchStatus
from records.qc_record import TestRecord, TestRecordStatus, TestStage
from records.recipe import Recipe
from records.specification import Specification, SubjectKind
from records.test_report import ReportStatus, TestReport
from resolvers.context import Context
from resolvers.qc_records import RecordView, _views
from resolvers.specifications import stored_items
from resolvers.test_reports import limits

MOST = 200  # records or batches listed per part; the oldest first


@dataclass(frozen=True)
class WorkItem:
    name: str
    method: str
    unit: str
    limits: str
    textual: bool
    formula: str | None
    inputs: list[str]


@dataclass(frozen=True)
class WorkRecord:
    view: RecordView
    missing: list[WorkItem]


@dataclass(frozen=True)
class Startable:
    batch_number: str
    product: str
    batch_status: str
    stage: str
    subject_code: str
    specification_code: str
    specification_version: int
    items: list[WorkItem]


@dataclass(frozen=True)
class Worklist:
    records: list[WorkRecord]
    startable: list[Startable]


@dataclass(frozen=True)
class ReportDue:
    view: RecordView
    report_status: str | None  # None: never issued; REISSUE_REQUIRED: a corrected result flagged it
    report_version: int | None


@dataclass(frozen=True)
class ReviewQueue:
    to_review: list[RecordView]
    to_issue: list[ReportDue]


def work_item(i: SpecItem) -> WorkItem:
    return WorkItem(i.name, i.method, i.unit, limits(i), i.textual, i.formula,
                    inputs_of(i.formula) if i.formula else [])


async def _records(s: AsyncSession, status: str) -> list[RecordView]:
    rows = (await s.execute(select(TestRecord, Batch.batch_number).join(Batch, Batch.id == TestRecord.batch_id)
                            .where(TestRecord.status == status).order_by(TestRecord.id).limit(MOST))).all()
    return await _views(s, rows)


async def worklist(ctx: Context) -> Worklist:
    async with ctx.db.read() as s:
        views = await _records(s, TestRecordStatus.OPEN.value)
        spec_ids = {v.record.specification_id for v in views}
        specs = {r.id: r for r in (await s.execute(select(Specification).where(
            Specification.id.in_(spec_ids)))).scalars()} if spec_ids else {}
        startable = await _startable(s)
    records = []
    for v in views:
        done = {r.item.casefold() for r in v.results if r.current_key is not None}
        missing = [work_item(i) for i in stored_items(specs[v.record.specification_id])
                   if i.name.casefold() not in done]
        records.append(WorkRecord(v, missing))
    return Worklist(records, startable)


async def _startable(s: AsyncSession) -> list[Startable]:
    """Batch, stage and subject with an effective specification and no test record yet. The product is
    specified under its recipe's code (or, for a batch without a recipe, its product name); an intermediate
    under its material code."""
    batches = (await s.execute(select(Batch.id, Batch.batch_number, Batch.product, Batch.status, Recipe.code)
                               .outerjoin(Recipe, Recipe.id == Batch.recipe_id)
                               .where(Batch.status.in_([BatchStatus.IN_PROGRESS.value, BatchStatus.COMPLETED.value]))
                               .order_by(Batch.id).limit(MOST))).all()
    if not batches:
        return []
    ids = [b.id for b in batches]
    made: dict[int, list[str]] = {i: [] for i in ids}
    for batch_id, code in (await s.execute(select(Intermediate.batch_id, Intermediate.material_code).where(
            Intermediate.batch_id.in_(ids), Intermediate.material_code.is_not(None)).order_by(Intermediate.id))):
        if code is not None and code not in made[batch_id]:
            made[batch_id].append(code)
    wanted: dict[int, list[tuple[str, str]]] = {}  # batch id -> (stage, effective key)
    for b in batches:
        products = dict.fromkeys(c for c in (b.code, b.product) if c)
        wanted[b.id] = [(stage, f"{SubjectKind.PRODUCT.value}:{c}") for c in products
                        for stage in (TestStage.BULK.value, TestStage.FINAL.value)]
        wanted[b.id] += [(TestStage.INTERMEDIATE.value, f"{SubjectKind.INTERMEDIATE.value}:{c}") for c in made[b.id]]
    keys = {k for pairs in wanted.values() for _, k in pairs}
    specs = {r.effective_key: r for r in (await s.execute(select(Specification).where(
        Specification.effective_key.in_(keys)))).scalars()}
    opened = {(r.batch_id, r.stage, r.subject_code) for r in await s.execute(
        select(TestRecord.batch_id, TestRecord.stage, TestRecord.subject_code).where(TestRecord.batch_id.in_(ids)))}
    out: list[Startable] = []
    for b in batches:
        for stage, key in wanted[b.id]:
            spec = specs.get(key)
            if spec is None or (b.id, stage, spec.subject_code) in opened:
                continue
            out.append(Startable(b.batch_number, b.product, b.status, stage, spec.subject_code, spec.code,
                                 spec.version, [work_item(i) for i in stored_items(spec)]))
    return out


async def review_queue(ctx: Context) -> ReviewQueue:
    me = ctx.signed_in().username
    async with ctx.db.read() as s:
        open_ = await _records(s, TestRecordStatus.OPEN.value)
        reviewed = await _records(s, TestRecordStatus.REVIEWED.value)
        ids = [v.record.id for v in reviewed]
        reports = list((await s.execute(select(TestReport).where(TestReport.record_id.in_(ids), TestReport.status.in_(
            [ReportStatus.ISSUED.value, ReportStatus.REISSUE_REQUIRED.value])).order_by(TestReport.id))).scalars()
                       ) if ids else []

    def mine(v: RecordView) -> bool:
        return any(r.analyst == me for r in v.results)

    current = {r.record_id: r for r in reports}  # the newest issued version of each record wins
    to_issue = [ReportDue(v, c.status if c else None, c.version if c else None) for v in reviewed
                if not mine(v) and ((c := current.get(v.record.id)) is None
                                    or c.status == ReportStatus.REISSUE_REQUIRED)]
    return ReviewQueue([v for v in open_ if v.results and not mine(v)], to_issue)
