"""Evidence files: upload, and read back."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import attachments as res
from resolvers.context import Context
from schema.permissions import can


@strawberry.type(description="A file kept as evidence of a record (a photo of a display, a printout, a scan).")
class AttachmentFile:
    id: strawberry.ID
    sha256: str
    filename: str
    content_type: str
    size: int
    purpose: str
    uploaded_by: str
    uploaded_at: datetime
    _data: strawberry.Private[bytes]

    @strawberry.field(description="The file, base64")
    def data(self) -> str:
        return base64.b64encode(self._data).decode()


def file_of(a: res.Attachment) -> AttachmentFile:
    return AttachmentFile(id=strawberry.ID(str(a.id)), sha256=a.sha256, filename=a.filename,
                          content_type=a.content_type, size=a.size, purpose=a.purpose, uploaded_by=a.uploaded_by,
                          uploaded_at=a.uploaded_at, _data=a.data)


@strawberry.input
class UploadAttachmentInput:
    filename: str
    content_type: str = strawberry.field(description="image/jpeg, image/png or application/pdf")
    data: str = strawberry.field(description="The file, base64 (at most 10 MiB)")
    purpose: str = strawberry.field(description="What it is evidence of")


@strawberry.type
class AttachmentQuery:
    @strawberry.field(description="An evidence file.", extensions=can("batch:attachment", "read"))
    async def attachment(self, info: Info[Context, None], id: strawberry.ID) -> AttachmentFile | None:
        a = await res.read(info.context, str(id))
        return file_of(a) if a else None


@strawberry.type
class AttachmentMutation:
    @strawberry.mutation(description="Upload a file a record will rest on; the record that names it is signed.",
                         extensions=can("batch:attachment", "write"))
    async def upload_attachment(self, info: Info[Context, None], input: UploadAttachmentInput) -> AttachmentFile:
        return file_of(await res.upload(info.context, input.filename, input.content_type, input.data, input.purpose))
