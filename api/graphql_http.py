"""GraphQL over HTTP (GET and POST), per the GraphQL-over-HTTP spec.

Negotiates `application/graphql-response+json` (4xx when a request never executes) and legacy
`application/json` (200 with errors). What runs the request is the engine (api/engine), the same as
the WebSocket's: parsing and validation cached per query text, one list of rules, one error formatter.
Automatic persisted queries (api/engine/persisted.py) let a client send a query's SHA-256 instead of
its text; answers are written by orjson.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import JSONResponse as StarletteJSON
from starlette.responses import Response

from api.engine.documents import Prepared
from api.engine.errors import format_error, format_errors, result_json
from api.engine.execution import Engine
from api.engine.fast_path import Raw
from api.engine.persisted import NOT_FOUND_MESSAGE, PersistedQueries, PersistedQueryError, digest, requested
from policies.errors import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    AppError,
    ErrorCode,
    is_outage,
)

log = logging.getLogger("plasmatwin.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_MEDIA = "application/json"


class Refusal(Exception):
    """A request that is not executed at all: status, media type and errors decided up front."""

    def __init__(self, status: int, message: str, code: ErrorCode = ErrorCode.VALIDATION_FAILED,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = [{"message": message, "extensions": {"code": code.value}}]
        self.headers = headers or {}


RETRY_AFTER = {"retry-after": str(RETRY_AFTER_SECONDS)}

# What orjson does not write exactly as json.dumps (Starlette's JSONResponse) does is handed back to it:
# datetimes, dataclasses and subclasses of str/int/dict/list, as well as what orjson refuses (integers
# past 64 bits, keys that are not strings, lone surrogates), so those answers are the same as before.
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def encode(content: Any) -> bytes:
    """The response body: compact UTF-8 JSON, byte for byte what json.dumps(ensure_ascii=False,
    separators=(",", ":")) writes for the values an answer holds (strings, numbers, booleans, null,
    objects and lists)."""
    try:
        return orjson.dumps(content, option=_ORJSON)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")


class JSONResponse(StarletteJSON):
    """Starlette's JSON response, written by orjson (`encode`)."""

    def render(self, content: Any) -> bytes:
        return encode(content)


def unavailable(media: str = JSON_MEDIA) -> JSONResponse:
    """The database is out of reach: 503, retryable, in the GraphQL error shape."""
    error = {"message": UNAVAILABLE_MESSAGE, "extensions": {"code": ErrorCode.UNAVAILABLE.value}}
    return JSONResponse({"errors": [error]}, 503, headers=RETRY_AFTER, media_type=media)


def _answer(result: ExecutionResult, media: str) -> JSONResponse:
    """An executed result: 200, or 503 with Retry-After when an error is a database outage."""
    if result.errors and any(is_outage(e) for e in result.errors):
        return JSONResponse(result_json(result), 503, headers=RETRY_AFTER, media_type=media)
    return JSONResponse(result_json(result), 200, media_type=media)


def negotiate(accept: str | None) -> str:
    if not accept:
        return JSON_MEDIA
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON_MEDIA, "application/*", "*/*"):
            return JSON_MEDIA
    raise Refusal(406, f"cannot answer with {accept}; accept {GRAPHQL_RESPONSE} or {JSON_MEDIA}")


class GraphQLHTTP:
    """The HTTP side of /graphql; `make_context(request, raw_variables, doc, op)` builds the resolver context."""

    def __init__(self, engine: Engine, make_context: Callable[..., Any], *, max_body: int,
                 persisted: PersistedQueries | None = None) -> None:
        self.engine = engine
        self.make_context = make_context
        self.max_body = max_body
        self.persisted = persisted

    async def __call__(self, request: Request) -> Response:
        media = JSON_MEDIA
        try:
            media = negotiate(request.headers.get("accept"))
            params = await self._params(request)
            register = None
            if self.persisted is not None:
                register = await self._persisted(params)
                if register is _NOT_FOUND:
                    # 200, as Apollo answers: the client sends the query with its hash next.
                    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND.value
                    return JSONResponse({"errors": [{"message": NOT_FOUND_MESSAGE, "extensions": {"code": code}}]},
                                        200, media_type=media)
            return await self._run(request, params, media, register)
        except Refusal as r:
            status = r.status if media == GRAPHQL_RESPONSE or r.status in (405, 406, 413, 415) else 400
            return JSONResponse({"errors": r.errors}, status, headers=r.headers, media_type=media)
        except Exception as e:  # signing in or building the context met a dead database
            if not is_outage(e):
                raise  # the application's handler answers JSON 500 and logs it
            log.warning("database unavailable: %s", e)
            return unavailable(media)

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            q = request.query_params
            params: dict[str, Any] = {"query": q.get("query"), "operationName": q.get("operationName")}
            for key in ("variables", "extensions"):
                raw = q.get(key)
                if raw:
                    params[key] = _json(raw, key)
            return self._check(params)
        if request.method != "POST":
            raise Refusal(405, "use GET or POST", headers={"Allow": "GET, POST"})
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != JSON_MEDIA:
            raise Refusal(415, "send the request as application/json")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise Refusal(413, f"request larger than {self.max_body} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                raise Refusal(413, f"request larger than {self.max_body} bytes")
        params = _json(body, "the body")
        if not isinstance(params, dict):
            raise Refusal(400, "the body must be a JSON object")
        return self._check(params)

    async def _persisted(self, params: dict[str, Any]) -> str | object | None:
        """An APQ request: its query filled in from the store (or _NOT_FOUND), or the hash under which
        to keep the query it sent once that parsed and validated; None when it names no hash."""
        assert self.persisted is not None
        try:
            sha = requested(params.get("extensions"))
        except PersistedQueryError as e:
            raise Refusal(400, str(e)) from None
        if sha is None:
            return None
        query = params.get("query")
        if query is None:
            found = await self.persisted.get(sha)
            if found is None:
                return _NOT_FOUND
            params["query"] = found
            return None
        if digest(query) != sha:
            raise Refusal(400, "provided sha does not match query: extensions.persistedQuery.sha256Hash must be "
                               "the SHA-256 of the query text as sent")
        return sha

    def _check(self, params: dict[str, Any]) -> dict[str, Any]:
        extensions = params.get("extensions")
        # An APQ request may leave the query out: its hash names it (looked up after these checks).
        hash_only = params.get("query") is None and self.persisted is not None and isinstance(extensions, dict) \
            and extensions.get("persistedQuery") is not None
        if not isinstance(params.get("query"), str) and not hash_only:
            raise Refusal(400, "query must be a string")
        if params.get("variables") is not None and not isinstance(params["variables"], dict):
            raise Refusal(400, "variables must be an object")
        too_deep = self.engine.documents.check_variables(params.get("variables") or {})
        if too_deep:
            raise Refusal(400, too_deep[0].message)
        if params.get("operationName") is not None and not isinstance(params["operationName"], str):
            raise Refusal(400, "operationName must be a string")
        if extensions is not None and not isinstance(extensions, dict):
            raise Refusal(400, "extensions must be an object")
        return params

    def _not_executed(self, errors: list[GraphQLError], media: str) -> Response:
        status = 400 if media == GRAPHQL_RESPONSE else 200
        return JSONResponse({"errors": format_errors(errors, True)}, status, media_type=media)

    async def _run(self, request: Request, params: dict[str, Any], media: str, register: Any = None) -> Response:
        prepared = self.engine.documents.prepare(params["query"], params.get("operationName"))
        if not isinstance(prepared, Prepared):
            return self._not_executed(prepared, media)
        if isinstance(register, str) and self.persisted is not None:
            await self.persisted.put(register, params["query"])
        op = prepared.op
        if request.method == "GET" and op.operation != OperationType.QUERY:
            raise Refusal(405, "only queries may be sent with GET", headers={"Allow": "POST"})
        if op.operation == OperationType.SUBSCRIPTION:
            raise Refusal(400, "subscriptions run over WebSocket (graphql-transport-ws)")
        variables = params.get("variables") or {}
        coerced = self.engine.documents.coerce(prepared, variables)
        if isinstance(coerced, list):
            return self._not_executed(coerced, media)
        try:
            context = await self.make_context(request, variables, prepared.doc, op)
        except AppError as e:
            status = 401 if e.code == ErrorCode.UNAUTHENTICATED else 403
            return JSONResponse({"errors": [format_error(e)]}, status, media_type=media)
        try:
            result = await self.engine.execute(prepared, context, variables, coerced)
        finally:
            await context.settle()  # nothing the request started keeps running after its answer
        if isinstance(result, Raw):
            return Response(result.body(), 200, media_type=media)
        return _answer(result, media)


_NOT_FOUND = object()


def _json(raw: str | bytes | bytearray, what: str) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Refusal(400, f"{what} is not valid JSON") from e
    except RecursionError as e:  # the decoder recurses per level and gives up near 1,000
        raise Refusal(400, f"{what} nests JSON too deeply to decode") from e
