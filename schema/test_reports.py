"""Signed test reports (QM-02, IT-24): prepare a reviewed record's report, complete it with the approver's
PAdES signature, and read every version of it (a corrected result flags the issued one for reissue)."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import release as release_res
from resolvers import test_reports as res
from resolvers.context import Context
from schema.enums import ReportConclusion, ReportStatus
from schema.permissions import can
from schema.release import DocumentSignature, signature_of
from schema.signing import SignatureInput, signed


@strawberry.type
class PreparedTestReport:
    document_id: str
    version: int
    algorithm: str = strawberry.field(description="ES256 or RS256: the approver's certificate algorithm")
    to_sign: str = strawberry.field(description="Base64 DER of the CMS signed attributes: sign these bytes")
    to_sign_digest: str = strawberry.field(description="Base64 SHA-256 of toSign, for hash-only signers")


@strawberry.type(description="One version of a test record's report. Versions are never changed: a correction "
                             "flags the issued one REISSUE_REQUIRED and a new version supersedes it.")
class TestReport:
    document_id: str
    record_id: int
    version: int
    status: ReportStatus
    conclusion: ReportConclusion
    prepared_by: str
    prepared_at: datetime
    issued_by: str | None
    issued_at: datetime | None
    supersedes: str | None = strawberry.field(description="The document id of the version this one replaces")
    reissue_reason: str | None = strawberry.field(description="Which version it replaces and the corrections why")
    flagged_at: datetime | None = strawberry.field(description="When a corrected result flagged it for reissue")
    superseded_at: datetime | None
    pdf: str = strawberry.field(description="The PDF, standard base64")
    _pdf: strawberry.Private[bytes]

    @strawberry.field(description="Signer, time, integrity and trust of every signature in the document")
    async def signatures(self, info: Info[Context, None]) -> list[DocumentSignature]:
        return [signature_of(r) for r in await release_res.document_signatures(info.context, self._pdf)]


def _report(row: res.TestReport, supersedes: str | None) -> TestReport:
    return TestReport(document_id=row.document_id, record_id=row.record_id, version=row.version,
                      status=ReportStatus(row.status), conclusion=ReportConclusion(row.conclusion),
                      prepared_by=row.prepared_by, prepared_at=row.prepared_at, issued_by=row.issued_by,
                      issued_at=row.issued_at, supersedes=supersedes, reissue_reason=row.reissue_reason,
                      flagged_at=row.flagged_at, superseded_at=row.superseded_at,
                      pdf=base64.b64encode(row.pdf).decode(), _pdf=row.pdf)


def _reports(rows: list[res.TestReport]) -> list[TestReport]:
    ids = {r.id: r.document_id for r in rows}
    return [_report(r, ids.get(r.supersedes_id) if r.supersedes_id else None) for r in rows]


@strawberry.input
class CompleteTestReportInput:
    document_id: str
    cms_signature: str = strawberry.field(description="Base64 signature over toSign (ES256 r||s or RS256)")


@strawberry.type
class TestReportQuery:
    @strawberry.field(description="Every version of a test record's report, newest first",
                      extensions=can("quality:test_report", "read"))
    async def test_reports(self, info: Info[Context, None], record_id: int) -> list[TestReport]:
        return _reports(await res.of_record(info.context, record_id))


@strawberry.type
class TestReportMutation:
    @strawberry.mutation(description="Render and seal the report of a reviewed test record; returns what the "
                                     "approver must sign", extensions=can("quality:test_report", "issue"))
    async def prepare_test_report(self, info: Info[Context, None], record_id: int) -> PreparedTestReport:
        p = await res.prepare(info.context, record_id)
        return PreparedTestReport(document_id=p.document_id, version=p.version, algorithm=p.algorithm,
                                  to_sign=base64.b64encode(p.to_sign).decode(),
                                  to_sign_digest=base64.b64encode(p.to_sign_digest).decode())

    @strawberry.mutation(description="Embed the approver's signature and issue the report; signed APPROVED",
                         extensions=can("quality:test_report", "issue"))
    async def complete_test_report(self, info: Info[Context, None], input: CompleteTestReportInput,
                                   signature: SignatureInput) -> TestReport:
        row = await res.complete(info.context, signed(info, signature), input.document_id, input.cms_signature)
        rows = await res.of_record(info.context, row.record_id)
        return next(r for r in _reports(rows) if r.document_id == row.document_id)
