"""Instrument runs of plasma testing (QC-08, QC-13, GP-03): a plate reader's ELISA export or a PCR run file
is imported with its raw bytes kept (an attachment, SHA-256 on the run), parsed and judged by a versioned rule
(records/assay_rules.py), and each sample's outcome is written where the sample came from:

- a plasma unit: a retest result (source PLANT, method "<kind> run <id>") waiting for reviewRetest, as a
  manual retest would; a reactive one blocks the unit at once, tells its station and starts the donor's
  lookback (resolvers/lookback.py);
- a production pool (`pool`) or a mini-pool of unit samples named in the import: a pool test result kept
  with the pool; a reactive one blocks the production pool (it starts no batch) or every unit of the
  mini-pool (they are resolved by testing them one by one).
Every reactive or grey-zone sample also opens an OOS record (records/oos.py) in the same write.

A run whose controls fail is kept as INVALID with the reason and writes no result. The kept file can be
processed again by any rule version: `compare` shows both side by side; a signed reprocess adds a
processing (the signed original stays) and writes the results whose outcome changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.assay_rules import CT_MAX, PARSERS, PLASMA_RESULT, READERS, Processed, process
from records.assay_rules import RunKind as RunKind  # the value lists, for the schema
from records.assay_rules import WellOutcome as WellOutcome
from records.attachments import Attachment
from records.base import utcnow
from records.instrument_files import FileError
from records.instrument_run import InstrumentProcessing, PoolTestResult
from records.instrument_run import InstrumentRun as InstrumentRun
from records.instrument_run import PoolKind as PoolKind
from records.instrument_run import RunStatus as RunStatus
from records.oos import open_oos
from records.plasma import Donor, DonorStatus, PlasmaUnit, Pool, PoolStatus, RetestResult, UnitStatus
from resolvers import lookback, reagents, retest
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.plasma import LOOKBACK_MIN_DAYS
from resolvers.signed import Signatures, SignedRequest, perform

MAX_BYTES = 512 * 1024  # a plate or PCR export is a few KiB; the request itself stops at 1 MB
ITEMS = {RunKind.ELISA: ("HBSAG", "ANTI_HCV", "ANTI_HIV", "SYPHILIS"), RunKind.PCR: ("NAT",)}
MAX_MINI_POOL = 96


@dataclass(frozen=True)
class ImportInput:
    instrument_id: str
    kind: str
    test_item: str
    kit_lot: str
    filename: str
    data_base64: str
    parser_version: str | None = None
    mini_pools: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Target:
    """Where a sample code's result goes: a unit, a production pool or a mini-pool's units."""

    kind: str  # UNIT, PRODUCTION_POOL, MINI_POOL
    code: str
    id: int | None = None
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ready:
    data: bytes
    sha256: str
    label: str
    processed: Processed
    targets: dict[str, Target]
    kits: dict[str, int]  # the registered test-kit lot used (QC-22), by code


@dataclass
class RunView:
    run: InstrumentRun
    raw: Attachment
    processings: list[InstrumentProcessing]
    pool_results: list[PoolTestResult] = field(default_factory=list)

    @property
    def current(self) -> InstrumentProcessing:
        return next(p for p in self.processings if p.number == self.run.processing)


def _decode(data_base64: str) -> bytes:
    if len(data_base64) > MAX_BYTES * 4 // 3 + 4:
        raise invalid(f"a raw file of at most {MAX_BYTES // 1024} KiB")
    try:
        data = base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("data must be standard base64") from None
    if not 0 < len(data) <= MAX_BYTES:
        raise invalid(f"a raw file of 1 byte to {MAX_BYTES // 1024} KiB")
    return data


def _process(kind: str, data: bytes, version: str | None) -> Processed:
    try:
        return process(kind, data, version)[1]
    except FileError as e:
        raise invalid(f"the {PARSERS[RunKind(kind)]} file is refused: {e}") from None
    except ValueError as e:
        raise invalid(str(e)) from None


def _well_of(p: Processed, code: str) -> str:
    return next((w["position"] for w in p.wells if w["content"] == code), "?")


async def _targets(s: AsyncSession, p: Processed, mini: dict[str, tuple[str, ...]]) -> dict[str, Target]:
    """Each sample code of the file resolved: a mini-pool named in the import, a production pool, a unit."""
    codes = list(dict.fromkeys(w["content"] for w in p.wells if w["role"] == "SAMPLE"))  # an invalid run's too
    units = {u.donation_number: u for u in (await s.execute(select(PlasmaUnit).where(
        PlasmaUnit.donation_number.in_(codes + [n for ns in mini.values() for n in ns])))).scalars()}
    pools = {c: i for c, i in (await s.execute(select(Pool.code, Pool.id).where(Pool.code.in_(codes))))}
    out = {}
    for code in codes:
        if code in mini:
            out[code] = Target(PoolKind.MINI_POOL.value, code, None, mini[code])
        elif code in pools:
            out[code] = Target(PoolKind.PRODUCTION_POOL.value, code, pools[code])
        elif code in units and units[code].status != UnitStatus.IN_TRANSIT:
            out[code] = Target("UNIT", code, units[code].id)
        else:
            raise invalid(f"well {_well_of(p, code)}: {code} is no received plasma unit, pool or mini-pool "
                          "named in the import")
    for name, numbers in mini.items():
        if name not in out:
            raise invalid(f"mini-pool {name} is in no well of the file")
        lost = [n for n in numbers if n not in units or units[n].status == UnitStatus.IN_TRANSIT]
        if lost:
            raise invalid(f"mini-pool {name}: no received unit {', '.join(lost[:3])}")
    return out


def _check(inp: ImportInput) -> dict[str, tuple[str, ...]]:
    text("instrumentId", inp.instrument_id, 64)
    text("kitLot", inp.kit_lot, 32)
    text("filename", inp.filename, 200)
    if inp.kind not in RunKind.__members__:
        raise invalid(f"kind: one of {', '.join(RunKind)}")
    if inp.test_item not in ITEMS[RunKind(inp.kind)]:
        raise invalid(f"testItem: a {inp.kind} run tests {', '.join(ITEMS[RunKind(inp.kind)])}")
    mini: dict[str, tuple[str, ...]] = {}
    for name, numbers in inp.mini_pools:
        text("miniPools.code", name, 32)
        if name in mini or not 2 <= len(set(numbers)) == len(numbers) <= MAX_MINI_POOL:
            raise invalid(f"mini-pool {name[:32]}: named once, with 2 to {MAX_MINI_POOL} different units")
        mini[name] = numbers
    return mini


async def import_run(ctx: Context, req: SignedRequest, inp: ImportInput) -> int:
    """A QC analyst imports an instrument file, signed PERFORMED (QC-08); returns the run's id."""
    p = ctx.signed_in()

    async def clean() -> Ready:
        mini = _check(inp)
        data = _decode(inp.data_base64)
        f_processed = _process(inp.kind, data, inp.parser_version)
        label = _header(inp.kind, data)
        if label[0] != inp.instrument_id.strip():
            raise invalid(f"the file is from instrument {label[0][:64]}, not {inp.instrument_id.strip()}")
        async with ctx.db.read() as s:
            targets = await _targets(s, f_processed, mini)
        # A run on an expired, unreleased or retest-due kit lot is refused (audited) before anything is written.
        kits = await reagents.usable(ctx, [inp.kit_lot], req.operation, kits_only=True)
        return Ready(data, hashlib.sha256(data).hexdigest(), label[1], f_processed, targets, kits)

    async def save(s: AsyncSession, r: Ready, signatures: Signatures[Ready]) -> int:
        now = utcnow()
        raw = Attachment(sha256=r.sha256, filename=inp.filename.strip(), content_type="text/csv", size=len(r.data),
                         data=r.data, purpose=f"{inp.kind} raw file {r.label}"[:200], uploaded_by=p.username,
                         uploaded_at=now)
        s.add(raw)
        await s.flush()
        run = InstrumentRun(kind=inp.kind, instrument_id=inp.instrument_id.strip(), test_item=inp.test_item,
                            kit_lot=inp.kit_lot.strip(), analyst=p.username, imported_at=now,
                            status=RunStatus.IMPORTED if r.processed.valid else RunStatus.INVALID,
                            invalid_reason=r.processed.invalid_reason, attachment_id=raw.id, raw_sha256=r.sha256,
                            run_label=r.label, processing=1)
        s.add(run)
        await s.flush()
        s.add(_processing(run, 1, r.processed, p.username, now, "import"))
        await reagents.record_use(s, list(r.kits.values()), "instrument_run", str(run.id), p.username)
        written = await _apply(s, run, r.processed, r.targets, 1, now) if r.processed.valid else []
        await s.flush()
        await signatures.bind(s, "instrument_run", str(run.id), _content(run, r.processed, written))
        return run.id

    return await perform(ctx, req, reason=f"{inp.kind} run imported from {inp.instrument_id.strip()[:64]}",
                         clean=clean, save=save, meanings=("PERFORMED",))


def _header(kind: str, data: bytes) -> tuple[str, str]:
    h = READERS[RunKind(kind)](data).header
    return h.get("Instrument", ""), (h.get("Plate") or h.get("Run") or "")[:64]


def _processing(run: InstrumentRun, number: int, p: Processed, who: str, now: datetime,
                reason: str) -> InstrumentProcessing:
    return InstrumentProcessing(run_id=run.id, number=number, parser=p.parser, parser_version=p.version,
                                valid=p.valid, invalid_reason=p.invalid_reason, cutoff=p.cutoff, wells=p.wells,
                                processed_by=who, processed_at=now, reason=reason)


def _content(run: InstrumentRun, p: Processed, written: list[str]) -> dict[str, Any]:
    """What the signature binds: the raw file's digest, who and what, and every outcome computed."""
    return {"run": run.id, "sha256": run.raw_sha256, "instrument": run.instrument_id, "kind": run.kind,
            "testItem": run.test_item, "kitLot": run.kit_lot, "parser": f"{p.parser}/{p.version}",
            "valid": p.valid, "invalidReason": p.invalid_reason, "cutoff": p.cutoff, "outcomes": p.samples,
            "written": written}


async def _apply(s: AsyncSession, run: InstrumentRun, p: Processed, targets: dict[str, Target], number: int,
                 now: datetime, only: set[str] | None = None) -> list[str]:
    """Write each sample's outcome where it belongs; a reactive one blocks at once. Returns the codes written."""
    written = []
    for code, outcome in p.samples.items():
        result = PLASMA_RESULT.get(WellOutcome(outcome))
        if result is None or (only is not None and code not in only):
            continue  # INVALID: to be tested again, nothing to write
        t = targets[code]
        well = next(w for w in p.wells if w["content"] == code and w["outcome"] == outcome)
        value = well["ratio"] or well["value"]
        if t.kind == "UNIT":
            unit = await s.get(PlasmaUnit, t.id)
            assert unit is not None
            s.add(RetestResult(unit_id=unit.id, test=run.test_item, result=result, value=None,
                               method=f"{run.kind} run {run.id}", kit_lot=run.kit_lot, instrument=run.instrument_id,
                               analyst=run.analyst, tested_at=now, source="PLANT"))
            if result == "REACTIVE":
                await _reactive_unit(s, run, unit, now)
        else:
            s.add(PoolTestResult(pool_kind=t.kind, pool_code=code, pool_id=t.id, units=list(t.units) or None,
                                 run_id=run.id, processing=number, test=run.test_item, result=result,
                                 outcome=outcome, value=value, kit_lot=run.kit_lot, instrument=run.instrument_id,
                                 analyst=run.analyst, tested_at=now))
            if result == "REACTIVE":
                await _reactive_pool(s, run, t, now)
        if result == "REACTIVE":
            await on_reactive(s, run, t, well, p)
        written.append(code)
    return written


async def _reactive_unit(s: AsyncSession, run: InstrumentRun, unit: PlasmaUnit, now: datetime) -> None:
    """Blocked at once, its station told, and the donor's lookback started (deferred pending confirmation)."""
    await retest.block_reactive(s, unit, [run.test_item], now)
    donor = await s.get(Donor, unit.donor_id)
    assert donor is not None
    status = donor.status if donor.status != DonorStatus.ACTIVE else DonorStatus.DEFERRED.value
    await lookback.start(s, donor, status, f"plant test reactive: {run.test_item} in {run.kind} run {run.id} "
                         f"({unit.donation_number})", LOOKBACK_MIN_DAYS, now)


async def _reactive_pool(s: AsyncSession, run: InstrumentRun, t: Target, now: datetime) -> None:
    if t.kind == PoolKind.PRODUCTION_POOL:
        pool = await s.get(Pool, t.id)
        assert pool is not None
        pool.status = PoolStatus.BLOCKED.value
        return
    for unit in (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number.in_(t.units)))).scalars():
        if unit.status in lookback.BLOCKABLE or unit.status == UnitStatus.BLOCKED:
            await retest.block_reactive(s, unit, [f"{run.test_item} (mini-pool {t.code})"], now)


async def on_reactive(s: AsyncSession, run: InstrumentRun, target: Target, well: dict[str, Any],
                      p: Processed) -> None:
    """A reactive or grey-zone sample opens an OOS record (QC-25) in the write that found it, one per run and
    well (a reprocess that finds the same well reactive again opens none)."""
    if run.kind == RunKind.ELISA:
        value = f"S/CO {well['ratio']} (OD {well['value']}, cut-off {p.cutoff})"
        limits = "S/CO below 1" if p.version == "1" else "S/CO below 0.9 (grey zone from 0.9)"
    else:
        value = f"{well['target']} Ct {well['value']} (IC Ct {well['ic']})"
        limits = f"no target detected (Ct above {CT_MAX} or undetermined)"
    await open_oos(s, subject_kind="PLASMA_UNIT" if target.kind == "UNIT" else target.kind, subject_code=target.code,
                   batch_id=None, item=run.test_item, value=value, limits=limits, analyst=run.analyst,
                   instrument=run.instrument_id, method=f"{run.kind} {p.parser}/{p.version}",
                   source=f"instrument_run:{run.id}/{well['position']}", sample_code=target.code,
                   reason=f"{well['outcome']} in {run.kind} run {run.id}, well {well['position']}")


# --- reading, comparing, reprocessing, review ----------------------------------------------------

def _reader(ctx: Context) -> None:
    if ctx.signed_in().is_scoped:
        raise AppError(ErrorCode.OUT_OF_SCOPE, "instrument runs are internal")


async def _view(s: AsyncSession, run_id: int) -> RunView | None:
    run = await s.get(InstrumentRun, run_id)
    if run is None:
        return None
    raw = await s.get(Attachment, run.attachment_id)
    assert raw is not None
    processings = list((await s.execute(select(InstrumentProcessing).where(InstrumentProcessing.run_id == run.id)
                                        .order_by(InstrumentProcessing.number))).scalars())
    pools = list((await s.execute(select(PoolTestResult).where(PoolTestResult.run_id == run.id)
                                  .order_by(PoolTestResult.id))).scalars())
    return RunView(run, raw, processings, pools)


async def get(ctx: Context, run_id: int) -> RunView | None:
    _reader(ctx)
    async with ctx.db.read() as s:
        return await _view(s, run_id)


@dataclass(frozen=True)
class Comparison:
    run_id: int
    original: InstrumentProcessing
    reprocessed: Processed
    changed: list[str]  # sample codes whose outcome differs
    targets: dict[str, Target] = field(default_factory=dict)  # where a confirmed reprocess writes


async def compare(ctx: Context, run_id: int, version: str | None) -> Comparison:
    """The kept raw file processed again by a rule version, beside the processing in effect (GP-03);
    nothing is written."""
    _reader(ctx)
    async with ctx.db.read() as s:
        view = await _view(s, run_id)
    if view is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no instrument run {run_id}")
    return _compare(view, version)


def _compare(view: RunView, version: str | None) -> Comparison:
    if hashlib.sha256(view.raw.data).hexdigest() != view.run.raw_sha256:
        raise conflict(f"the raw file of run {view.run.id} does not match its SHA-256")
    again = _process(view.run.kind, view.raw.data, version)
    before = {w["content"]: w["outcome"] for w in view.current.wells if w["role"] == "SAMPLE"}
    changed = [c for c, o in again.samples.items() if before.get(c) != o]
    return Comparison(view.run.id, view.current, again, changed)


async def reprocess(ctx: Context, req: SignedRequest, run_id: int, version: str, reason: str) -> int:
    """Confirm a reprocessing, signed PERFORMED with a reason: a new processing takes effect, the original
    stays; results whose outcome changed are written (a reactive one blocks at once)."""
    p = ctx.signed_in()

    async def clean() -> Comparison:
        text("reason", reason, 500)
        async with ctx.db.read() as s:
            view = await _view(s, run_id)
            if view is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no instrument run {run_id}")
            c = _compare(view, version)
            if not c.reprocessed.valid:
                raise conflict(f"{c.reprocessed.parser} version {version} finds the run invalid "
                               f"({c.reprocessed.invalid_reason}); the processing in effect stays")
            return replace(c, targets=await _targets(s, c.reprocessed, _minis(view)))

    async def save(s: AsyncSession, c: Comparison, signatures: Signatures[Comparison]) -> int:
        run = await s.get(InstrumentRun, run_id)
        assert run is not None
        now, number = utcnow(), run.processing + 1
        if (await s.execute(select(InstrumentProcessing.id).where(InstrumentProcessing.run_id == run.id,
                                                                  InstrumentProcessing.number == number))).first():
            raise conflict("the run was reprocessed meanwhile; look again")
        s.add(_processing(run, number, c.reprocessed, p.username, now, reason.strip()))
        only = None if not c.original.valid else set(c.changed)
        written = await _apply(s, run, c.reprocessed, c.targets, number, now, only)
        run.processing, run.status, run.invalid_reason = number, RunStatus.IMPORTED.value, None
        run.reviewed_by = run.reviewed_at = None
        await s.flush()
        content = _content(run, c.reprocessed, written) | {"processing": number, "reason": reason.strip()}
        await signatures.bind(s, "instrument_run", str(run.id), content)
        return run.id

    return await perform(ctx, req, reason=reason.strip() or "reprocess", clean=clean, save=save,
                         meanings=("PERFORMED",))


def _minis(view: RunView) -> dict[str, tuple[str, ...]]:
    return {r.pool_code: tuple(r.units or ()) for r in view.pool_results if r.pool_kind == PoolKind.MINI_POOL}


async def review(ctx: Context, req: SignedRequest, run_id: int, comment: str) -> int:
    """A QC reviewer who neither imported nor reprocessed the run confirms it, signed REVIEWED; the pool
    results of the run are reviewed with it (a unit's results are reviewed by reviewRetest)."""
    p = ctx.signed_in()

    async def clean() -> None:
        text("comment", comment, 500)
        async with ctx.db.read() as s:
            view = await _view(s, run_id)
        if view is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no instrument run {run_id}")
        if view.run.status != RunStatus.IMPORTED:
            raise conflict(f"run {run_id} is {view.run.status}, not waiting for review")
        for who in sorted({view.run.analyst, *(x.processed_by for x in view.processings)}):
            await ctx.require_duty("review", "instrument_run", str(run_id), "whoever imported or reprocessed a "
                                   "run cannot review it", performed_by=who)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> int:
        run = await s.get(InstrumentRun, run_id)
        assert run is not None
        if run.status != RunStatus.IMPORTED:
            raise conflict(f"run {run_id} is {run.status}, not waiting for review")
        now = utcnow()
        run.status, run.reviewed_by, run.reviewed_at = RunStatus.REVIEWED.value, p.username, now
        for r in (await s.execute(select(PoolTestResult).where(PoolTestResult.run_id == run.id,
                                                               PoolTestResult.reviewed_at.is_(None)))).scalars():
            r.reviewed_by, r.reviewed_at = p.username, now
        await s.flush()
        await signatures.bind(s, "instrument_run", str(run.id), {"run": run.id, "sha256": run.raw_sha256,
                                                                 "processing": run.processing, "status": run.status,
                                                                 "comment": comment.strip()})
        return run.id

    return await perform(ctx, req, reason=f"instrument run reviewed: {comment.strip()[:200]}", clean=clean,
                         save=save, meanings=("REVIEWED",))


async def pool_tests(ctx: Context, pool_code: str) -> list[PoolTestResult]:
    """Every test result of a production pool or mini-pool, oldest first (QC-13)."""
    _reader(ctx)
    async with ctx.db.read() as s:
        return list((await s.execute(select(PoolTestResult).where(PoolTestResult.pool_code == pool_code.strip())
                                     .order_by(PoolTestResult.id))).scalars())
