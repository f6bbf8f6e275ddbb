"""Evidence files (PR-03): uploaded whole with their SHA-256 and checked to be what they say they are;
a value entered by hand rests on the photo its author uploaded, and the record keeps which one."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditEvent
from tests.attack.signed_cases.base import World

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
UPLOAD = """mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) { id sha256 size
  contentType uploadedBy } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def upload(w: World, user: str, filename: str, data: bytes = PNG, content_type: str = "image/png") -> str:
    """An uploaded evidence file's id."""
    me = await w.gql.sign_in(user)
    body = await me(UPLOAD, {"input": {"filename": filename, "contentType": content_type,
                                       "data": base64.b64encode(data).decode(), "purpose": "display photo"}})
    assert "errors" not in body, body
    return str(body["data"]["uploadAttachment"]["id"])


async def test_a_file_is_kept_whole_with_its_digest_and_checked_to_be_what_it_says(env: Any) -> None:
    gql, _, db = env
    me = await gql.sign_in("op.one")
    up = (await me(UPLOAD, {"input": {"filename": "display.png", "contentType": "image/png",
                                      "data": base64.b64encode(PNG).decode(), "purpose": "balance display"}}))
    got = up["data"]["uploadAttachment"]
    assert (got["sha256"], got["size"], got["uploadedBy"]) == (hashlib.sha256(PNG).hexdigest(), len(PNG), "op.one")
    back = await me('query($id: ID!) { attachment(id: $id) { data filename purpose } }', {"id": got["id"]})
    assert base64.b64decode(back["data"]["attachment"]["data"]) == PNG
    for inp, words in (({"contentType": "image/jpeg"}, "not a image/jpeg"), ({"contentType": "text/html"}, "one of"),
                       ({"data": "not base64!"}, "base64"), ({"data": ""}, "1 byte")):
        body = await me(UPLOAD, {"input": {"filename": "x.png", "contentType": "image/png",
                                           "data": base64.b64encode(PNG).decode(), "purpose": "p", **inp}})
        assert _code(body) == "VALIDATION_FAILED" and words in str(body), (inp, body)
    qa = await gql.sign_in("qa.sig")
    assert _code(await qa(UPLOAD, {"input": {"filename": "x.png", "contentType": "image/png",
                                             "data": base64.b64encode(PNG).decode(), "purpose": "p"}})) == "FORBIDDEN"
    async with db.read() as s:
        event = (await s.execute(select(AuditEvent).where(AuditEvent.entity == "attachment"))).scalar_one()
    assert event.changes["data"][1] != base64.b64encode(PNG).decode()  # the trail keeps a digest, not the file


@pytest.mark.req("PR-03")
async def test_a_value_entered_by_hand_rests_on_its_authors_photo(env: Any) -> None:
    from tests.test_phases import _batch, _complete, _readings, _start

    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 5.0)
    photo, theirs = await upload(w, "op.one", "ph-meter.png"), await upload(w, "sup.rsa", "ph-meter.png")
    base = {"phaseCode": "MIX", "output": 96, "losses": 2}
    body = await _complete(w, {**base, "controls": [{"name": "pH", "value": 7.0, "attachmentId": theirs}]})
    assert _code(body) == "FORBIDDEN", body
    body = await _complete(w, {**base, "controls": [{"name": "pH", "value": 7.0, "attachmentId": "999"}]})
    assert _code(body) == "NOT_FOUND", body
    body = await _complete(w, {**base, "controls": [{"name": "pH", "value": 7.0, "attachmentId": photo}]})
    qa = await gql.sign_in("qa.sig")
    listed = await qa('{ batchPhases(batchNumber: "EX-1") { controls { name source value enteredBy attachmentId } } }')
    assert listed["data"]["batchPhases"][0]["controls"] == [
        {"name": "pH", "source": "MANUAL", "value": 7.0, "enteredBy": "op.one", "attachmentId": photo}], body
