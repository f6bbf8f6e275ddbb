"""The one error formatter: every error an HTTP response or a WebSocket frame carries passes here,
from the fast path, the live path and graphql-core alike (policies.errors.public_error decides what
the client sees; what it does not see is logged here)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from graphql import ExecutionResult, GraphQLError, GraphQLFormattedError

from policies.errors import ErrorCode, public_error

log = logging.getLogger("plasmatwin.graphql")


def format_error(error: GraphQLError, pre_execution: bool = False) -> GraphQLFormattedError:
    """The error as JSON, with `extensions.code`. `pre_execution`: refused before anything ran."""
    public = public_error(error, pre_execution)
    if public is not error:
        code = (public.extensions or {}).get("code")
        if code == ErrorCode.UNAVAILABLE:
            log.warning("database unavailable in %s: %r", error.path, error.original_error)
        elif code == ErrorCode.INTERNAL_SERVER_ERROR:
            log.error("unexpected error in %s", error.path, exc_info=error.original_error)
    return public.formatted


def format_errors(errors: Iterable[GraphQLError], pre_execution: bool = False) -> list[GraphQLFormattedError]:
    return [format_error(e, pre_execution) for e in errors]


def result_json(result: ExecutionResult) -> dict[str, Any]:
    """An executed result as the response's JSON object: data, and the errors formatted."""
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = format_errors(result.errors)
    return out


def as_error(exc: Exception) -> GraphQLError:
    """An exception raised outside graphql-core's reach (a stream, the admission), as an error to format."""
    return exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
