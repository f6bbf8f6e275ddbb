"""Controlled documents (QM-04..QM-08): versions with their signed life cycle, search by category and number,
the periodic-review reminder, and the printed or exported copies with their copy numbers."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import documents as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import ControlledDocumentStatus, DocumentCategory, DocumentCopyKind, DocumentCopyStatus
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="A version of a controlled document (QM-04..QM-08).")
class ControlledDocument:
    code: str = strawberry.field(description="The document's number, e.g. SOP-PR-012")
    version: int
    title: str
    category: DocumentCategory
    gmp: bool = strawberry.field(description="A GMP document: reviewed by QA before approval (QM-04)")
    status: ControlledDocumentStatus
    change_note: str
    body: str = strawberry.field(description="The content as text; empty when it is a stored file")
    attachment_id: int | None = strawberry.field(description="The stored file of the content (attachment)")
    content_sha256: str = strawberry.field(description="SHA-256 of the content (the text or the file)")
    roles: list[str] = strawberry.field(description="Roles that must be trained on it (the training matrix)")
    effective_date: date | None
    review_due: date | None = strawberry.field(description="The next periodic review (QM-08)")
    drafted_by: str
    drafted_at: datetime
    submitted_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None
    approved_by: str | None
    approved_at: datetime | None
    made_effective_by: str | None
    superseded_at: datetime | None
    withdrawn_by: str | None
    withdrawn_at: datetime | None
    withdrawal_reason: str | None


def document_of(r: res.ControlledDocument) -> ControlledDocument:
    return of(ControlledDocument, r)


@strawberry.type(description="A printout or export of a document version (QM-05).")
class DocumentCopy:
    code: str
    version: int
    copy_number: int
    kind: DocumentCopyKind
    holder: str = strawberry.field(description="Who or where the copy was distributed to")
    status: DocumentCopyStatus
    issued_by: str
    issued_at: datetime
    withdrawn_by: str | None
    withdrawn_at: datetime | None
    destroyed_by: str | None
    destroyed_at: datetime | None
    note: str | None


def copy_of(c: res.DocumentCopy, d: res.ControlledDocument) -> DocumentCopy:
    return of(DocumentCopy, c, code=d.code, version=d.version)


@strawberry.input
class DraftDocumentInput:
    code: str = strawberry.field(description="The document's number")
    title: str
    category: DocumentCategory
    gmp: bool = True
    body: str = strawberry.field(default="", description="The content as text (or give attachmentId)")
    attachment_id: str | None = strawberry.field(default=None, description="The content as a file you uploaded "
                                                                           "(uploadAttachment)")
    roles: list[str] = strawberry.field(default_factory=list, description="Roles that must be trained on it")
    change_note: str = strawberry.field(description="What changed from the last version, and why")


@strawberry.input
class DocumentStepInput:
    code: str
    version: int
    comment: str


@strawberry.input
class ApproveDocumentInput:
    code: str
    version: int
    comment: str
    effective_date: date = strawberry.field(description="The day it may take effect, today or later")
    review_due: date = strawberry.field(description="The next periodic review, after the effective date")


@strawberry.input
class IssueDocumentCopyInput:
    code: str
    version: int
    kind: DocumentCopyKind
    holder: str = strawberry.field(description="Who or where the copy goes")


@strawberry.input
class CloseDocumentCopyInput:
    code: str
    version: int
    copy_number: int
    status: DocumentCopyStatus = strawberry.field(description="WITHDRAWN, or DESTROYED (a printout only)")
    note: str


@strawberry.type
class DocumentQuery:
    @strawberry.field(description="Controlled documents by category and number (a code's beginning), newest "
                                  "version first (QM-07).", extensions=can("quality:document", "read"))
    async def controlled_documents(self, info: Info[Context, None], category: DocumentCategory | None = None,
                                   code: str | None = None, status: ControlledDocumentStatus | None = None
                                   ) -> list[ControlledDocument]:
        rows = await res.search(info.context, category.value if category else None, code,
                                status.value if status else None)
        return [document_of(r) for r in rows]

    @strawberry.field(description="A version; without one, the effective version (else the newest).",
                      extensions=can("quality:document", "read"))
    async def controlled_document(self, info: Info[Context, None], code: str,
                                  version: int | None = None) -> ControlledDocument | None:
        r = await res.get(info.context, code, version)
        return document_of(r) if r is not None else None

    @strawberry.field(description="Effective documents whose periodic review is due within the next days, or "
                                  "overdue (QM-08).", extensions=can("quality:document", "read"))
    async def documents_due_for_review(self, info: Info[Context, None], within_days: int = 30
                                       ) -> list[ControlledDocument]:
        return [document_of(r) for r in await res.due_for_review(info.context, within_days)]

    @strawberry.field(description="The copies issued of a document's versions (QM-05).",
                      extensions=can("quality:document", "read"))
    async def document_copies(self, info: Info[Context, None], code: str,
                              status: DocumentCopyStatus | None = None) -> list[DocumentCopy]:
        return [copy_of(c, d) for c, d in await res.copies(info.context, code, status.value if status else None)]


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(description="Draft a new version (or rewrite your open draft); signed PERFORMED.",
                         extensions=can("quality:document", "write"))
    async def draft_document(self, info: Info[Context, None], input: DraftDocumentInput,
                             signature: SignatureInput) -> ControlledDocument:
        d = res.DocumentDraft(input.code, input.title, input.category.value, input.gmp, input.body,
                              input.attachment_id, tuple(input.roles))
        return document_of(await res.draft(info.context, signed(info, signature), d, input.change_note))

    @strawberry.mutation(description="The author submits a draft for review; signed PERFORMED.",
                         extensions=can("quality:document", "write"))
    async def submit_document(self, info: Info[Context, None], input: DocumentStepInput,
                              signature: SignatureInput) -> ControlledDocument:
        return document_of(await res.submit(info.context, signed(info, signature), input.code, input.version,
                                            input.comment))

    @strawberry.mutation(description="Review a version in review (not its author; a GMP document only QA); "
                                     "signed REVIEWED.", extensions=can("quality:document", "review"))
    async def review_document(self, info: Info[Context, None], input: DocumentStepInput,
                              signature: SignatureInput) -> ControlledDocument:
        return document_of(await res.review(info.context, signed(info, signature), input.code, input.version,
                                            input.comment))

    @strawberry.mutation(description="QA approves a reviewed version (not its author) with its effective date and "
                                     "next periodic review; signed APPROVED.",
                         extensions=can("quality:document", "approve"))
    async def approve_document(self, info: Info[Context, None], input: ApproveDocumentInput,
                               signature: SignatureInput) -> ControlledDocument:
        return document_of(await res.approve(info.context, signed(info, signature), input.code, input.version,
                                             input.comment, input.effective_date, input.review_due))

    @strawberry.mutation(description="An approved version takes effect (not before its effective date); the one "
                                     "effective before is superseded. Signed APPROVED.",
                         extensions=can("quality:document", "approve"))
    async def make_document_effective(self, info: Info[Context, None], input: DocumentStepInput,
                                      signature: SignatureInput) -> ControlledDocument:
        return document_of(await res.make_effective(info.context, signed(info, signature), input.code,
                                                    input.version, input.comment))

    @strawberry.mutation(description="Withdraw the effective version without a successor; signed APPROVED.",
                         extensions=can("quality:document", "approve"))
    async def withdraw_document(self, info: Info[Context, None], input: DocumentStepInput,
                                signature: SignatureInput) -> ControlledDocument:
        return document_of(await res.withdraw(info.context, signed(info, signature), input.code, input.version,
                                              input.comment))

    @strawberry.mutation(description="Issue a printout or export of the effective version with the next copy "
                                     "number; signed PERFORMED.", extensions=can("quality:document", "issue"))
    async def issue_document_copy(self, info: Info[Context, None], input: IssueDocumentCopyInput,
                                  signature: SignatureInput) -> DocumentCopy:
        c = await res.issue_copy(info.context, signed(info, signature), input.code, input.version, input.kind.value,
                                 input.holder)
        return of(DocumentCopy, c, code=input.code, version=input.version)

    @strawberry.mutation(description="Record a copy withdrawn or, a printout, destroyed; signed PERFORMED.",
                         extensions=can("quality:document", "issue"))
    async def close_document_copy(self, info: Info[Context, None], input: CloseDocumentCopyInput,
                                  signature: SignatureInput) -> DocumentCopy:
        c = await res.close_copy(info.context, signed(info, signature), input.code, input.version,
                                 input.copy_number, input.status.value, input.note)
        return of(DocumentCopy, c, code=input.code, version=input.version)
