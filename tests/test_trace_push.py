"""Released batches reach the blood products traceability system (QM-03): the release writes the delivery
in its own transaction; a sender posts it to a real HTTP receiver on 127.0.0.1, retries with backoff while it
is refused or unreachable, raises an INTERFACE alarm at the first failure and clears it on delivery."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.trace_sender import TraceSender
from records.alarms import Alarm
from records.audit import AuditEvent
from records.base import utcnow
from records.genealogy import FinalLot, Intermediate, PackagingUnit
from records.plasma import Batch
from records.trace_push import TracePush
from resolvers import trace_push
from tests import services
from tests.test_release import _release, rel  # noqa: F401 - the released-batch fixture

PUSHES = ("query($s: TracePushStatus) { tracePushes(status: $s) { id batchNumber status attempts lastError "
          "responseStatus payloadSha256 alarmId } }")
RETRY = "mutation($id: Int!) { retryTracePush(id: $id) { status nextAttemptAt } }"


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)  # status codes to give, in order; then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A traceability system's endpoint: a real HTTP server on 127.0.0.1."""
    port = services.free_port()
    got = Receiver(f"http://127.0.0.1:{port}/releases")

    async def accept(request: Request) -> JSONResponse:
        got.received.append((dict(request.headers), await request.body()))
        code = got.answers.pop(0) if got.answers else 200
        return JSONResponse({"ok": code == 200}, status_code=code)

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/releases", accept, methods=["POST"])]),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    yield got
    server.should_exit = True
    await task


def _code(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["extensions"]["code"])


async def _codes(db: Any, batch_number: str) -> set[str]:
    async with db.read() as s:
        return set((await s.execute(
            select(PackagingUnit.code).join(FinalLot, FinalLot.id == PackagingUnit.final_lot_id)
            .join(Intermediate, Intermediate.id == FinalLot.intermediate_id)
            .join(Batch, Batch.id == Intermediate.batch_id)
            .where(Batch.batch_number == batch_number))).scalars())


@pytest.mark.req("QM-03")
async def test_a_release_is_delivered_retried_while_refused_and_alarmed(rel: dict[str, Any],  # noqa: F811
                                                                       receiver: Receiver) -> None:
    gql, db = rel["gql"], rel["db"]
    svc = gql.client.app_services
    _, body = await _release(rel)
    assert body["data"]["completeRelease"]["status"] == "RELEASED"
    async with db.read() as s:
        push = (await s.execute(select(TracePush))).scalar_one()
    # Written with the release itself: the delivery waits, nothing sent yet.
    assert (push.batch_number, push.status, push.attempts) == (rel["batch"], "PENDING", 0)

    receiver.answers = [503]
    async with httpx.AsyncClient(timeout=5) as client:
        first = await trace_push.deliver_due(svc, client, receiver.url)
        assert [(o.batch_number, o.status) for o in first] == [(rel["batch"], "FAILED")]
        async with db.read() as s:
            push = await s.get_one(TracePush, push.id)
            alarm = await s.get_one(Alarm, push.alarm_id)
        assert (push.attempts, push.response_status) == (1, 503) and "HTTP 503" in (push.last_error or "")
        assert (alarm.source, alarm.condition, alarm.state, alarm.batch_number) == (
            "INTERFACE", "TRACE_PUSH_FAILED", "ACTIVE", rel["batch"])
        # Not due again before its backoff; due after it, and then accepted.
        assert await trace_push.deliver_due(svc, client, receiver.url) == []
        later = await trace_push.deliver_due(svc, client, receiver.url, now=utcnow() + timedelta(seconds=31))
        assert [o.status for o in later] == ["SENT"]

    async with db.read() as s:
        push = await s.get_one(TracePush, push.id)
        alarm = await s.get_one(Alarm, push.alarm_id)
        changes = (await s.execute(select(AuditEvent.action).where(AuditEvent.entity == "trace_push"))).scalars().all()
    assert (push.status, push.attempts, push.response_status, alarm.state) == ("SENT", 2, 200, "CLEARED")
    assert changes[0] == "CREATE" and changes.count("UPDATE") >= 2  # every attempt is in the audit trail
    # The receiver got the same bytes twice, with one idempotency key, and their digest.
    assert len(receiver.received) == 2
    (h1, b1), (h2, b2) = receiver.received
    assert b1 == b2 and h1["idempotency-key"] == h2["idempotency-key"]
    assert h2["digest"] == f"sha-256={hashlib.sha256(b2).hexdigest()}" == f"sha-256={push.payload_sha256}"
    sent = json.loads(b2)
    assert sent["batchNumber"] == rel["batch"] and sent["releaseDocument"]
    assert {c["code"] for lot in sent["lots"] for c in lot["codes"]} == await _codes(db, rel["batch"])
    assert any(c["parent"] for lot in sent["lots"] for c in lot["codes"])  # the aggregation travels too


async def test_the_sender_delivers_on_its_schedule_and_qa_sees_failures(rel: dict[str, Any],  # noqa: F811
                                                                        receiver: Receiver) -> None:
    gql, db = rel["gql"], rel["db"]
    svc = gql.client.app_services
    await _release(rel)
    # Unreachable first: nothing listens on this port.
    async with httpx.AsyncClient(timeout=2) as client:
        down = await trace_push.deliver_due(svc, client, f"http://127.0.0.1:{services.free_port()}/releases")
    assert [o.status for o in down] == ["FAILED"]
    qa = await gql.sign_in("qa.sig")
    listed = (await qa(PUSHES, {"s": "FAILED"}))["data"]["tracePushes"]
    assert len(listed) == 1 and "ConnectError" in listed[0]["lastError"] and listed[0]["alarmId"]
    op = await gql.sign_in("op.one")
    assert _code(await op(PUSHES, {})) == "FORBIDDEN"
    assert _code(await op(RETRY, {"id": listed[0]["id"]})) == "FORBIDDEN"
    # QA brings it forward; the sender running on its schedule delivers it.
    assert (await qa(RETRY, {"id": listed[0]["id"]}))["data"]["retryTracePush"]["status"] == "FAILED"
    sender = TraceSender(svc, receiver.url, every=0.05)
    await sender.start()
    try:
        for _ in range(200):
            if (await qa(PUSHES, {"s": "SENT"}))["data"]["tracePushes"]:
                break
            await asyncio.sleep(0.05)
    finally:
        await sender.stop()
    sent = (await qa(PUSHES, {"s": "SENT"}))["data"]["tracePushes"]
    assert [(p["batchNumber"], p["responseStatus"]) for p in sent] == [(rel["batch"], 200)]
    assert _code(await qa(RETRY, {"id": sent[0]["id"]})) == "CONFLICT"  # accepted already
    async with db.read() as s:
        reasons = (await s.execute(select(AuditEvent.reason).where(AuditEvent.entity == "trace_push"))).scalars().all()
    assert "traceability delivery retried now" in reasons
