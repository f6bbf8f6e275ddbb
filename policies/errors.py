"""The error codes of the public API (design.md) and the exception that carries them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from graphql import GraphQLError


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
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    # Not a client's fault; the message is masked.
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class AppError(GraphQLError):
    """A refusal the client should see. A GraphQLError, so graphql-core keeps its extensions
    (with the code) on every transport instead of wrapping it as an unexpected exception."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **details})
        self.code = code
