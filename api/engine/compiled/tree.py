"""The plan's tree (api/engine/compiled/): what a planned query holds, dialect-free, and the second
pass that fills in what the statement cannot write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import FieldNode

from resolvers.sql_catalog import Dialects, One, Root, Rows, Values
from schema.relay import encode_cursor

if TYPE_CHECKING:
    from api.engine.compiled.sql import Statement


# --- planning: once per document and operation, dialect-free ------------------------------------

@dataclass(frozen=True)
class Leaf:
    key: str
    expr: str | Dialects
    kind: str  # plain, float, id, bool, datetime, json, typename


@dataclass(frozen=True)
class Live:
    key: str
    expr: str
    attr: str
    serialize: Callable[[Any], Any]


@dataclass(frozen=True)
class Many:
    key: str
    rows: Rows
    node: Node


@dataclass(frozen=True)
class Scalars:
    key: str
    values: Values
    kind: str


@dataclass(frozen=True)
class Nested:
    key: str
    one: One
    node: Node


@dataclass(frozen=True)
class Key:
    """A Relay cursor: PostgreSQL writes it; on SQLite the statement writes the key and the second pass
    encodes it (SQLite has no base64)."""

    key: str
    expr: str


Part = Leaf | Live | Many | Scalars | Nested | Key


@dataclass(frozen=True)
class Node:
    type_name: str
    parts: tuple[Part, ...]


Fill = Callable[[Any, Any], None]


@dataclass
class Plan:
    """One root field's statement: its field nodes (several when merged), response key, catalog root,
    object tree, whether a list, and its permission."""

    nodes: tuple[FieldNode, ...]
    key: str
    spec: Root
    node: Node
    many: bool
    permission: tuple[str, str]
    fills: dict[bool, Fill | None]  # the second pass, by "on PostgreSQL"
    statements: dict[tuple[str, str, bool], Statement] = field(default_factory=dict)

    @property
    def root(self) -> FieldNode:
        return self.nodes[0]


@dataclass(frozen=True)
class Typename:
    """`__typename` on the query root: a constant."""

    key: str
    text: str


@dataclass(frozen=True)
class Query:
    """An operation's root fields in the order graphql-core answers them."""

    roots: tuple[Plan | Typename, ...]



def _filler(node: Node, kind: str, pg: bool) -> Fill | None:
    """The second pass that puts the twin's values in place of their tags and, on SQLite, cursors in
    place of their keys; None when there is nothing to put."""
    lives = [p for p in node.parts if isinstance(p, Live)]
    keys = [] if pg else [p.key for p in node.parts if isinstance(p, Key)]
    kids = [(p.key, f) for p in node.parts
            if isinstance(p, (Many, Nested)) and (f := _filler(p.node, kind, pg)) is not None]
    if not lives and not keys and not kids:
        return None

    def fill(obj: Any, twin: Any) -> None:
        if obj is None:
            return
        if isinstance(obj, list):
            for item in obj:
                fill(item, twin)
            return
        for p in lives:
            reading = twin.last(obj[p.key])
            value = getattr(reading, p.attr) if reading is not None else None
            obj[p.key] = None if value is None else p.serialize(value)
        for key in keys:
            if obj[key] is not None:
                obj[key] = encode_cursor(kind, obj[key])
        for key, f in kids:
            f(obj[key], twin)

    return fill
