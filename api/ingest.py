"""POST /ingest: the device bridge hands over a batch of readings (the ingest interface over HTTP).

Authenticated like GraphQL (bearer token of an account holding plant:reading write, the device_bridge
role). A refusal is audited and answered with the error code; a bad reading is reported by index and
never blocks the others. Replays are answered as duplicates, so a bridge can resend safely. The answer
comes after the readings are committed, so a bridge that deletes its copy on it loses nothing.

A bridge with several batches in flight numbers them (`session`, `seq`, `answered`): they are applied
to the twin in that order whatever order the requests arrive in (twin/sequence.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import PrincipalCache, authenticate
from policies.errors import AppError, ErrorCode
from resolvers.context import Context, Services
from twin.ingest import Busy, take
from twin.sequence import Sequencer

STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403, ErrorCode.OUT_OF_SCOPE: 403}


def error_response(code: ErrorCode, message: str, status: int) -> JSONResponse:
    """A refusal outside GraphQL, in the same shape: errors with extensions.code."""
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code.value}}]}, status_code=status)


def _order(doc: dict[str, Any]) -> tuple[str | None, int | None, int | None]:
    """The batch's place in its bridge session: (session, seq, answered), all None for an unnumbered body."""
    session, seq, answered = doc.get("session"), doc.get("seq"), doc.get("answered")
    if session is None and seq is None:
        return None, None, None
    if not isinstance(session, str) or not 0 < len(session) <= 64:
        raise ValueError("session must be a string of 1-64 characters, sent with seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("seq must be a positive integer, sent with session")
    if answered is not None and (not isinstance(answered, int) or isinstance(answered, bool) or answered < 0):
        raise ValueError("answered must be a non-negative integer")
    return session, seq, answered


def _loads(body: bytes) -> Any:
    """orjson, and the standard parser for what it refuses (NaN, integers past 64 bits), so such a reading
    is refused by index as before, not the whole batch."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def ingest_endpoint(svc: Services, max_body: int, principals: PrincipalCache | None = None,
                    sequencer: Sequencer | None = None) -> Callable[[Request], Awaitable[Response]]:
    order = sequencer or Sequencer()

    async def ingest(request: Request) -> Response:
        client = request.client.host if request.client else None
        try:
            principal = await authenticate(svc.db, request.headers.get("authorization"), client, principals)
            await Context(svc, principal, client).require("plant:reading", "write")
        except AppError as e:
            return error_response(e.code, e.message, STATUS.get(e.code, 400))
        body = await request.body()
        if len(body) > max_body:
            return error_response(ErrorCode.VALIDATION_FAILED, f"body larger than {max_body} bytes", 413)
        try:
            doc = _loads(body)
            if not isinstance(doc, dict):
                raise ValueError("the body is a JSON object with a readings list")
            name, depth = doc.get("bridge"), doc.get("bufferDepth")
            session, seq, answered = _order(doc)
            turn = order.turn(name if isinstance(name, str) else "", session, seq, answered)
            result = await take(svc.twin, doc.get("readings"), turn)
            if isinstance(name, str) and 0 < len(name) <= 64 and isinstance(depth, int) and depth >= 0:
                svc.bridges[name] = depth
        except Busy as e:
            return JSONResponse({"errors": [{"message": str(e), "extensions": {"code": "BUSY"}}]}, status_code=503,
                                headers={"retry-after": "1"})
        except ValueError as e:
            return error_response(ErrorCode.VALIDATION_FAILED, str(e), 400)
        return JSONResponse(result.as_json())

    return ingest
