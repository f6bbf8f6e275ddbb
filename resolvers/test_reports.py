"""Signed test reports (QM-02, IT-24).

prepare: a reviewed test record is rendered (records/report_pdf.py), sealed with the organisation's key,
and the approver's PAdES signature is reserved; the approver's key signs the returned bytes on the client.
complete: the server embeds that signature, validates the document against the trust anchors and issues
the version, signed APPROVED, in one transaction with its audit events. A corrected result flags the
issued version (records/test_report.flag_for_reissue); the next version names it and why, and supersedes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records import audit, pdf_text, report_pdf
from records.base import utcnow
from records.judgement import SpecItem
from records.plasma import Batch
from records.qc_record import TestRecord, TestRecordStatus, TestResult
from records.signature import ESignature
from records.specification import Specification
from records.test_report import Conclusion as Conclusion  # the value lists, for the schema
from records.test_report import ReportStatus as ReportStatus
from records.test_report import TestReport as TestReport  # for the schema
from resolvers import signed_documents
from resolvers.checks import conflict
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from resolvers.specifications import stored_items

ORGANISATION = "PlasmaTwin plant"
STAGE_NAMES = {"INTERMEDIATE": "Intermediate", "BULK": "Product to be packaged", "FINAL": "Finished product"}


@dataclass(frozen=True)
class Prepared:
    document_id: str
    version: int
    algorithm: str
    to_sign: bytes
    to_sign_digest: bytes


def limits(item: SpecItem | None) -> str:
    """The acceptance criterion as printed: "6.4 - 7.4 pH", ">= 95 %", or the text a result must read."""
    if item is None:
        return "-"
    if item.expected is not None:
        return item.expected
    low = f"{'>=' if item.low_inclusive else '>'} {item.low}" if item.low is not None else ""
    high = f"{'<=' if item.high_inclusive else '<'} {item.high}" if item.high is not None else ""
    if item.low is not None and item.high is not None and item.low_inclusive and item.high_inclusive:
        text = f"{item.low} - {item.high}"
    else:
        text = " and ".join(t for t in (low, high) if t) or "report"
    return f"{text} {item.unit}".strip()


async def _versions(s: AsyncSession, record_id: int) -> list[TestReport]:
    return list((await s.execute(select(TestReport).where(TestReport.record_id == record_id)
                                 .order_by(TestReport.id))).scalars())


def _current(reports: list[TestReport]) -> TestReport | None:
    """The newest issued version, flagged or not."""
    issued = [r for r in reports if r.status in (ReportStatus.ISSUED, ReportStatus.REISSUE_REQUIRED)]
    return issued[-1] if issued else None


async def _document(s: AsyncSession, record: TestRecord, version: int, previous: TestReport | None,
                    approver: str) -> report_pdf.TestReportDoc:
    batch = await s.get_one(Batch, record.batch_id)
    spec = await s.get_one(Specification, record.specification_id)
    items = {i.name: i for i in stored_items(spec)}
    lines = list((await s.execute(select(TestResult).where(TestResult.record_id == record.id)
                                  .order_by(TestResult.id))).scalars())
    current = [r for r in lines if r.current_key is not None]
    sigs = (await s.execute(select(ESignature).where(or_(
        (ESignature.entity == "test_result") & ESignature.entity_id.in_([str(r.id) for r in current]),
        (ESignature.entity == "test_record") & (ESignature.entity_id == str(record.id))))
        .order_by(ESignature.id))).scalars().all()
    failed = [r.item for r in current if r.verdict != "PASS"]
    conclusion = (f"Complies with specification {spec.code} version {spec.version}." if not failed else
                  f"Does not comply with specification {spec.code} version {spec.version}: {', '.join(failed)}.")
    reissue = ""
    if previous is not None:
        corrected = [r for r in current if r.replaces_id is not None and previous.issued_at is not None
                     and r.entered_at > previous.issued_at]
        why = "; ".join(f"{r.item} corrected ({r.correction_reason})" for r in corrected) or "results corrected"
        reissue = f"Reissued: replaces version {previous.version} ({previous.document_id}). {why}."
    return report_pdf.TestReportDoc(
        title=f"Test report - {STAGE_NAMES.get(record.stage, record.stage)} {record.subject_code}",
        version=version,
        header=[("Batch number", batch.batch_number), ("Product", batch.product),
                ("Stage", STAGE_NAMES.get(record.stage, record.stage)), ("Subject", record.subject_code),
                ("Specification", f"{spec.code} version {spec.version} - {spec.title}"),
                ("Test record", str(record.id)),
                ("Analysts", ", ".join(sorted({r.analyst for r in current}))),
                # The field name prints bilingual (records/pdf_text.py); the value names no English word.
                ("Reviewed by", f"{record.reviewed_by}, {pdf_text.when(audit.iso(record.reviewed_at))}"
                 if record.reviewed_at else "-"),
                ("Approved by", f"{approver} - meaning APPROVED, signed in this document's PAdES signature")],
        results=[report_pdf.ReportLine(r.item, r.method or "-", limits(items.get(r.item)), r.reported, r.verdict)
                 for r in current],
        conclusion=conclusion, reissue=reissue,
        signatures=[(x.printed_name, x.meaning, x.signed_at) for x in sigs],
        issued_at=audit.iso(utcnow()), organisation=ORGANISATION)


async def _approver_duty(ctx: Context, s: AsyncSession, record_id: int) -> None:
    analysts = sorted(set((await s.execute(select(TestResult.analyst).where(
        TestResult.record_id == record_id))).scalars()))
    await ctx.require_duty("approve_test_report", "test_record", str(record_id),
                           "whoever entered a result of a test record cannot approve its report", analysts=analysts)


async def prepare(ctx: Context, record_id: int) -> Prepared:
    me = ctx.signed_in()
    signed_documents.organisation_key(ctx, "test reports")
    async with ctx.db.read() as s:
        record = await s.get(TestRecord, record_id)
        if record is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no test record {record_id}")
        if record.status != TestRecordStatus.REVIEWED:
            raise conflict(f"test record {record_id} is {record.status}: a report is issued once it is reviewed")
        await _approver_duty(ctx, s, record_id)
        reports = await _versions(s, record_id)
        current = _current(reports)
        if current is not None and current.status == ReportStatus.ISSUED:
            raise conflict(f"report version {current.version} ({current.document_id}) is current: no result "
                           "changed since it was issued")
        cert = await signed_documents.signer_certificate(s, me.user_id, ctx.services.trust)
        version = (current.version + 1) if current is not None else 1
        doc = await _document(s, record, version, current, me.display_name or me.username)
    try:
        pdf = report_pdf.render_test_report_pdf(doc)
    except ValueError as e:
        raise AppError(ErrorCode.VALIDATION_FAILED, str(e)) from None
    sealed, reserved = await signed_documents.reserve(ctx, pdf, cert)
    doc_id = report_pdf.document_id(doc)
    async with ctx.db.write(ctx.audit_context(f"test report version {version} prepared")) as s:
        for stale in await _versions(s, record_id):
            if stale.status == ReportStatus.PREPARED:
                stale.status, stale.prepared_state = ReportStatus.DISCARDED.value, None
        s.add(TestReport(document_id=doc_id, record_id=record_id, version=version,
                         status=ReportStatus.PREPARED.value,
                         conclusion=(Conclusion.COMPLIES if doc.conclusion.startswith("Complies")
                                     else Conclusion.DOES_NOT_COMPLY).value,
                         prepared_by=me.username, prepared_state=reserved.state_bytes().decode(), pdf=sealed,
                         supersedes_id=current.id if current is not None else None,
                         reissue_reason=doc.reissue or None))
    return Prepared(doc_id, version, reserved.algorithm, reserved.to_sign, reserved.to_sign_digest)


async def complete(ctx: Context, req: SignedRequest, document_id: str, cms_signature: str) -> TestReport:
    """Issue a prepared version with the approver's document signature; signed APPROVED."""
    me = ctx.signed_in()

    async def clean() -> tuple[int, bytes]:
        async with ctx.db.read() as s:
            doc = (await s.execute(select(TestReport).where(TestReport.document_id == document_id))
                   ).scalar_one_or_none()
            if doc is None or doc.status != ReportStatus.PREPARED or doc.prepared_state is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no test report {document_id} waiting for a signature")
            if doc.prepared_by != me.username:
                raise AppError(ErrorCode.FORBIDDEN, "the person who prepared the report signs it")
            record = await s.get_one(TestRecord, doc.record_id)
            if record.status != TestRecordStatus.REVIEWED or (record.reviewed_at or doc.prepared_at) > doc.prepared_at:
                raise conflict("the test record changed after this report was prepared: prepare it again")
            await _approver_duty(ctx, s, record.id)
        final = await signed_documents.embed(ctx, req, "test_report", document_id, doc.prepared_state,
                                             cms_signature)
        return doc.id, final

    async def save(s: AsyncSession, ready: tuple[int, bytes], signatures: Signatures[tuple[int, bytes]]
                   ) -> TestReport:
        row = await s.get_one(TestReport, ready[0])
        if row.status != ReportStatus.PREPARED:
            raise conflict("this report was issued or replaced meanwhile")
        now = utcnow()
        if row.supersedes_id is not None:
            old = await s.get_one(TestReport, row.supersedes_id)
            old.status, old.superseded_at = ReportStatus.SUPERSEDED.value, now
        row.pdf, row.prepared_state = ready[1], None
        row.status, row.issued_by, row.issued_at = ReportStatus.ISSUED.value, signatures.signer, now
        row.issued_key = f"{row.record_id}:{row.version}"
        await s.flush()
        await signatures.bind(s, "test_report", str(row.id), {
            "documentId": row.document_id, "record": row.record_id, "version": row.version,
            "conclusion": row.conclusion, "supersedes": row.supersedes_id,
            "pdf": hashlib.sha256(ready[1]).hexdigest()})
        return row

    return await perform(ctx, req, reason=f"test report {document_id} issued", clean=clean, save=save,
                         meanings=("APPROVED",), conflict="the report was issued concurrently; look again")


async def of_record(ctx: Context, record_id: int) -> list[TestReport]:
    """Every version of a record's report, discarded preparations left out, newest first."""
    async with ctx.db.read() as s:
        rows = await _versions(s, record_id)
    return [r for r in reversed(rows) if r.status != ReportStatus.DISCARDED]


async def by_document(ctx: Context, document_id: str) -> TestReport | None:
    async with ctx.db.read() as s:
        return (await s.execute(select(TestReport).where(TestReport.document_id == document_id))
                ).scalar_one_or_none()


async def batch_qc(s: AsyncSession, batch_id: int) -> tuple[list[str], list[str]]:
    """A batch's QC state for its release: one line per test record with its current report, and what
    stops release (a record not reviewed, no issued report, a report waiting for reissue)."""
    records = (await s.execute(select(TestRecord).where(TestRecord.batch_id == batch_id)
                               .order_by(TestRecord.id))).scalars().all()
    reports = (await s.execute(select(TestReport).where(TestReport.record_id.in_([r.id for r in records]))
                               .order_by(TestReport.id))).scalars().all() if records else []
    lines: list[str] = []
    blockers: list[str] = []
    for r in records:
        what = f"{r.stage} {r.subject_code}"
        current = _current([x for x in reports if x.record_id == r.id])
        if current is None:
            lines.append(f"{what}: {r.status.lower()}, no report")
            blockers.append(f"test record {r.id} ({what}) has no issued test report")
            continue
        lines.append(f"{what}: report {current.document_id} v{current.version} {current.conclusion}")
        if current.status == ReportStatus.REISSUE_REQUIRED:
            blockers.append(f"test report {current.document_id} ({what}) waits for reissue after a correction")
        elif r.status != TestRecordStatus.REVIEWED:
            blockers.append(f"test record {r.id} ({what}) is not reviewed")
        elif current.conclusion != Conclusion.COMPLIES:
            blockers.append(f"test report {current.document_id} ({what}) does not comply")
    return lines, blockers
