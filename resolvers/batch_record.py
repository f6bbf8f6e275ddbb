"""The whole electronic batch record of one batch, exported as JSON or PDF for authorised roles and
audited (PR-47, PR-53, PR-58, GP-11): the B.6 header and phases, weighings (B.4), line clearances (B.8),
deviations (B.7), its QC testing (every current result of every stage, the test reports and the OOS), the
review by exception with QA's conclusion, the release document, and every signature on its records."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records import pdf_text
from records.audit import PendingEvent
from records.base import utcnow
from records.execution import PhaseRun
from records.oos import OosRecord
from records.qc_record import TestRecord, TestResult
from records.release import ReleaseDocument
from records.review import BatchReview
from records.signature import ESignature
from records.test_report import TestReport
from resolvers import exchange, plasma, review
from resolvers.appendix_b import DATASETS
from resolvers.checks import invalid
from resolvers.context import Context

SECTIONS = (("Production record (B.6)", "B.6"), ("Weighings (B.4)", "B.4"), ("Line clearances (B.8)", "B.8"),
            ("Deviations (B.7)", "B.7"))


@dataclass(frozen=True)
class RecordFile:
    batch_number: str
    format: str
    filename: str
    content_type: str
    data: str  # JSON text, or the PDF in base64


async def _signatures(s: AsyncSession, batch_id: int) -> list[dict[str, Any]]:
    """Every signature on the batch's records, in the order they were made."""
    rows = (await s.execute(select(ESignature).where(or_(*(
        and_(ESignature.entity == entity, ESignature.entity_id.in_(ids))
        for entity, ids in review.owned(batch_id).items()))).order_by(ESignature.id))).scalars().all()
    return [{"record": f"{x.entity}:{x.entity_id}", "operation": x.operation, "meaning": x.meaning,
             "signer": x.signer, "printedName": x.printed_name, "signedAt": x.signed_at} for x in rows]


async def build(ctx: Context, batch_number: str) -> dict[str, Any]:
    async with ctx.db.read() as s:
        b = await plasma.batch(s, batch_number, ctx.scope())
        if b is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
        f = exchange.Filter(batch_number)
        sections = {code: [{k: exchange.value(v, t) for k, v, t in
                            ((fl.short, row.get(fl.short), fl.type) for fl in DATASETS[code].fields)}
                           for row in await exchange.BUILDERS[code](s, f, b)] for _, code in SECTIONS}
        items = await review.items(s, b)
        concluded = (await s.execute(select(BatchReview).where(BatchReview.batch_id == b.id))).scalar_one_or_none()
        signatures = await _signatures(s, b.id)
        qc = await _qc(s, b.id)
        released = (await s.execute(select(ReleaseDocument).where(ReleaseDocument.batch_id == b.id)
                                    .order_by(ReleaseDocument.id.desc()).limit(1))).scalar_one_or_none()
        used = [{"phase": r.phase_code, **(r.equipment_state or {})} for r in (await s.execute(
            select(PhaseRun).where(PhaseRun.batch_id == b.id).order_by(PhaseRun.id))).scalars()]
    return {"batchNumber": b.batch_number, "product": b.product, "status": b.status,
            "recipe": f"{b.recipe.code} v{b.recipe.version}" if b.recipe else None,
            "pools": [p.code for p in b.pools], "exported": exchange.value(utcnow(), "datetime"),
            "sections": sections, "equipmentUsed": used,
            "exceptions": [{"key": i.key, "kind": i.kind.value, "summary": i.summary,
                            "conclusion": i.reviewed.conclusion if i.reviewed else None,
                            "reviewedBy": i.reviewed.reviewed_by if i.reviewed else None} for i in items],
            "review": {"opinion": concluded.opinion, "by": concluded.concluded_by,
                       "at": exchange.value(concluded.concluded_at, "datetime")} if concluded else None,
            **qc,
            "release": {"document": released.document_id, "status": released.status,
                        "at": exchange.value(released.released_at, "datetime") if released.released_at else None}
            if released else None,
            "signatures": signatures}


async def _qc(s: AsyncSession, batch_id: int) -> dict[str, list[dict[str, Any]]]:
    """The QC testing part: current results by stage, the test reports' versions, the OOS records."""
    results = (await s.execute(
        select(TestRecord, TestResult).join(TestResult, TestResult.record_id == TestRecord.id)
        .where(TestRecord.batch_id == batch_id, TestResult.current_key.is_not(None))
        .order_by(TestRecord.id, TestResult.id))).all()
    reports = (await s.execute(select(TestReport).join(TestRecord, TestRecord.id == TestReport.record_id).where(
        TestRecord.batch_id == batch_id, TestReport.status != "DISCARDED").order_by(TestReport.id))).scalars()
    found = (await s.execute(select(OosRecord).where(OosRecord.batch_id == batch_id).order_by(OosRecord.id))).scalars()
    return {
        "qcTesting": [{"stage": r.stage, "subject": r.subject_code,
                       "specification": f"{r.specification_code} v{r.specification_version}", "item": x.item,
                       "reported": x.reported, "verdict": x.verdict, "analyst": x.analyst,
                       "record": r.status, "reviewedBy": r.reviewed_by} for r, x in results],
        "testReports": [{"document": t.document_id, "record": t.record_id, "version": t.version, "status": t.status,
                         "conclusion": t.conclusion, "issuedBy": t.issued_by} for t in reports],
        "oos": [{"number": o.number, "item": o.item, "value": o.value, "status": o.status,
                 "conclusion": o.conclusion} for o in found]}


def _table(pdf: FPDF, rows: list[dict[str, Any]], names: dict[str, str]) -> None:
    """One section's rows: the column names in Chinese (when the font is there) and English, values as recorded."""
    chinese = pdf_text.has_cjk(pdf)
    face = FontFace(family=pdf_text.CJK, emphasis="")
    with pdf.table(text_align="LEFT", line_height=3, num_heading_rows=2 if chinese else 1) as table:
        if chinese:
            head = table.row()
            for k in rows[0]:
                head.cell(pdf_text.ZH_FIELDS.get(k, ""), style=face)
        table.row([names.get(k, k) for k in rows[0]])
        for r in rows:
            row = table.row()
            for v in r.values():
                text = str(v if v is not None else "")
                row.cell(pdf_text.shown(pdf, text), style=pdf_text.value_face(pdf, text))


def _header(pdf: FPDF, record: dict[str, Any], printed_by: str) -> None:
    zh = pdf_text.zh
    if pdf_text.has_cjk(pdf):
        pdf.set_font(pdf_text.CJK, size=12)
        pdf.cell(0, 7, zh(pdf, "Electronic batch record"), new_x="LMARGIN", new_y="NEXT")
    pdf_text.runs(pdf, 8, [(f"Electronic batch record {record['batchNumber']} - {record['product']}", False)],
                  13, "B")
    pdf_text.runs(pdf, 5, [
        (zh(pdf, "Status"), True), (f" Status {record['status']}; ", False),
        (zh(pdf, "Recipe"), True), (f" recipe {record['recipe']}; ", False),
        (zh(pdf, "Pools"), True), (f" pools {', '.join(record['pools'])}; ", False),
        (zh(pdf, "Exported"), True), (f" exported {record['exported']} UTC ", False),
        (zh(pdf, "Exported by"), True), (f" by {printed_by}", False)], 8)


def to_pdf(record: dict[str, Any], printed_by: str) -> bytes:
    pdf = FPDF(orientation="L", unit="mm", format="A3")
    pdf.set_auto_page_break(True, margin=12)
    pdf_text.use_cjk(pdf)  # Chinese beside the English fixed text (issue 15); English only without the font
    pdf.add_page()
    _header(pdf, record, printed_by)
    # Appendix B times are in UTC without a zone of their own (YYYYMMDDThhmmss): the column names say it.
    names = {f.short: f.name_en + (" (UTC)" if f.type == "datetime" else "") for d in DATASETS.values()
             for f in d.fields}
    tables = [(title, record["sections"][code]) for title, code in SECTIONS]
    used = [{k: (f"{v['state'] or '-'} until {v['validUntil'] or '-'}" if isinstance(v, dict) else v)
             for k, v in u.items()} for u in record["equipmentUsed"]]
    tables += [("Equipment as used (status and validity at the start of each phase)", used),
               ("QC testing: current results", record["qcTesting"]), ("Test reports", record["testReports"]),
               ("OOS results", record["oos"]),
               ("Exceptions and their review", record["exceptions"]), ("Signatures", record["signatures"])]
    for title, rows in tables:
        pdf_text.pair(pdf, 8, title, 10, "B", after=f": {len(rows)}")
        pdf.set_font("Helvetica", size=6)
        if rows:
            _table(pdf, rows, names)
    if record["review"]:
        r = record["review"]
        pdf_text.pair(pdf, 5, "QA review", 9, after=f": {r['opinion']} ({r['by']}, {r['at']} UTC)")
    if record["release"]:
        r = record["release"]
        at = f" {r['at']} UTC" if r["at"] else ""
        pdf_text.pair(pdf, 5, "Release document", 9, after=f" {r['document']}: {r['status']}{at}")
    return bytes(pdf.output())


async def export(ctx: Context, batch_number: str, fmt: str) -> RecordFile:
    p = ctx.signed_in()
    if fmt not in ("JSON", "PDF"):
        raise invalid("format: JSON or PDF")
    record = await build(ctx, batch_number)
    if fmt == "JSON":
        data, content_type = json.dumps(record, ensure_ascii=False, indent=1), "application/json"
    else:
        data, content_type = base64.b64encode(to_pdf(record, p.username)).decode(), "application/pdf"
    await ctx.db.record(ctx.audit_context(f"batch record {batch_number} exported"), PendingEvent(
        "EXPORTED", "batch_record", batch_number, {"format": fmt, "sections": {
            code: len(record["sections"][code]) for _, code in SECTIONS}}))
    return RecordFile(batch_number, fmt, f"eBR-{batch_number}.{fmt.lower()}", content_type, data)
