"""Evidence files (PR-03, PR-17): uploaded by the person who will rest a record on them, kept whole
with their SHA-256, read back by anyone who may read the record. A record names the attachment it
rests on; only the uploader can use a file as their own evidence."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.attachments import Attachment as Attachment  # the row the schema shows
from records.base import utcnow
from resolvers.checks import invalid, text
from resolvers.context import Context

MAX_BYTES = 10 * 1024 * 1024
TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-"}


@dataclass(frozen=True)
class Evidence:
    """What a record keeps of the file it rests on."""

    id: int
    sha256: str
    filename: str


async def upload(ctx: Context, filename: str, content_type: str, data_base64: str, purpose: str) -> Attachment:
    p = ctx.signed_in()
    text("filename", filename, 200)
    text("purpose", purpose, 200)
    if content_type not in TYPES:
        raise invalid(f"contentType: one of {', '.join(TYPES)}")
    try:
        data = base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid("data must be standard base64") from exc
    if not 0 < len(data) <= MAX_BYTES:
        raise invalid(f"a file of 1 byte to {MAX_BYTES // (1024 * 1024)} MiB")
    if not data.startswith(TYPES[content_type]):
        raise invalid(f"the file is not a {content_type}")  # the declared type must be the real one
    row = Attachment(sha256=hashlib.sha256(data).hexdigest(), filename=filename.strip(), content_type=content_type,
                     size=len(data), data=data, purpose=purpose.strip(), uploaded_by=p.username,
                     uploaded_at=utcnow())
    async with ctx.db.write(ctx.audit_context(f"evidence uploaded: {purpose.strip()}")) as s:
        s.add(row)
    return row


async def evidence(s: AsyncSession, attachment_id: str | None, who: str) -> Evidence:
    """The caller's own uploaded file, for a record to rest on; refused otherwise."""
    if not attachment_id or not attachment_id.isdigit():
        raise invalid("attach the evidence: upload the photo or printout (uploadAttachment) and give its id")
    row = (await s.execute(select(Attachment.id, Attachment.sha256, Attachment.filename, Attachment.uploaded_by)
                           .where(Attachment.id == int(attachment_id)))).first()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no attachment {attachment_id}")
    if row.uploaded_by != who:
        raise AppError(ErrorCode.FORBIDDEN, "a record rests on evidence its own author uploaded")
    return Evidence(row.id, row.sha256, row.filename)


async def read(ctx: Context, attachment_id: str) -> Attachment | None:
    if ctx.signed_in().is_scoped:
        raise AppError(ErrorCode.OUT_OF_SCOPE, "evidence files are not open to scoped tokens")
    if not attachment_id.isdigit():
        return None
    async with ctx.db.read() as s:
        return await s.get(Attachment, int(attachment_id))
