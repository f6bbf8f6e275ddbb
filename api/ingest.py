"""POST /ingest: the device bridge hands over a batch of readings (the ingest interface over HTTP).

Authenticated like GraphQL (bearer token of an account holding plant:reading write, the device_bridge
role). A refusal is audited and answered with the error code; a bad reading is reported by index and
never blocks the others. Replays are answered as duplicates, so a bridge can resend safely. The answer
comes after the readings are committed, so a bridge that deletes its copy on it loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import PrincipalCache, authenticate
from policies.errors import AppError, ErrorCode
from resolvers.context import Context, Services
from twin.ingest import Busy, take

STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403, ErrorCode.OUT_OF_SCOPE: 403}


def error_response(code: ErrorCode, message: str, status: int) -> JSONResponse:
    """A refusal outside GraphQL, in the same shape: errors with extensions.code."""
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code.value}}]}, status_code=status)


def ingest_endpoint(svc: Services, max_body: int,
                    principals: PrincipalCache | None = None) -> Callable[[Request], Awaitable[Response]]:
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
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise ValueError("the body is a JSON object with a readings list")
            result = await take(svc.twin, doc.get("readings"))
            name, depth = doc.get("bridge"), doc.get("bufferDepth")
            if isinstance(name, str) and 0 < len(name) <= 64 and isinstance(depth, int) and depth >= 0:
                svc.bridges[name] = depth
        except Busy as e:
            return JSONResponse({"errors": [{"message": str(e), "extensions": {"code": "BUSY"}}]}, status_code=503,
                                headers={"retry-after": "1"})
        except ValueError as e:
            return error_response(ErrorCode.VALIDATION_FAILED, str(e), 400)
        return JSONResponse(result.as_json())

    return ingest
