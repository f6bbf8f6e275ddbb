"""The QC laboratory's work queues: the analyst's worklist and the reviewer's queue (issue 13, "Screens")."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import qc_worklist as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import ReportStatus, TestStage
from schema.permissions import can
from schema.qc_records import TestRecord, record_of


@strawberry.type(description="A test item of a specification version, as the analyst enters it.")
class WorkItem:
    name: str
    method: str
    unit: str
    limits: str = strawberry.field(description="The acceptance criterion as a test report prints it")
    textual: bool = strawberry.field(description="A text result (such as Negative), not a number")
    formula: str | None = strawberry.field(description="A preset formula: enter its inputs, not the value")
    inputs: list[str] = strawberry.field(description="The formula's input names, in order of first use")


@strawberry.type(description="An OPEN test record and what is left to enter in it.")
class WorkRecord:
    record: TestRecord = strawberry.field(description="The record with every line entered so far")
    missing_items: list[WorkItem] = strawberry.field(description="Items of its specification version with no "
                                                                 "current result yet")


@strawberry.type(description="A batch, stage and subject with an effective specification and no test record yet: "
                             "its first result opens the record.")
class StartableTest:
    batch_number: str
    product: str
    batch_status: str
    stage: TestStage
    subject_code: str
    specification_code: str
    specification_version: int
    items: list[WorkItem]


@strawberry.type(description="The QC analyst's worklist.")
class QcWorklist:
    records: list[WorkRecord]
    startable: list[StartableTest]


@strawberry.type(description="A reviewed test record whose report is to be issued, or reissued after a correction.")
class ReportDue:
    record: TestRecord
    report_status: ReportStatus | None = strawberry.field(description="None: never issued; REISSUE_REQUIRED: a "
                                                                      "corrected result flagged the issued version")
    report_version: int | None


@strawberry.type(description="The QC reviewer's queue: only records the caller entered no result in.")
class QcReviewQueue:
    to_review: list[TestRecord] = strawberry.field(description="OPEN records with results, waiting for review")
    to_issue: list[ReportDue] = strawberry.field(description="REVIEWED records without a current issued report")


def _item(i: res.WorkItem) -> WorkItem:
    return of(WorkItem, i)


@strawberry.type
class QcWorklistQuery:
    @strawberry.field(description="The QC analyst's worklist: OPEN test records with the items left to enter, and "
                                  "batches whose tests can start. For those who enter results (QC analysts).",
                      extensions=can("quality:test_record", "write"))
    async def qc_worklist(self, info: Info[Context, None]) -> QcWorklist:
        w = await res.worklist(info.context)
        return QcWorklist(
            records=[WorkRecord(record=record_of(r.view), missing_items=[_item(i) for i in r.missing])
                     for r in w.records],
            startable=[of(StartableTest, t, items=[_item(i) for i in t.items]) for t in w.startable])

    @strawberry.field(description="The QC reviewer's queue: records to review and reports to issue, leaving out "
                                  "every record the caller entered a result in (separation of duties). For QC "
                                  "reviewers.", extensions=can("quality:test_record", "review"))
    async def qc_review_queue(self, info: Info[Context, None]) -> QcReviewQueue:
        q = await res.review_queue(info.context)
        return QcReviewQueue(to_review=[record_of(v) for v in q.to_review],
                             to_issue=[ReportDue(record=record_of(d.view),
                                                 report_status=ReportStatus(d.report_status) if d.report_status
                                                 else None, report_version=d.report_version)
                                       for d in q.to_issue])
