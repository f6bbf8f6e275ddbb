"""Input checks the domain's writes share: a refusal with VALIDATION_FAILED, and bounded text."""

from __future__ import annotations

from policies.errors import AppError, ErrorCode


def invalid(message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, message)


def text(what: str, value: str, most: int = 200) -> None:
    """Refuse blank text or text longer than `most` characters, naming the field."""
    if not value.strip() or len(value) > most:
        raise invalid(f"{what}: 1-{most} characters")
