"""Batch release by the Qualified Person, with a PAdES-signed release document (PR-26, PR-29).

prepare: render the batch-release summary, seal it with the organisation's key, reserve the QP's
signature and hand the QP the bytes to sign. complete: the QP's key signs those bytes on the
client (it never reaches the server); the server embeds the signature, validates the document,
and releases the batch, all in one transaction with its signature record and audit events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies import pades
from policies.errors import AppError, ErrorCode
from policies.pades import SignatureReport as SignatureReport
from records import audit, release_pdf
from records.base import utcnow
from records.execution import PhaseRun
from records.genealogy import FinalLot, Intermediate
from records.plasma import Batch, BatchStatus, PlasmaUnit
from records.release import DocumentStatus as DocumentStatus  # the value list, for the schema
from records.release import ReleaseDocument as ReleaseDocument
from records.review import BatchReview
from records.signature import ESignature
from resolvers import batch_events, checkpoints, review, signed_documents, test_reports, trace_push
from resolvers.context import Context
from resolvers.plasma import batch as scoped_batch
from resolvers.signed import Signatures, SignedRequest, perform

log = logging.getLogger("plasmatwin.release")
RELEASABLE = (BatchStatus.UNDER_REVIEW,)  # QA concluded its review (resolvers.review)


@dataclass(frozen=True)
class Prepared:
    document_id: str
    algorithm: str
    to_sign: bytes
    to_sign_digest: bytes


async def _summary(ctx: Context, b: Batch) -> release_pdf.ReleaseSummary:
    async with ctx.db.read() as s:
        pool_ids = [p.id for p in b.pools]
        units, donors = (await s.execute(select(func.count(PlasmaUnit.id), func.count(func.distinct(
            PlasmaUnit.donor_id))).where(PlasmaUnit.pool_id.in_(pool_ids)))).one()
        lots = (await s.execute(select(FinalLot.lot_number)
                                .join(Intermediate, Intermediate.id == FinalLot.intermediate_id)
                                .where(Intermediate.batch_id == b.id).order_by(FinalLot.lot_number))).scalars().all()
        concluded = (await s.execute(select(BatchReview).where(BatchReview.batch_id == b.id))).scalar_one_or_none()
        phases = (await s.execute(select(PhaseRun.phase_code, PhaseRun.exception).where(PhaseRun.batch_id == b.id)
                                  .order_by(PhaseRun.id))).all()
        qc_lines = (await test_reports.batch_qc(s, b.id))[0]
        sigs = (await s.execute(select(ESignature)
                                .where(ESignature.entity == "batch", ESignature.entity_id == str(b.id))
                                .order_by(ESignature.id))).scalars().all()
    return release_pdf.ReleaseSummary(
        title="Batch release certificate - production and testing summary",
        batch_number=b.batch_number, product=b.product,
        expiry_date=b.expiry_date.isoformat() if b.expiry_date else "-", batch_size=f"{len(lots)} final lots",
        status=b.status,
        lines=[("Plasma pools", ", ".join(p.code for p in b.pools) or "-"),
               ("Plasma units charged", str(units)), ("Donors", str(donors)),
               ("Final lots", ", ".join(lots) or "-"),
               ("Production started", b.started_at.date().isoformat() if b.started_at else "-"),
               ("Phases", ", ".join(f"{code}{' (exception)' if exc else ''}" for code, exc in phases) or "-"),
               ("QA review", f"{concluded.opinion} ({concluded.items} exceptions reviewed; {concluded.concluded_by})"
                if concluded else "-"),
               ("QC results", "; ".join(qc_lines) or "no test records in PlasmaTwin")],
        signatures=[(x.printed_name, x.meaning, x.signed_at) for x in sigs],
        issued_at=audit.iso(utcnow()), organisation="PlasmaTwin plant",
    )


async def _batch(ctx: Context, batch_number: str) -> Batch:
    async with ctx.db.read() as s:
        b = (await s.execute(select(Batch).where(Batch.batch_number == batch_number)
                             .options(selectinload(Batch.pools)))).scalar_one_or_none()
    if b is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
    return b


async def _release_duty(ctx: Context, batch_id: int) -> None:
    async with ctx.db.read() as s:
        signers = await review.production_signers(s, batch_id)
    await ctx.require_duty("release", "batch", str(batch_id), "whoever signed production records of a batch "
                           "cannot release it", production_signers=tuple(signers))


async def prepare(ctx: Context, batch_number: str) -> Prepared:
    qp = ctx.signed_in()
    signed_documents.organisation_key(ctx, "release documents")
    b = await _batch(ctx, batch_number)
    if b.status not in RELEASABLE:
        raise AppError(ErrorCode.CONFLICT, f"batch {batch_number} is {b.status}; only {', '.join(RELEASABLE)} "
                                           "batches can be released")
    await _release_duty(ctx, b.id)
    async with ctx.db.read() as s:
        await review.ready_for_release(s, b)
        cert = await signed_documents.signer_certificate(s, qp.user_id, ctx.services.trust)
    summary = await _summary(ctx, b)
    sealed, prepared = await signed_documents.reserve(ctx, release_pdf.render_release_pdf(summary), cert)
    doc_id = release_pdf.document_id(summary)
    async with ctx.db.write(ctx.audit_context("batch release prepared")) as s:
        s.add(ReleaseDocument(document_id=doc_id, batch_id=b.id, status="PREPARED", prepared_by=qp.username,
                              prepared_state=prepared.state_bytes().decode(), pdf=sealed))
    return Prepared(doc_id, prepared.algorithm, prepared.to_sign, prepared.to_sign_digest)


async def complete(ctx: Context, req: SignedRequest, document_id: str, cms_signature: str) -> ReleaseDocument:
    qp = ctx.signed_in()

    async def clean() -> tuple[ReleaseDocument, bytes]:
        """The document is signed and validated here, before the e-signature is checked: perform
        has no step between the signature checks and the transaction, and this must not run inside it."""
        async with ctx.db.read() as s:
            doc = (await s.execute(select(ReleaseDocument).where(ReleaseDocument.document_id == document_id)
                                   )).scalar_one_or_none()
        if doc is None or doc.status != "PREPARED" or doc.prepared_state is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no release document {document_id} waiting for a signature")
        if doc.prepared_by != qp.username:
            raise AppError(ErrorCode.FORBIDDEN, "the QP who prepared the release completes it")
        # Checked again: a production record may have been signed, or an exception found, since.
        await _release_duty(ctx, doc.batch_id)
        async with ctx.db.read() as s:
            await review.ready_for_release(s, await s.get_one(Batch, doc.batch_id))
        final = await signed_documents.embed(ctx, req, "release_document", document_id, doc.prepared_state,
                                             cms_signature)
        return doc, final

    async def save(s: AsyncSession, signed_doc: tuple[ReleaseDocument, bytes],
                   signatures: Signatures[tuple[ReleaseDocument, bytes]]) -> tuple[ReleaseDocument, str]:
        doc, final = signed_doc
        row = await s.get(ReleaseDocument, doc.id)
        b = await s.get(Batch, doc.batch_id)
        assert row is not None and b is not None
        if row.status != "PREPARED":
            raise AppError(ErrorCode.CONFLICT, "this document was completed meanwhile")
        row.pdf, row.status, row.released_at, row.prepared_state = final, "RELEASED", utcnow(), None
        b.status = "RELEASED"
        await s.flush()
        await signatures.bind(s, "batch", str(b.id), {"batchNumber": b.batch_number, "status": "RELEASED",
                                                      "document": hashlib.sha256(final).hexdigest()})
        await trace_push.enqueue(s, b, row.document_id, hashlib.sha256(final).hexdigest())  # QM-03
        return row, b.batch_number

    def publish(released: tuple[ReleaseDocument, str]) -> None:
        batch_events.publish(ctx, released[1], batch_events.BatchEventKind.RELEASED, "released by the Qualified Person")

    row, number = await perform(ctx, req, reason="batch released by the Qualified Person", clean=clean, save=save,
                                publish=publish, meanings=("RELEASED",))
    if ctx.services.checkpoints is not None:  # the chain's head at every release (IT-03)
        try:
            await checkpoints.write(ctx.db, ctx.services.checkpoints, f"release of batch {number}")
        except (OSError, SQLAlchemyError):  # released and committed; the scheduled checkpoint follows
            log.exception("no audit checkpoint after the release of %s", number)
    return row


async def document(ctx: Context, batch_number: str) -> ReleaseDocument | None:
    async with ctx.db.read() as s:
        b = await scoped_batch(s, batch_number, ctx.scope())
        if b is None:
            return None
        return (await s.execute(select(ReleaseDocument).where(ReleaseDocument.batch_id == b.id)
                                .order_by(ReleaseDocument.id.desc()).limit(1))).scalar_one_or_none()


async def document_signatures(ctx: Context, pdf: bytes) -> list[SignatureReport]:
    """Signer, time, integrity and trust of every signature in a PDF, against the trust anchors."""
    return await pades.validate(pdf, list(ctx.services.trust.anchors))


async def validate(ctx: Context, pdf_base64: str) -> list[SignatureReport]:
    """The signatures of any PDF sent in (a copy received by e-mail): the caller's file, so a file
    that cannot be read is their input's failure, not ours."""
    try:
        data = base64.b64decode(pdf_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AppError(ErrorCode.VALIDATION_FAILED, "pdf must be standard base64") from exc
    try:
        return await document_signatures(ctx, data)
    except Exception as exc:  # a corrupt file is the caller's input, not our failure
        raise AppError(ErrorCode.VALIDATION_FAILED, "the file is not a readable signed PDF") from exc
