"""Electronic test records of a batch (QC-06, QC-07, QC-09, QC-10, QC-12): results entered by QC analysts and
judged on the server against the specification version in effect when the record was opened, reviewed by
another person, corrected with a reason. Values travel as decimal text."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import qc_records as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import EntryMethod, TestRecordStatus, TestStage, Verdict
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="A named input of a formula item, as entered (decimal text).")
class FormulaInputValue:
    name: str
    value: str


@strawberry.type(description="One result line of a test record (QC-06). A correction is a new line; the one "
                             "it replaces stays, no longer current.")
class TestResult:
    id: int
    item: str
    raw: str = strawberry.field(description="The raw value as entered or imported; a formula item's computed value")
    inputs: list[FormulaInputValue] = strawberry.field(description="A formula item's inputs as entered")
    formula: str | None = strawberry.field(description="The specification's preset formula applied (QC-10)")
    reported: str = strawberry.field(description="The reported value: rounded on the server by the item's rule")
    verdict: Verdict
    reason: str
    rounding: str = strawberry.field(description="The rounding standard's version and the item's rule applied")
    check_version: str = strawberry.field(description="The version of the automatic check that judged it (QC-11)")
    analyst: str
    entered_at: datetime = strawberry.field(description="The server's clock when the result was recorded")
    method: str
    instrument_id: str
    entry_method: EntryMethod
    current: bool
    replaces_id: int | None
    correction_reason: str | None


@strawberry.type(description="A test record of a batch, stage and subject against one specification version.")
class TestRecord:
    id: int
    batch_number: str
    stage: TestStage
    subject_code: str
    specification_code: str
    specification_version: int
    status: TestRecordStatus
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    results: list[TestResult] = strawberry.field(description="Every line, corrected ones too, in entry order")


def result_of(r: res.TestResult) -> TestResult:
    return of(TestResult, r, inputs=[FormulaInputValue(name=k, value=v) for k, v in (r.inputs or {}).items()],
              current=r.current_key is not None)


def record_of(v: res.RecordView) -> TestRecord:
    return of(TestRecord, v.record, batch_number=v.batch_number, results=[result_of(r) for r in v.results])


@strawberry.input
class FormulaInput:
    name: str
    value: str


@strawberry.input
class RecordTestResultInput:
    batch_number: str
    stage: TestStage
    subject_code: str = strawberry.field(description="The intermediate or product code of the specification")
    item: str
    value: str | None = strawberry.field(default=None, description="The raw result; none for a formula item")
    inputs: list[FormulaInput] = strawberry.field(default_factory=list,
                                                   description="A formula item's raw inputs, by name")
    instrument_id: str = ""
    entry_method: EntryMethod = EntryMethod.MANUAL
    reagents: list[str] = strawberry.field(default_factory=list, description="Codes of the reagent, standard, "
                                           "solution and kit lots used; each must be released and in date")
    sample_code: str = strawberry.field(default="", description="The sample tested (B.13): received in the lab, "
                                                             "of this batch, not disposed of")
    sample_amount: float | None = strawberry.field(default=None, description="How much of the sample the test used")


@strawberry.input
class CorrectTestResultInput:
    result_id: int
    value: str | None = None
    inputs: list[FormulaInput] = strawberry.field(default_factory=list)
    reason: str = strawberry.field(description="Why the result is corrected")


@strawberry.input
class ReviewTestRecordInput:
    record_id: int
    comment: str


async def _view(info: Info[Context, None], record_id: int) -> TestRecord:
    v = await res.get(info.context, record_id)
    assert v is not None  # just written
    return record_of(v)


@strawberry.type(description="The test records of a batch exported as a file.")
class TestRecordsFile:
    batch_number: str
    count: int
    filename: str
    content_type: str
    data: str


@strawberry.type
class TestRecordQuery:
    @strawberry.field(description="A test record with every result line (QC-06).",
                      extensions=can("quality:test_record", "read"))
    async def test_record(self, info: Info[Context, None], id: int) -> TestRecord | None:
        v = await res.get(info.context, id)
        return record_of(v) if v is not None else None

    @strawberry.field(description="Every test record of a batch, every stage: intermediates, the product to be "
                                  "packaged and the finished product (QC-07).",
                      extensions=can("quality:test_record", "read"))
    async def batch_tests(self, info: Info[Context, None], batch_number: str) -> list[TestRecord]:
        return [record_of(v) for v in await res.of_batch(info.context, batch_number)]

    @strawberry.field(description="Every test record of a batch as a JSON file, corrections included (QC-12); "
                                  "the export is audited.", extensions=can("quality:test_record", "export"))
    async def export_batch_tests(self, info: Info[Context, None], batch_number: str) -> TestRecordsFile:
        data, count = await res.export(info.context, batch_number)
        return TestRecordsFile(batch_number=batch_number.strip(), count=count,
                               filename=f"tests-{batch_number.strip()}.json", content_type="application/json",
                               data=data)


@strawberry.type
class TestRecordMutation:
    @strawberry.mutation(description="Record a result (QC analysts); signed PERFORMED. The first result of a batch, "
                                     "stage and subject opens its test record against the effective specification; "
                                     "the reported value and verdict are computed on the server.",
                         extensions=can("quality:test_record", "write"))
    async def record_test_result(self, info: Info[Context, None], input: RecordTestResultInput,
                                 signature: SignatureInput) -> TestRecord:
        e = res.ResultEntry(input.batch_number, input.stage.value, input.subject_code, input.item, input.value,
                            tuple((i.name, i.value) for i in input.inputs), input.instrument_id,
                            input.entry_method.value, tuple(input.reagents), sample_code=input.sample_code,
                            sample_amount=input.sample_amount)
        row = await res.record_result(info.context, signed(info, signature), e)
        return await _view(info, row.record_id)

    @strawberry.mutation(description="Correct a result with a reason; signed PERFORMED. The old line stays; a "
                                     "reviewed record goes back to review.",
                         extensions=can("quality:test_record", "write"))
    async def correct_test_result(self, info: Info[Context, None], input: CorrectTestResultInput,
                                  signature: SignatureInput) -> TestRecord:
        row = await res.correct_result(info.context, signed(info, signature), input.result_id, input.value,
                                       tuple((i.name, i.value) for i in input.inputs), input.reason)
        return await _view(info, row.record_id)

    @strawberry.mutation(description="Review a test record (QC reviewers who entered none of its results); "
                                     "signed REVIEWED.",
                         extensions=can("quality:test_record", "review"))
    async def review_test_record(self, info: Info[Context, None], input: ReviewTestRecordInput,
                                 signature: SignatureInput) -> TestRecord:
        r = await res.review(info.context, signed(info, signature), input.record_id, input.comment)
        return await _view(info, r.id)
