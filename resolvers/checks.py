"""Refusals the domain's writes share: VALIDATION_FAILED for bad input, CONFLICT for a record whose
state does not allow the write, and bounded text."""

from __future__ import annotations

from policies.errors import AppError, ErrorCode


def invalid(message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, message)


def conflict(message: str) -> AppError:
    return AppError(ErrorCode.CONFLICT, message)


def text(what: str, value: str, most: int = 200) -> None:
    """Refuse blank text or text longer than `most` characters, naming the field."""
    if not value.strip() or len(value) > most:
        raise invalid(f"{what}: 1-{most} characters")
