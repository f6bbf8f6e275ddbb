"""Relay-style connections and opaque cursors."""

from __future__ import annotations

import base64
from typing import Generic, TypeVar

import strawberry

from policies.errors import AppError, ErrorCode

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def encode_cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        prefix, key = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        if prefix != kind:
            raise ValueError(prefix)
        return int(key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AppError(ErrorCode.VALIDATION_FAILED, "invalid cursor") from exc


def page_size(first: int | None, default: int = 50, maximum: int = 500) -> int:
    if first is None:
        return default
    if first < 0 or first > maximum:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"first must be between 0 and {maximum}")
    return first


def connection(edges: list[Edge[T]], total: int, has_next: bool, has_previous: bool) -> Connection[T]:
    """A page: its edges, the total, and page info with the first and last cursors."""
    return Connection(edges=edges, total_count=total, page_info=PageInfo(
        has_next_page=has_next, has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))
