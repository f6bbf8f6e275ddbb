"""The error codes of the public API (design.md) and the exception that carries them."""

from __future__ import annotations

import re
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


# graphql-core's wording when a required `signature`/`verification` argument is left out.
_MISSING_SIGNATURE = re.compile(r"Argument '[\w.]+\((signature|verification):\)' of type 'SignatureInput!' is required")


def code_for(error: GraphQLError, pre_execution: bool = False) -> str | None:
    """The code an error should carry; None means an unexpected exception (to be masked)."""
    ext = error.extensions or {}
    if isinstance(ext.get("code"), str):
        return str(ext["code"])
    if pre_execution and _MISSING_SIGNATURE.search(error.message):
        return ErrorCode.SIGNATURE_REQUIRED.value
    original = error.original_error
    if original is None or pre_execution:
        return ErrorCode.VALIDATION_FAILED.value
    code = getattr(original, "code", None)
    if isinstance(code, str) and code in ErrorCode.__members__:
        return code
    return None
