"""Batch release: prepare and complete the QP's PAdES signature; fetch and validate the document."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import release as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import DocumentStatus
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class PreparedRelease:
    document_id: str
    algorithm: str = strawberry.field(description="ES256 or RS256: the QP's certificate algorithm")
    to_sign: str = strawberry.field(description="Base64 DER of the CMS signed attributes: sign these bytes")
    to_sign_digest: str = strawberry.field(description="Base64 SHA-256 of toSign, for hash-only signers")


@strawberry.type
class DocumentSignature:
    field_name: str
    signer: str | None
    signing_time: str | None
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_document: bool
    modifications_ok: bool
    summary: str


def signature_of(r: res.SignatureReport) -> DocumentSignature:
    return of(DocumentSignature, r, signer=r.signer_common_name)


@strawberry.type
class ReleaseDocument:
    document_id: str
    status: DocumentStatus
    prepared_by: str
    released_at: datetime | None
    pdf: str = strawberry.field(description="The PDF, standard base64")
    _pdf: strawberry.Private[bytes]

    @strawberry.field(description="Signer, time, integrity and trust of every signature in the document")
    async def signatures(self, info: Info[Context, None]) -> list[DocumentSignature]:
        return [signature_of(r) for r in await res.document_signatures(info.context, self._pdf)]


def _document(row: res.ReleaseDocument) -> ReleaseDocument:
    return ReleaseDocument(document_id=row.document_id, status=DocumentStatus(row.status), prepared_by=row.prepared_by,
                           released_at=row.released_at, pdf=base64.b64encode(row.pdf).decode(), _pdf=row.pdf)


@strawberry.input
class CompleteReleaseInput:
    document_id: str
    cms_signature: str = strawberry.field(description="Base64 signature over toSign (ES256 r||s or RS256)")


@strawberry.type
class ReleaseQuery:
    @strawberry.field(description="The newest release document of a batch", extensions=can("batch:document", "read"))
    async def release_document(self, info: Info[Context, None], batch_number: str) -> ReleaseDocument | None:
        row = await res.document(info.context, batch_number)
        return _document(row) if row else None

    @strawberry.field(description="Validate the signatures of any PDF (for example a copy received by e-mail)",
                      extensions=can("batch:document", "read"))
    async def validate_document(self, info: Info[Context, None], pdf: str) -> list[DocumentSignature]:
        return [signature_of(r) for r in await res.validate(info.context, pdf)]


@strawberry.type
class ReleaseMutation:
    @strawberry.mutation(description="Render and seal the release document; returns what the QP must sign",
                         extensions=can("batch:release", "write"))
    async def prepare_release(self, info: Info[Context, None], batch_number: str) -> PreparedRelease:
        p = await res.prepare(info.context, batch_number)
        return PreparedRelease(document_id=p.document_id, algorithm=p.algorithm,
                               to_sign=base64.b64encode(p.to_sign).decode(),
                               to_sign_digest=base64.b64encode(p.to_sign_digest).decode())

    @strawberry.mutation(description="Embed the QP's signature and release the batch; signed RELEASED",
                         extensions=can("batch:release", "write"))
    async def complete_release(self, info: Info[Context, None], input: CompleteReleaseInput,
                               signature: SignatureInput) -> ReleaseDocument:
        row = await res.complete(info.context, signed(info, signature), input.document_id, input.cms_signature)
        return _document(row)
