"""GraphQL over HTTP (GET and POST), per the GraphQL-over-HTTP spec.

Negotiates `application/graphql-response+json` (4xx when a request never executes) and legacy
`application/json` (200 with errors). Parsing and validation are cached per query text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import fast_path
from policies.errors import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    AppError,
    ErrorCode,
    code_for,
    is_outage,
    public_outage,
)
from schema.limits import Limits, check_document, check_variables, parse_document

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


def format_error(err: GraphQLError, pre_execution: bool = False) -> dict[str, Any]:
    if is_outage(err.original_error):
        log.warning("database unavailable in %s: %r", err.path, err.original_error)
        err = public_outage(err)
    out: dict[str, Any] = dict(err.formatted)
    code = code_for(err, pre_execution)
    if code is None:
        log.error("unexpected error in %s", err.path, exc_info=err.original_error)
        out["message"] = "internal server error"
        code = ErrorCode.INTERNAL_SERVER_ERROR.value
    out["extensions"] = {**(out.get("extensions") or {}), "code": code}
    return out


RETRY_AFTER = {"retry-after": str(RETRY_AFTER_SECONDS)}


def unavailable(media: str = JSON_MEDIA) -> JSONResponse:
    """The database is out of reach: 503, retryable, in the GraphQL error shape."""
    error = {"message": UNAVAILABLE_MESSAGE, "extensions": {"code": ErrorCode.UNAVAILABLE.value}}
    return JSONResponse({"errors": [error]}, 503, headers=RETRY_AFTER, media_type=media)


def _answer(payload: dict[str, Any], errors: Any, media: str) -> JSONResponse:
    """An executed result: 200, or 503 with Retry-After when an error is a database outage."""
    if errors and any(is_outage(e) for e in errors):
        return JSONResponse(payload, 503, headers=RETRY_AFTER, media_type=media)
    return JSONResponse(payload, 200, media_type=media)


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

    def __init__(self, schema: GraphQLSchema, make_context: Callable[..., Any], *, max_body: int,
                 limits: Limits, rules: list[Any] | None = None,
                 fast_fields: dict[str, fast_path.FastField] | None = None) -> None:
        self.schema = schema
        self.fast_fields = fast_fields or {}
        self.make_context = make_context
        self.max_body = max_body
        self.limits = limits
        self.rules = (*specified_rules, *(rules or ()))
        self._parse = lru_cache(maxsize=512)(self._parse_uncached)
        self._validate = lru_cache(maxsize=512)(self._validate_uncached)
        self._plan = lru_cache(maxsize=512)(self._plan_uncached)

    def _parse_uncached(self, query: str) -> DocumentNode | GraphQLError:
        return parse_document(query, self.limits)

    def _validate_uncached(self, query: str) -> tuple[GraphQLError, ...]:
        doc = self._parse(query)
        assert isinstance(doc, DocumentNode)
        # The limits first, in linear time: graphql-core's rules are not all linear, and a
        # document over a limit never reaches them.
        return tuple(check_document(self.schema, doc, self.limits) or validate(self.schema, doc, self.rules))

    def document(self, query: str) -> DocumentNode | None:
        """The parsed document (cached), or None when the query does not parse."""
        doc = self._parse(query)
        return doc if isinstance(doc, DocumentNode) else None

    def _plan_uncached(self, query: str, operation_name: str | None) -> Any:
        doc = self._parse(query)
        assert isinstance(doc, DocumentNode)
        op = get_operation_ast(doc, operation_name)
        return fast_path.plan(self.schema, doc, op, self.fast_fields) if op is not None else None

    async def __call__(self, request: Request) -> Response:
        media = JSON_MEDIA
        try:
            media = negotiate(request.headers.get("accept"))
            params = await self._params(request)
            return await self._run(request, params, media)
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

    def _check(self, params: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(params.get("query"), str):
            raise Refusal(400, "query must be a string")
        if params.get("variables") is not None and not isinstance(params["variables"], dict):
            raise Refusal(400, "variables must be an object")
        too_deep = check_variables(params.get("variables") or {}, self.limits)
        if too_deep:
            raise Refusal(400, too_deep[0].message)
        if params.get("operationName") is not None and not isinstance(params["operationName"], str):
            raise Refusal(400, "operationName must be a string")
        if params.get("extensions") is not None and not isinstance(params["extensions"], dict):
            raise Refusal(400, "extensions must be an object")
        return params

    def _not_executed(self, errors: list[GraphQLError] | tuple[GraphQLError, ...], media: str) -> Response:
        status = 400 if media == GRAPHQL_RESPONSE else 200
        return JSONResponse({"errors": [format_error(e, True) for e in errors]}, status, media_type=media)

    async def _run(self, request: Request, params: dict[str, Any], media: str) -> Response:
        query: str = params["query"]
        doc = self._parse(query)
        if isinstance(doc, GraphQLError):
            return self._not_executed([doc], media)
        errors = self._validate(query)
        if errors:
            return self._not_executed(errors, media)
        op = get_operation_ast(doc, params.get("operationName"))
        if op is None:
            return self._not_executed([GraphQLError("could not pick an operation (check operationName)")], media)
        if request.method == "GET" and op.operation != OperationType.QUERY:
            raise Refusal(405, "only queries may be sent with GET", headers={"Allow": "POST"})
        if op.operation == OperationType.SUBSCRIPTION:
            raise Refusal(400, "subscriptions run over WebSocket (graphql-transport-ws)")
        variables = params.get("variables") or {}
        coerced = get_variable_values(self.schema, op.variable_definitions or [], variables)
        if isinstance(coerced, list):
            return self._not_executed(coerced, media)
        try:
            context = await self.make_context(request, variables, doc, op)
        except AppError as e:
            status = 401 if e.code == ErrorCode.UNAUTHENTICATED else 403
            return JSONResponse({"errors": [format_error(e)]}, status, media_type=media)
        try:
            return await self._execute(query, doc, op, params, variables, coerced, context, media)
        finally:
            await context.settle()  # nothing the request started keeps running after its answer

    async def _execute(self, query: str, doc: DocumentNode, op: OperationDefinitionNode, params: dict[str, Any],
                       variables: dict[str, Any], coerced: Any, context: Any, media: str) -> Response:
        planned = self._plan(query, params.get("operationName")) if self.fast_fields else None
        if planned is not None:
            out = await fast_path.execute(self.schema, planned[0], self.fast_fields, context, coerced, planned[1])
            if isinstance(out, fast_path.Raw):
                return Response(out.body(), 200, media_type=media)
            raised = out.get("errors")
            if raised:
                out["errors"] = [format_error(e) for e in raised]
            return _answer(out, raised, media)
        result = execute(self.schema, doc, context_value=context, variable_values=variables,
                         operation_name=params.get("operationName"))
        if not isinstance(result, ExecutionResult):
            result = await result
        return _answer(_payload(result, op), result.errors, media)


def _json(raw: str | bytes | bytearray, what: str) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Refusal(400, f"{what} is not valid JSON") from e
    except RecursionError as e:  # the decoder recurses per level and gives up near 1,000
        raise Refusal(400, f"{what} nests JSON too deeply to decode") from e


def _payload(result: ExecutionResult, _op: OperationDefinitionNode) -> dict[str, Any]:
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [format_error(e) for e in result.errors]
    return out
