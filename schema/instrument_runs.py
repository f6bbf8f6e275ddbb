"""Instrument runs of plasma testing (QC-08, QC-13, GP-03): import a plate reader's ELISA export or a PCR run
file, read the plate map, compare a reprocessing of the kept raw file, reprocess and review; pool tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import instrument_runs as res
from resolvers.context import Context
from schema.attachments import AttachmentFile, file_of
from schema.convert import of
from schema.enums import PoolKind, RetestItem, RetestOutcome, RunKind, RunStatus, WellOutcome
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="One well of a run as one processing computed it; a PCR well has a line per target.")
class InstrumentWell:
    position: str = strawberry.field(description="A1 to H12")
    content: str = strawberry.field(description="NC, PC or the sample code (donation number, pool or mini-pool)")
    role: str = strawberry.field(description="NC, PC or SAMPLE")
    target: str = strawberry.field(description="PCR: the target of this line; ELISA: empty")
    value: str | None = strawberry.field(description="The OD (ELISA) or Ct (PCR; null: undetermined), as in the file")
    ic: str | None = strawberry.field(description="PCR: the internal control's Ct")
    ratio: str | None = strawberry.field(description="ELISA: S/CO, the OD over the cut-off, 3 decimals")
    outcome: WellOutcome | None = strawberry.field(description="A sample's outcome; null for a control")


@strawberry.type(description="One processing of a run's raw file by a parser and rule version; the first is the "
                             "signed original, a confirmed reprocess adds one.")
class InstrumentProcessing:
    number: int
    parser: str
    parser_version: str
    valid: bool
    invalid_reason: str | None
    cutoff: str | None = strawberry.field(description="ELISA: the cut-off computed from the controls")
    processed_by: str
    processed_at: datetime
    reason: str
    wells: list[InstrumentWell]


@strawberry.type(description="A test result of a production pool or a mini-pool, kept with the pool (QC-13).")
class PoolTest:
    id: int
    pool_kind: PoolKind
    pool_code: str
    units: list[str] = strawberry.field(description="A mini-pool's donation numbers")
    run_id: int | None
    processing: int
    test: RetestItem
    result: RetestOutcome
    outcome: WellOutcome
    value: str | None = strawberry.field(description="S/CO (ELISA) or Ct (PCR)")
    kit_lot: str
    instrument: str
    analyst: str
    tested_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None


@strawberry.type(description="An imported instrument run: the raw file kept byte for byte, the processing in "
                             "effect with its plate map, every processing, and the pool results it wrote.")
class InstrumentRun:
    id: int
    kind: RunKind
    instrument_id: str
    test_item: RetestItem
    kit_lot: str
    analyst: str
    imported_at: datetime
    status: RunStatus
    invalid_reason: str | None
    run_label: str = strawberry.field(description="The plate or run name in the file's header")
    raw_sha256: str = strawberry.field(description="The SHA-256 of the raw file as imported")
    raw_file: AttachmentFile = strawberry.field(description="The raw file, to download (base64 in `data`)")
    parser: str
    parser_version: str
    cutoff: str | None
    wells: list[InstrumentWell] = strawberry.field(description="The plate map of the processing in effect")
    processings: list[InstrumentProcessing]
    pool_results: list[PoolTest]
    reviewed_by: str | None
    reviewed_at: datetime | None


@strawberry.type(description="A well's outcome in the processing in effect beside a reprocessing of the raw file.")
class WellComparison:
    position: str
    content: str
    target: str
    original_ratio: str | None
    original_outcome: WellOutcome | None
    ratio: str | None
    outcome: WellOutcome | None
    changed: bool


@strawberry.type(description="The kept raw file processed again (nothing written): compare, then reprocess.")
class InstrumentRunComparison:
    run_id: int
    original: InstrumentProcessing
    parser: str
    parser_version: str
    valid: bool
    invalid_reason: str | None
    cutoff: str | None
    wells: list[WellComparison]
    changed: list[str] = strawberry.field(description="The sample codes whose outcome differs")


def _wells(rows: list[dict[str, Any]]) -> list[InstrumentWell]:
    return [of(InstrumentWell, w) for w in rows]


def _processing(p: Any) -> InstrumentProcessing:
    return of(InstrumentProcessing, p, wells=_wells(p.wells))


def run_of(v: res.RunView) -> InstrumentRun:
    cur = v.current
    return of(InstrumentRun, v.run, raw_file=file_of(v.raw), parser=cur.parser, parser_version=cur.parser_version,
              cutoff=cur.cutoff, wells=_wells(cur.wells), processings=[_processing(p) for p in v.processings],
              pool_results=[of(PoolTest, r, units=r.units or []) for r in v.pool_results])


def comparison_of(c: res.Comparison) -> InstrumentRunComparison:
    before = {(w["position"], w["target"]): w for w in c.original.wells}
    wells = []
    for w in c.reprocessed.wells:
        old = before.get((w["position"], w["target"]), {})
        wells.append(WellComparison(position=w["position"], content=w["content"], target=w["target"],
                                    original_ratio=old.get("ratio"),
                                    original_outcome=WellOutcome(old["outcome"]) if old.get("outcome") else None,
                                    ratio=w["ratio"], outcome=WellOutcome(w["outcome"]) if w["outcome"] else None,
                                    changed=old.get("outcome") != w["outcome"]))
    p = c.reprocessed
    return InstrumentRunComparison(run_id=c.run_id, original=_processing(c.original), parser=p.parser,
                                   parser_version=p.version, valid=p.valid, invalid_reason=p.invalid_reason,
                                   cutoff=p.cutoff, wells=wells, changed=c.changed)


@strawberry.input
class MiniPoolInput:
    code: str = strawberry.field(description="The mini-pool's sample code as the file names it")
    donation_numbers: list[str]


@strawberry.input
class ImportInstrumentRunInput:
    instrument_id: str = strawberry.field(description="Must be the Instrument the file's header names")
    kind: RunKind
    test_item: RetestItem = strawberry.field(description="ELISA: HBSAG, ANTI_HCV, ANTI_HIV or SYPHILIS; PCR: NAT")
    kit_lot: str
    filename: str
    data: str = strawberry.field(description="The raw file, base64 (at most 512 KiB)")
    parser_version: str | None = strawberry.field(default=None, description="The rule version; none: the latest")
    mini_pools: list[MiniPoolInput] = strawberry.field(default_factory=list,
                                                        description="Mini-pools the file tests, with their units")


@strawberry.input
class ReprocessInstrumentRunInput:
    run_id: int
    parser_version: str
    reason: str


@strawberry.input
class ReviewInstrumentRunInput:
    run_id: int
    comment: str


async def _run(info: Info[Context, None], run_id: int) -> InstrumentRun:
    v = await res.get(info.context, run_id)
    assert v is not None  # just written
    return run_of(v)


@strawberry.type
class InstrumentRunQuery:
    @strawberry.field(description="An instrument run with its plate map and raw file (QC-08).",
                      extensions=can("quality:instrument_run", "read"))
    async def instrument_run(self, info: Info[Context, None], id: int) -> InstrumentRun | None:
        v = await res.get(info.context, id)
        return run_of(v) if v is not None else None

    @strawberry.field(description="The kept raw file processed again by a rule version, beside the processing in "
                                  "effect; nothing is written (GP-03).",
                      extensions=can("quality:instrument_run", "read"))
    async def compare_instrument_run(self, info: Info[Context, None], id: int,
                                     parser_version: str | None = None) -> InstrumentRunComparison:
        return comparison_of(await res.compare(info.context, id, parser_version))

    @strawberry.field(description="Every test result of a production pool or mini-pool (QC-13).",
                      extensions=can("quality:instrument_run", "read"))
    async def pool_tests(self, info: Info[Context, None], pool_code: str) -> list[PoolTest]:
        return [of(PoolTest, r, units=r.units or []) for r in await res.pool_tests(info.context, pool_code)]


@strawberry.type
class InstrumentRunMutation:
    @strawberry.mutation(description="Import a plate reader's ELISA export or a PCR run file (QC analysts); signed "
                                     "PERFORMED. The raw file is kept; each sample's result goes onto its unit or "
                                     "pool, a reactive one blocks it at once.",
                         extensions=can("quality:instrument_run", "write"))
    async def import_instrument_run(self, info: Info[Context, None], input: ImportInstrumentRunInput,
                                    signature: SignatureInput) -> InstrumentRun:
        inp = res.ImportInput(input.instrument_id, input.kind.value, input.test_item.value, input.kit_lot,
                              input.filename, input.data, input.parser_version,
                              tuple((m.code, tuple(m.donation_numbers)) for m in input.mini_pools))
        return await _run(info, await res.import_run(info.context, signed(info, signature), inp))

    @strawberry.mutation(description="Reprocess a run's kept raw file with a rule version, with a reason; signed "
                                     "PERFORMED. The original processing stays; changed outcomes are written.",
                         extensions=can("quality:instrument_run", "write"))
    async def reprocess_instrument_run(self, info: Info[Context, None], input: ReprocessInstrumentRunInput,
                                       signature: SignatureInput) -> InstrumentRun:
        run_id = await res.reprocess(info.context, signed(info, signature), input.run_id, input.parser_version,
                                     input.reason)
        return await _run(info, run_id)

    @strawberry.mutation(description="Review a run (QC reviewers who neither imported nor reprocessed it); signed "
                                     "REVIEWED.", extensions=can("quality:instrument_run", "review"))
    async def review_instrument_run(self, info: Info[Context, None], input: ReviewInstrumentRunInput,
                                    signature: SignatureInput) -> InstrumentRun:
        return await _run(info, await res.review(info.context, signed(info, signature), input.run_id, input.comment))
