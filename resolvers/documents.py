"""Controlled documents (QM-04..QM-08): the signed life cycle of a version, its printed or exported copies,
the periodic-review reminder, and the effective version an operational view shows.

DRAFT (written and rewritten by its author, signed PERFORMED) -> IN_REVIEW (submitted, PERFORMED) -> reviewed
(REVIEWED, not by the author; a GMP document only by QA, QM-04) -> APPROVED (APPROVED by QA, not the author,
with the planned effective date and the next periodic review) -> EFFECTIVE (on or after that date; the
version effective before is SUPERSEDED in the same transaction) -> WITHDRAWN. Superseded and withdrawn versions
stay readable for QA but operational views only ever get the effective version (`effective`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.document import ControlledDocument as ControlledDocument
from records.document import CopyKind as CopyKind
from records.document import CopyStatus as CopyStatus
from records.document import DocumentCategory as DocumentCategory
from records.document import DocumentCopy as DocumentCopy
from records.document import DocumentStatus as DocumentStatus
from records.identity import Role
from resolvers import attachments, versions
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform, transition

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
QA = "qa_officer"
MAX_BODY = 200_000


@dataclass(frozen=True)
class DocumentDraft:
    code: str
    title: str
    category: str
    gmp: bool = True
    body: str = ""
    attachment_id: str | None = None
    roles: tuple[str, ...] = ()


def content(r: ControlledDocument) -> dict[str, Any]:
    """What a document signature is bound to: the version, its content's digest and its status."""
    return {"code": r.code, "version": r.version, "title": r.title, "category": r.category, "gmp": r.gmp,
            "status": r.status, "contentSha256": r.content_sha256, "roles": r.roles,
            "effectiveDate": r.effective_date.isoformat() if r.effective_date else None,
            "reviewDue": r.review_due.isoformat() if r.review_due else None}


async def _find(s: AsyncSession, code: str, version: int) -> ControlledDocument:
    found: ControlledDocument = await versions.find(s, ControlledDocument, code, version, "document")
    return found


async def _check(s: AsyncSession, d: DocumentDraft) -> None:
    if not CODE.fullmatch(d.code):
        raise invalid(f"code {d.code!r}: 1-32 capitals, digits, '_', '.' or '-'")
    text("title", d.title, 200)
    if d.category not in DocumentCategory.__members__:
        raise invalid(f"category: one of {', '.join(DocumentCategory)}")
    if len(d.body) > MAX_BODY:
        raise invalid(f"body: at most {MAX_BODY} characters")
    if bool(d.body.strip()) == bool(d.attachment_id):
        raise invalid("the content is either text (body) or a stored file (attachmentId), one of them")
    known = set((await s.execute(select(Role.name))).scalars())
    unknown = sorted(set(d.roles) - known)
    if unknown:
        raise invalid(f"roles: no role {', '.join(unknown)}")


async def draft(ctx: Context, req: SignedRequest, d: DocumentDraft, change_note: str) -> ControlledDocument:
    """A new version (DRAFT), or the open draft of this code rewritten by its author; signed PERFORMED."""
    p = ctx.signed_in()

    async def clean() -> tuple[DocumentDraft, str, int | None]:
        text("changeNote (what changed and why)", change_note, 2000)
        async with ctx.db.read() as s:
            await _check(s, d)
            if d.attachment_id:
                proof = await attachments.evidence(s, d.attachment_id, p.username)
                return d, proof.sha256, proof.id
        return d, hashlib.sha256(d.body.encode()).hexdigest(), None

    async def save(s: AsyncSession, c: tuple[DocumentDraft, str, int | None],
                   signatures: Signatures[tuple[DocumentDraft, str, int | None]]) -> ControlledDocument:
        new, digest, attachment = c
        rows = list((await s.execute(select(ControlledDocument).where(ControlledDocument.code == new.code)
                                     .order_by(ControlledDocument.version.desc()))).scalars())
        if rows and rows[0].category != new.category:
            raise conflict(f"document {new.code} is a {rows[0].category}")
        row = next((r for r in rows if r.status in (DocumentStatus.DRAFT, DocumentStatus.IN_REVIEW,
                                                    DocumentStatus.APPROVED)), None)
        if row is not None and row.status != DocumentStatus.DRAFT:
            raise conflict(f"version {row.version} of {new.code} is {row.status}: it is decided before a new draft")
        if row is not None and row.drafted_by != p.username:
            raise conflict(f"the open draft of {new.code} is {row.drafted_by}'s")
        if row is None:
            row = ControlledDocument(code=new.code, version=(rows[0].version + 1) if rows else 1,
                                     status=DocumentStatus.DRAFT.value)
            s.add(row)
        row.title, row.category, row.gmp, row.body = new.title.strip(), new.category, new.gmp, new.body
        row.attachment_id, row.content_sha256, row.roles = attachment, digest, sorted(set(new.roles))
        row.change_note, row.drafted_by, row.drafted_at = change_note.strip(), p.username, utcnow()
        await s.flush()
        await signatures.bind(s, "controlled_document", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=change_note.strip(), clean=clean, save=save,
                         conflict="this document was drafted concurrently; look again")


async def _step(ctx: Context, req: SignedRequest, code: str, version: int, comment: str, *, status: str,
                meaning: str, act: Any, check: Any = None) -> ControlledDocument:
    """One signed move of a version: `check(row)` refuses before signing (after the status check), `act(s, row,
    signer)` changes it in the transaction; the signature is bound to the version as it is after."""
    async def checked(r: ControlledDocument) -> None:
        text("comment", comment, 2000)
        if r.status != status:
            raise conflict(f"document {code} version {version} is {r.status}, not {status}")
        if check is not None:
            await check(r)

    return await transition(ctx, req, entity="controlled_document", load=lambda s: _find(s, code, version),
                            check=checked, change=act, content=content, reason=comment.strip(), meaning=meaning,
                            concurrent="the document changed meanwhile; look at it again",
                            unchanged=lambda before, now: now.status == status and now.drafted_at == before.drafted_at)


async def submit(ctx: Context, req: SignedRequest, code: str, version: int, comment: str) -> ControlledDocument:
    """The author sends a draft for review; signed PERFORMED."""
    async def check(r: ControlledDocument) -> None:
        if r.drafted_by != ctx.signed_in().username:
            raise AppError(ErrorCode.FORBIDDEN, f"only its author ({r.drafted_by}) submits a draft for review")

    async def act(_: AsyncSession, row: ControlledDocument, __: str) -> None:
        row.status, row.submitted_at = DocumentStatus.IN_REVIEW.value, utcnow()

    return await _step(ctx, req, code, version, comment, status=DocumentStatus.DRAFT, meaning="PERFORMED", act=act,
                       check=check)


async def review(ctx: Context, req: SignedRequest, code: str, version: int, comment: str) -> ControlledDocument:
    """Another person than the author reviews it, signed REVIEWED; a GMP document only a QA officer (QM-04)."""
    async def check(r: ControlledDocument) -> None:
        if r.reviewed_by is not None:
            raise conflict(f"document {code} version {version} was reviewed by {r.reviewed_by}")
        if r.gmp and QA not in ctx.signed_in().roles:
            raise AppError(ErrorCode.FORBIDDEN, f"{code} is a GMP document: the quality department (QA) reviews it")
        await ctx.require_duty("review_document", "controlled_document", str(r.id),
                               "whoever drafted a document cannot review it", drafted_by=r.drafted_by)

    async def act(_: AsyncSession, row: ControlledDocument, signer: str) -> None:
        row.reviewed_by, row.reviewed_at, row.review_comment = signer, utcnow(), comment.strip()

    return await _step(ctx, req, code, version, comment, status=DocumentStatus.IN_REVIEW, meaning="REVIEWED",
                       act=act, check=check)


async def approve(ctx: Context, req: SignedRequest, code: str, version: int, comment: str, effective_date: date,
                  review_due: date) -> ControlledDocument:
    """QA approves a version in review (not its author), signed APPROVED, with the date it becomes effective and
    its next periodic review; a GMP document must have been reviewed by QA first (QM-04)."""
    async def check(r: ControlledDocument) -> None:
        if effective_date < utcnow().date():
            raise invalid("effectiveDate: today or later")
        if review_due <= effective_date:
            raise invalid("reviewDue: after the effective date")
        if r.gmp and r.reviewed_by is None:
            raise conflict(f"{code} is a GMP document: QA reviews it before it is approved")
        await ctx.require_duty("approve_document", "controlled_document", str(r.id),
                               "whoever drafted a document cannot approve it", drafted_by=r.drafted_by)

    async def act(_: AsyncSession, row: ControlledDocument, signer: str) -> None:
        row.status, row.approved_by, row.approved_at = DocumentStatus.APPROVED.value, signer, utcnow()
        row.effective_date, row.review_due = effective_date, review_due

    return await _step(ctx, req, code, version, comment, status=DocumentStatus.IN_REVIEW, meaning="APPROVED",
                       act=act, check=check)


async def make_effective(ctx: Context, req: SignedRequest, code: str, version: int, comment: str
                         ) -> ControlledDocument:
    """An approved version takes effect (not before its effective date); the version effective before is
    superseded in the same transaction. Signed APPROVED by QA."""
    async def check(r: ControlledDocument) -> None:
        assert r.effective_date is not None
        if r.effective_date > utcnow().date():
            raise conflict(f"document {code} version {version} takes effect on {r.effective_date}, not before")

    async def act(s: AsyncSession, row: ControlledDocument, signer: str) -> None:
        now = utcnow()
        for old in (await s.execute(select(ControlledDocument).where(ControlledDocument.effective_key == code))
                    ).scalars():
            old.status, old.effective_key, old.superseded_at = DocumentStatus.SUPERSEDED.value, None, now
        await s.flush()  # the key is free before the new version takes it
        row.status, row.effective_key, row.made_effective_by = DocumentStatus.EFFECTIVE.value, code, signer

    return await _step(ctx, req, code, version, comment, status=DocumentStatus.APPROVED, meaning="APPROVED",
                       act=act, check=check)


async def withdraw(ctx: Context, req: SignedRequest, code: str, version: int, reason: str) -> ControlledDocument:
    """QA withdraws the effective version without a successor; signed APPROVED. Its issued copies are then to be
    withdrawn (`documentCopies`)."""
    async def act(_: AsyncSession, row: ControlledDocument, signer: str) -> None:
        row.status, row.effective_key = DocumentStatus.WITHDRAWN.value, None
        row.withdrawn_by, row.withdrawn_at, row.withdrawal_reason = signer, utcnow(), reason.strip()

    return await _step(ctx, req, code, version, reason, status=DocumentStatus.EFFECTIVE, meaning="APPROVED", act=act)


# --- copies (QM-05) ----------------------------------------------------------------------------------

async def issue_copy(ctx: Context, req: SignedRequest, code: str, version: int, kind: str, holder: str
                     ) -> DocumentCopy:
    """A printout or export of the effective version, with the next copy number; signed PERFORMED."""
    async def clean() -> ControlledDocument:
        text("holder (who or where the copy goes)", holder, 200)
        if kind not in CopyKind.__members__:
            raise invalid(f"kind: one of {', '.join(CopyKind)}")
        async with ctx.db.read() as s:
            r = await _find(s, code, version)
        if r.status != DocumentStatus.EFFECTIVE:
            raise conflict(f"document {code} version {version} is {r.status}: only the effective version is issued")
        return r

    async def save(s: AsyncSession, r: ControlledDocument, signatures: Signatures[ControlledDocument]
                   ) -> DocumentCopy:
        last = (await s.execute(select(func.max(DocumentCopy.copy_number))
                                .where(DocumentCopy.document_id == r.id))).scalar()
        row = DocumentCopy(document_id=r.id, copy_number=(last or 0) + 1, kind=kind, holder=holder.strip(),
                           status=CopyStatus.ISSUED.value, issued_by=signatures.signer, issued_at=utcnow())
        s.add(row)
        await s.flush()
        await signatures.bind(s, "document_copy", str(row.id), copy_content(row, r))
        return row

    return await perform(ctx, req, reason=f"{kind.lower()} of {code} v{version} issued to {holder.strip()}",
                         clean=clean, save=save, conflict="another copy was issued meanwhile; send it again")


def copy_content(c: DocumentCopy, r: ControlledDocument) -> dict[str, Any]:
    return {"code": r.code, "version": r.version, "contentSha256": r.content_sha256, "copyNumber": c.copy_number,
            "kind": c.kind, "holder": c.holder, "status": c.status}


async def close_copy(ctx: Context, req: SignedRequest, code: str, version: int, copy_number: int, status: str,
                     note: str) -> DocumentCopy:
    """A copy is withdrawn (taken back or, an export, recalled) or, a printout, destroyed; signed PERFORMED."""
    async def clean() -> tuple[ControlledDocument, DocumentCopy]:
        text("note", note, 2000)
        async with ctx.db.read() as s:
            r = await _find(s, code, version)
            c = (await s.execute(select(DocumentCopy).where(DocumentCopy.document_id == r.id,
                                                            DocumentCopy.copy_number == copy_number))
                 ).scalar_one_or_none()
        if c is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no copy {copy_number} of {code} version {version}")
        allowed = {CopyStatus.WITHDRAWN: (CopyStatus.ISSUED,),
                   CopyStatus.DESTROYED: (CopyStatus.ISSUED, CopyStatus.WITHDRAWN)}.get(CopyStatus(status), ())
        if c.status not in allowed:
            raise conflict(f"copy {copy_number} of {code} version {version} is {c.status}")
        if status == CopyStatus.DESTROYED and c.kind != CopyKind.PRINTOUT:
            raise conflict("only a printout is destroyed; an export is withdrawn")
        return r, c

    async def save(s: AsyncSession, rc: tuple[ControlledDocument, DocumentCopy],
                   signatures: Signatures[tuple[ControlledDocument, DocumentCopy]]) -> DocumentCopy:
        r, c = rc
        row = await s.get_one(DocumentCopy, c.id)
        if row.status != c.status:
            raise conflict("the copy changed meanwhile; look again")
        now, who = utcnow(), signatures.signer
        if row.withdrawn_at is None:
            row.withdrawn_by, row.withdrawn_at = who, now
        if status == CopyStatus.DESTROYED:
            row.destroyed_by, row.destroyed_at = who, now
        row.status, row.note = status, note.strip()
        await s.flush()
        await signatures.bind(s, "document_copy", str(row.id), copy_content(row, r))
        return row

    return await perform(ctx, req, reason=note.strip(), clean=clean, save=save)


# --- reads -------------------------------------------------------------------------------------------

async def effective(s: AsyncSession, code: str) -> ControlledDocument | None:
    """The version in force of a document, or None: what operational views show (QM-08)."""
    found: ControlledDocument | None = (await s.execute(
        select(ControlledDocument).where(ControlledDocument.effective_key == code))).scalar_one_or_none()
    return found


async def effective_by_codes(s: AsyncSession, codes: list[str]) -> list[ControlledDocument | None]:
    """The effective version of each code, in order (the loader of operational views)."""
    rows = {r.effective_key: r for r in (await s.execute(
        select(ControlledDocument).where(ControlledDocument.effective_key.in_(set(codes))))).scalars()}
    return [rows.get(c) for c in codes]


async def get(ctx: Context, code: str, version: int | None) -> ControlledDocument | None:
    """A version, or without one the effective version (else the newest)."""
    found: ControlledDocument | None = await versions.version(ctx, ControlledDocument, code, version,
                                                              DocumentStatus.EFFECTIVE)
    return found


async def search(ctx: Context, category: str | None, code: str | None, status: str | None
                 ) -> Sequence[ControlledDocument]:
    """QM-07: by category and number (a code's beginning), newest version first."""
    q = select(ControlledDocument).order_by(ControlledDocument.code, ControlledDocument.version.desc())
    if category:
        q = q.where(ControlledDocument.category == category)
    if status:
        q = q.where(ControlledDocument.status == status)
    if code:
        q = q.where(ControlledDocument.code.startswith(code.strip().upper(), autoescape=True))
    async with ctx.db.read() as s:
        return (await s.execute(q)).scalars().all()


async def due_for_review(ctx: Context, within_days: int) -> Sequence[ControlledDocument]:
    """QM-08: effective versions whose periodic review falls within the next `within_days` days (or is past)."""
    if not 0 <= within_days <= 366:
        raise invalid("withinDays: 0-366")
    until = utcnow().date() + timedelta(days=within_days)
    async with ctx.db.read() as s:
        return (await s.execute(select(ControlledDocument).where(
            ControlledDocument.status == DocumentStatus.EFFECTIVE, ControlledDocument.review_due <= until)
            .order_by(ControlledDocument.review_due, ControlledDocument.code))).scalars().all()


async def copies(ctx: Context, code: str, status: str | None) -> Sequence[tuple[DocumentCopy, ControlledDocument]]:
    """The copies issued of every version of a document, newest version and copy first."""
    q = (select(DocumentCopy, ControlledDocument).join(ControlledDocument)
         .where(ControlledDocument.code == code)
         .order_by(ControlledDocument.version.desc(), DocumentCopy.copy_number.desc()))
    if status:
        q = q.where(DocumentCopy.status == status)
    async with ctx.db.read() as s:
        return [(c, d) for c, d in (await s.execute(q)).all()]
