"""Appendix B data exchange (PR-52, PR-53): the datasets the system holds, written under their short
field names with the values in the listed types (dates YYYYMMDD, date-times YYYYMMDDThhmmss in UTC,
booleans True/False), as JSON or CSV. Every export is audited with who, what and which filter.

Held today: B.2 equipment, B.3 materials (plasma units and material lots), B.4 weighings, B.5
intermediates (one row per movement of their stock), B.6 the production batch record (one row per
phase), B.7 deviations, B.8 line clearances, B.9 the packaging record (one row per packaging material),
B.10-B.15 the QC laboratory's samples (resolvers/sample_exchange.py: a row per sample taken or retained, per
receipt, storage, test and disposal); B.3, B.10 and B.15 name donors.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.execution import PhaseRun
from records.genealogy import FinalLot, Intermediate, IntermediateMovement, MovementKind
from records.materials import MaterialLot, Weighing
from records.packaging_record import PackagingIssue, PackagingRecord
from records.plant import Equipment
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Pool, batch_pool
from records.quality import Deviation, LineClearance
from records.recipe import Recipe
from records.signature import ESignature
from resolvers import labels, plasma, sample_exchange
from resolvers.alarms import defuse
from resolvers.appendix_b import DATASETS, Dataset
from resolvers.checks import invalid
from resolvers.context import Context

MAX_ROWS = 10_000
FORMATS = ("JSON", "CSV")
Row = dict[str, Any]


@dataclass(frozen=True)
class Filter:
    batch_number: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class DatasetFile:
    dataset: str
    title: str
    format: str
    count: int
    filename: str
    content_type: str
    data: str


def value(v: Any, kind: str) -> Any:
    """A value in its Appendix B type (table B.1)."""
    if v is None:
        return ""
    if kind == "datetime":
        return v.strftime("%Y%m%dT%H%M%S") if isinstance(v, datetime) else str(v)
    if kind == "date":
        return (v.date() if isinstance(v, datetime) else v).strftime("%Y%m%d") if isinstance(v, date) else str(v)
    if kind == "float":
        return float(v)
    if kind == "boolean":
        return "True" if v else "False"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _window(column: Any, f: Filter) -> list[ColumnElement[bool]]:
    """The filter's time range on the dataset's main time."""
    return ([column >= f.since] if f.since is not None else []) + ([column < f.until] if f.until is not None else [])


async def _equipment(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    q = select(Equipment).order_by(Equipment.code)
    if batch is not None:
        q = q.where(Equipment.id.in_(select(PhaseRun.equipment_id).where(PhaseRun.batch_id == batch.id)))
    return [{"SBMC": e.name, "SBBH": e.code, "YXZT": e.status, "QJZT": e.cleaning_status, "QJSJ": e.cleaned_at,
             "QJYXQ": e.cleaning_valid_until, "MJZT": e.sterilization_status, "MJSJ": e.sterilized_at,
             "MJYXQ": e.sterilization_valid_until, "JYZT": e.calibration_status, "JYSJ": e.calibrated_on,
             "JYYXQ": e.calibration_valid_until} for e in (await s.execute(q.limit(MAX_ROWS + 1))).scalars()]


async def _materials(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    """B.3: the plasma units (with donor and station) and the lots of other materials."""
    units = (select(PlasmaUnit, Donor, PlasmaStation.name, Pool.code).join(Donor, Donor.id == PlasmaUnit.donor_id)
             .join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id)
             .outerjoin(Pool, Pool.id == PlasmaUnit.pool_id).order_by(PlasmaUnit.id))
    lots = select(MaterialLot).order_by(MaterialLot.id)
    if batch is not None:
        pools = select(batch_pool.c.pool_id).where(batch_pool.c.batch_id == batch.id)
        units = units.where(PlasmaUnit.pool_id.in_(pools))
        lots = lots.where(MaterialLot.id.in_(select(Weighing.material_lot_id).where(Weighing.batch_id == batch.id)))
    units, lots = units.where(*_window(PlasmaUnit.received_at, f)), lots.where(*_window(MaterialLot.received_at, f))
    rows: list[Row] = [
        {"WLMC": labels.PLASMA_NAME, "WLBM": u.material_code, "WLPH": pool, "XJZXM": d.name, "KH": d.card_number,
         "XX": u.blood_type, "XJBH": u.donation_number, "CXJRQ": u.collected_on, "XJZL": f"{u.weight_g:g} g",
         "DCXJZMC": station, "TMBH": u.material_code}
        for u, d, station, pool in (await s.execute(units.limit(MAX_ROWS + 1))).all()]
    rows += [{"WLMC": x.name, "WLBM": x.material_code, "WLPH": x.lot_number, "TMBH": x.code}
             for x in (await s.execute(lots.limit(MAX_ROWS + 1))).scalars()]
    return rows


async def _weighings(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    q = (select(Weighing, MaterialLot, Equipment, Batch, Recipe)
         .join(MaterialLot, MaterialLot.id == Weighing.material_lot_id)
         .join(Equipment, Equipment.id == Weighing.scale_id).join(Batch, Batch.id == Weighing.batch_id)
         .outerjoin(Recipe, Recipe.id == Batch.recipe_id).order_by(Weighing.id))
    if batch is not None:
        q = q.where(Weighing.batch_id == batch.id)
    q = q.where(*_window(Weighing.weighed_at, f))
    return [{"CJMC": e.name, "CJBH": e.code, "CJZT": w.scale_calibration, "CJJD": w.scale_precision, "CPMC": b.product,
             "CPGG": r.specification if r else "", "CPPH": b.batch_number, "WLMC": lot.name, "WLPH": lot.lot_number,
             "CLZL": f"{w.net:g} {w.unit}", "CLR": w.weighed_by, "CLRQ": w.weighed_at, "TMBH": w.label_code}
            for w, lot, e, b, r in (await s.execute(q.limit(MAX_ROWS + 1))).all()]


def _values(xs: list[dict[str, Any]] | None, manual: bool | None = None) -> str:
    """Parameters or controls as one text: name, value or range over the phase, unit, source."""
    out = []
    for x in xs or []:
        if manual is not None and (x.get("source") == "MANUAL") != manual:
            continue
        shown = (f"{x['value']:g}" if x.get("value") is not None
                 else f"min {x.get('min')} max {x.get('max')} avg {x.get('avg')}")
        who = f" by {x['enteredBy']}" if x.get("enteredBy") else ""
        out.append(f"{x['name']} {shown} {x['unit']} ({x.get('source')}{who})")
    return "; ".join(out)


async def _batch_record(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    """B.6, one row per phase run, with the batch's header on each."""
    q = (select(PhaseRun, Batch, Recipe, Equipment).join(Batch, Batch.id == PhaseRun.batch_id)
         .join(Recipe, Recipe.id == Batch.recipe_id).join(Equipment, Equipment.id == PhaseRun.equipment_id)
         .order_by(Batch.id, PhaseRun.id))
    if batch is not None:
        q = q.where(PhaseRun.batch_id == batch.id)
    q = q.where(*_window(PhaseRun.started_at, f))
    rows = (await s.execute(q.limit(MAX_ROWS + 1))).all()
    ends = dict((await s.execute(select(PhaseRun.batch_id, func.max(PhaseRun.completed_at)).where(
        PhaseRun.batch_id.in_({b.id for _, b, _, _ in rows})).group_by(PhaseRun.batch_id))).all())
    out = []
    for run, b, r, e in rows:
        phase = next((p for p in r.procedure if p["code"] == run.phase_code), {"name": run.phase_code})
        out.append({"CPBM": r.code, "CPMC": b.product, "CPGG": r.specification, "CPPH": b.batch_number,
                    "PL": f"{r.batch_size:g} {r.batch_unit}", "SCKSSJ": b.started_at,
                    "SCJSSJ": ends.get(b.id) if b.status not in ("PLANNED", "IN_PROGRESS") else None,
                    "SCGX": phase["name"], "GXKSSJ": run.started_at, "GXJSSJ": run.completed_at, "SBBH": e.code,
                    "SBMC": e.name, "CZR": run.completed_by or run.started_by, "FHR": run.verified_by,
                    "GJGYCS": _values(run.parameters, manual=False), "RGCZJL": _values(run.parameters, manual=True),
                    "ZJKZJG": _values(run.controls),
                    "GXWLPH": f"{run.balance_pct:g} %" if run.balance_pct is not None else None})
    return out


async def _deviations(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    q = (select(Deviation, Batch, Recipe).outerjoin(Batch, Batch.id == Deviation.batch_id)
         .outerjoin(Recipe, Recipe.id == Batch.recipe_id).order_by(Deviation.id))
    if batch is not None:
        q = q.where(Deviation.batch_id == batch.id)
    rows = (await s.execute(q.where(*_window(Deviation.raised_at, f)).limit(MAX_ROWS + 1))).all()
    approvers: dict[str, list[str]] = {}
    for entity_id, signer in (await s.execute(select(ESignature.entity_id, ESignature.signer).where(
            ESignature.entity == "deviation", ESignature.meaning == "APPROVED",
            ESignature.entity_id.in_([str(d.id) for d, _, _ in rows])).order_by(ESignature.id))).all():
        approvers.setdefault(entity_id, []).append(signer)
    return [{"PCMS": f"{d.number} {d.title}: {d.description}", "PCFSSJ": d.occurred_at or d.raised_at,
             "JJCLCS": d.emergency_measures, "SYXCPBM": r.code if r else None, "SYXCPMC": b.product if b else None,
             "SYXCPPH": b.batch_number if b else None, "PCJLR": d.raised_by,
             "PCFHR": ", ".join(approvers.get(str(d.id), []))} for d, b, r in rows]


async def _clearances(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    q = (select(LineClearance, Batch.batch_number).join(Batch, Batch.id == LineClearance.batch_id)
         .where(*_window(LineClearance.cleared_at, f)).order_by(LineClearance.id))
    if batch is not None:
        q = q.where(LineClearance.batch_id == batch.id)
    return [{"CZJBH": c.room_code, "CPMC": c.product, "CPPH": number, "SCGX": c.process_step, "QCRQ": c.cleared_at,
             "JCXM": "; ".join(i["item"] for i in c.checklist), "JCJG": "; ".join(i["result"] for i in c.checklist),
             "QCRY": c.operator, "QCFHR": c.reviewer}
            for c, number in (await s.execute(q.limit(MAX_ROWS + 1))).all()]


async def _intermediates(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    """B.5, one row per movement of an intermediate's stock, with the intermediate's own fields."""
    q = (select(IntermediateMovement, Intermediate, Batch.batch_number)
         .join(Intermediate, Intermediate.id == IntermediateMovement.intermediate_id)
         .join(Batch, Batch.id == Intermediate.batch_id).where(*_window(IntermediateMovement.at, f))
         .order_by(IntermediateMovement.id))
    if batch is not None:
        q = q.where(Intermediate.batch_id == batch.id)
    fields = {MovementKind.STOCK_IN: ("RKSJ", "RKR"), MovementKind.STOCK_OUT: ("CKSJ", "CKR"),
              MovementKind.SAMPLE: ("QYSJ", "QYR"), MovementKind.CHARGE: ("TLSJ", "TLR"),
              MovementKind.RETURN: ("TKSJ", "TKR")}
    out = []
    for m, i, number in (await s.execute(q.limit(MAX_ROWS + 1))).all():
        when, who = fields[MovementKind(m.kind)]
        qty = f"{m.quantity:g} {i.unit}" if m.quantity is not None else None
        out.append({"ZJPMC": i.kind, "ZJPPH": f"{number} {i.code}", "CCWZ": i.location, "YXQZ": i.expires_on,
                    "ZLZT": i.status, when: m.at, who: m.by, "RKWZ": m.location if m.kind == "STOCK_IN" else None,
                    "QYL": qty if m.kind == "SAMPLE" else None, "TLL": qty if m.kind == "CHARGE" else None,
                    "FHR": m.reviewer})
    return out


async def _packaging(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
    """B.9, one row per packaging material issued to a packaging record, with the record's own fields; a
    record that issued none still has its row."""
    q = (select(PackagingRecord, MaterialLot, FinalLot, Batch, Recipe, Equipment)
         .outerjoin(PackagingIssue, PackagingIssue.record_id == PackagingRecord.id)
         .outerjoin(MaterialLot, MaterialLot.id == PackagingIssue.material_lot_id)
         .join(FinalLot, FinalLot.id == PackagingRecord.final_lot_id).join(Batch, Batch.id == PackagingRecord.batch_id)
         .outerjoin(Recipe, Recipe.id == Batch.recipe_id).join(Equipment, Equipment.id == PackagingRecord.line_id)
         .where(*_window(PackagingRecord.started_at, f)).order_by(PackagingRecord.id, PackagingIssue.id))
    if batch is not None:
        q = q.where(PackagingRecord.batch_id == batch.id)
    out = []
    for rec, m, lot, b, r, line in (await s.execute(q.limit(MAX_ROWS + 1))).all():
        used = next((x["used"] for x in rec.reconciliation or [] if m and x["code"] == m.code), None)
        inspection = (f"visual inspection: {rec.inspected} inspected, {rec.rejected} rejected by {rec.inspected_by}"
                      if rec.inspected is not None else None)
        out.append({"CPMC": b.product, "CPGG": r.specification if r else None, "CPPH": b.batch_number,
                    "BZGG": rec.specification, "SCRQ": lot.filled_on, "YXRQ": lot.expiry_date,
                    "BZCZDSJ": rec.started_at, "BZCLMC": m.name if m else None,
                    "BZCLPH": m.lot_number if m else None, "SYSL": used,
                    "SBBH": line.code, "SBMC": line.name, "RGCZJL": inspection, "CZR": rec.started_by,
                    "FHR": rec.checked_by, "JCJL": "; ".join(f"{c['item']}: {c['result']}" for c in rec.checklist),
                    "JCR": rec.checked_by, "FXSHR": rec.closed_by, "SHR": rec.closed_by})
    return out


Builder = Callable[[AsyncSession, Filter, Batch | None], Awaitable[list[Row]]]
SampleRows = Callable[[AsyncSession, Batch | None, datetime | None, datetime | None], Awaitable[list[Row]]]


def _of_samples(build: SampleRows) -> Builder:
    async def run(s: AsyncSession, f: Filter, batch: Batch | None) -> list[Row]:
        return await build(s, batch, f.since, f.until)

    return run


BUILDERS: dict[str, Builder] = {"B.2": _equipment, "B.3": _materials, "B.4": _weighings, "B.5": _intermediates,
                                "B.6": _batch_record,
                                "B.7": _deviations, "B.8": _clearances, "B.9": _packaging,
                                **{k: _of_samples(b) for k, b in (
                                    ("B.10", sample_exchange.sampling), ("B.11", sample_exchange.receipt),
                                    ("B.12", sample_exchange.storage), ("B.13", sample_exchange.testing),
                                    ("B.14", sample_exchange.disposal), ("B.15", sample_exchange.retained))}}
# Datasets that name people who gave plasma: never to a scoped (partner or regulator) token.
PERSONAL = ("B.3", "B.10", "B.15")


def encode(d: Dataset, rows: list[Row], fmt: str) -> tuple[str, str]:
    """The rows under the dataset's short names, every field present, as (data, content type)."""
    typed = [{f.short: value(r.get(f.short), f.type) for f in d.fields} for r in rows]
    if fmt == "JSON":
        return json.dumps(typed, ensure_ascii=False, indent=1), "application/json"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f.short for f in d.fields])
    w.writerows([defuse(str(r[f.short])) for f in d.fields] for r in typed)
    return buf.getvalue(), "text/csv"


async def export(ctx: Context, dataset: str, f: Filter, fmt: str) -> DatasetFile:
    p = ctx.signed_in()
    d = DATASETS.get(dataset)
    if d is None:
        raise invalid(f"Appendix B has datasets {', '.join(DATASETS)}; not {dataset!r}")
    build = BUILDERS.get(dataset)
    if build is None:
        raise AppError(ErrorCode.NOT_FOUND, f"{dataset} ({d.title_en}) is not held by PlasmaTwin yet; it holds "
                                            f"{', '.join(BUILDERS)}")
    if fmt not in FORMATS:
        raise invalid(f"format: {' or '.join(FORMATS)}")
    if p.is_scoped and (dataset in PERSONAL or f.batch_number is None):
        raise AppError(ErrorCode.OUT_OF_SCOPE, "a scoped token exports the datasets of one batch in its scope, "
                                               "and no donor data")
    async with ctx.db.read() as s:
        batch = None
        if f.batch_number is not None:
            batch = await plasma.batch(s, f.batch_number, ctx.scope())
            if batch is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no batch {f.batch_number}")
        rows = await build(s, f, batch)
    if len(rows) > MAX_ROWS:
        raise invalid(f"more than {MAX_ROWS} records: narrow the filter (a batch or a time range)")
    data, content_type = encode(d, rows, fmt)
    await ctx.db.record(ctx.audit_context(f"Appendix {dataset} exported"), PendingEvent(
        "EXPORTED", "dataset", dataset, {"format": fmt, "count": len(rows), "batch": f.batch_number,
                                         "from": f.since.isoformat() if f.since else None,
                                         "to": f.until.isoformat() if f.until else None}))
    stem = f"{dataset.replace('.', '')}-{f.batch_number or 'all'}"
    return DatasetFile(dataset, d.title_en, fmt, len(rows), f"{stem}.{fmt.lower()}", content_type, data)
