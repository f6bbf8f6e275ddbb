"""The error codes of the public API (design.md), the exception that carries them, and which
exceptions mean the database is out of reach (a retryable UNAVAILABLE, not an internal error)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import asyncpg
from graphql import GraphQLError
from sqlalchemy import exc as sa


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    SOD_VIOLATION = "SOD_VIOLATION"
    SIGNATURE_REQUIRED = "SIGNATURE_REQUIRED"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    SIGNATURE_REPLAYED = "SIGNATURE_REPLAYED"
    SIGNATURE_EXPIRED = "SIGNATURE_EXPIRED"
    CERTIFICATE_UNTRUSTED = "CERTIFICATE_UNTRUSTED"
    # The signer must give their password again before this signature (resolvers/reauth.py).
    REAUTHENTICATION_REQUIRED = "REAUTHENTICATION_REQUIRED"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    # The database, or the connection to it, is down or was cut: retry later (HTTP 503 with Retry-After).
    UNAVAILABLE = "UNAVAILABLE"
    # Not a client's fault; the message is masked.
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # An automatic persisted query whose hash this server does not know: send it again with its text (APQ).
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


# UNAVAILABLE is the one code a client retries unchanged, after this many seconds.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "the database cannot be reached right now; retry in a few seconds"
# What a client is told of an unexpected exception (the rest goes to the log).
INTERNAL_MESSAGE = "internal server error"


class AppError(GraphQLError):
    """A refusal the client should see. A GraphQLError, so graphql-core keeps its extensions
    (with the code) on every transport instead of wrapping it as an unexpected exception."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **details})
        self.code = code
        # Set where the refusal was already written to the audit trail, so nobody writes it twice.
        self.audited = False


# graphql-core's wording when a required `signature`/`verification` argument is left out.
_MISSING_SIGNATURE = re.compile(
    r"Argument '[\w.]+\((signature|verification|approval):\)' of type 'SignatureInput!' is required")


def code_for(error: GraphQLError, pre_execution: bool = False) -> str | None:
    """The code an error should carry; None means an unexpected exception (to be masked)."""
    ext = error.extensions or {}
    if isinstance(ext.get("code"), str):
        return str(ext["code"])
    if pre_execution and _MISSING_SIGNATURE.search(error.message):
        return ErrorCode.SIGNATURE_REQUIRED.value
    original = error.original_error
    # graphql-core's own refusals during execution (an argument that does not coerce) are the client's.
    if original is None or pre_execution or isinstance(original, GraphQLError):
        return ErrorCode.VALIDATION_FAILED.value
    if is_outage(original):
        return ErrorCode.UNAVAILABLE.value
    code = getattr(original, "code", None)
    if isinstance(code, str) and code in ErrorCode.__members__:
        return code
    return None


# SQLite's words for a file it cannot use right now; other operational errors ("no such table",
# a syntax error) are bugs, not outages.
_SQLITE_OUTAGE = ("database is locked", "database table is locked", "unable to open database file", "disk i/o error",
                  "attempt to write a readonly database", "database or disk is full")
# The server is shutting down, starting up, crashed or full; a cancelled statement is not an outage.
_ASYNCPG_OUTAGE = (asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
                   asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)
# A missing or forbidden local file is the code's own fault, not a store that went away.
_LOCAL_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and everything it wraps: driver errors, causes, contexts, GraphQL originals."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack += [e.__cause__, None if e.__suppress_context__ else e.__context__]
        if isinstance(e, sa.DBAPIError):
            stack.append(e.orig)
        if isinstance(e, GraphQLError):
            stack.append(e.original_error)


def _outage(e: BaseException) -> bool:
    if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, sqlite3.Error):
        return isinstance(e, sqlite3.OperationalError) and any(m in str(e).lower() for m in _SQLITE_OUTAGE)
    if isinstance(e, sa.OperationalError | sa.InterfaceError):
        return not isinstance(e.orig, sqlite3.Error)  # SQLite's are judged by their message above
    if isinstance(e, sa.DisconnectionError | sa.TimeoutError):  # TimeoutError: no pooled connection in time
        return True
    if isinstance(e, OSError):  # refused, reset, unreachable, timed out (asyncpg raises these bare)
        return not isinstance(e, _LOCAL_FILE_ERRORS)
    return isinstance(e, _ASYNCPG_OUTAGE)


def is_outage(exc: BaseException | None) -> bool:
    """Whether an exception means the database, or the connection to it, is down or was cut."""
    return any(_outage(e) for e in _causes(exc))


def public_error(error: GraphQLError, pre_execution: bool = False) -> GraphQLError:
    """The error as a client sees it on every transport and path: with `extensions.code`, an outage
    as UNAVAILABLE with a fixed message, an unexpected exception masked as INTERNAL_SERVER_ERROR
    (locations and path kept). `pre_execution`: the request was refused before it ran."""
    error = public_outage(error)
    code = code_for(error, pre_execution)
    extensions = error.extensions or {}
    if code is None:
        return GraphQLError(INTERNAL_MESSAGE, error.nodes, error.source, error.positions, error.path, None,
                            {**extensions, "code": ErrorCode.INTERNAL_SERVER_ERROR.value})
    if extensions.get("code") == code:
        return error
    return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, error.original_error,
                        {**extensions, "code": code})


def public_outage(error: GraphQLError) -> GraphQLError:
    """An outage as clients see it on every transport: code UNAVAILABLE and a fixed message instead
    of the driver's (which names hosts and ports); any other error is returned unchanged."""
    if (error.extensions or {}).get("code") or not is_outage(error.original_error):
        return error
    return GraphQLError(UNAVAILABLE_MESSAGE, error.nodes, error.source, error.positions, error.path,
                        error.original_error, {"code": ErrorCode.UNAVAILABLE.value})
