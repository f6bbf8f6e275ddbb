"""A fast path for hot read fields (design.md, "Hot reads"): for a query that is one registered
root field selecting plain fields only, run its resolver once and project the result onto the
selection in one pass, instead of graphql-core resolving tens of thousands of fields one by one.

The answer is the same JSON the executor would produce (same keys, order, aliases, scalar
serialisation); anything the projection does not handle (fragments, directives, arguments below
the root) goes the normal way. The document was parsed and validated before (api/engine/documents.py)
and errors are formatted after (api/engine/errors.py), as for every other answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_nullable_type,
    is_leaf_type,
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values


@dataclass(frozen=True)
class FastField:
    """A root field that may be answered by projection: its permission and its resolver, and optionally
    a resolver that returns the field's JSON text itself (built by the database), or None to decline."""

    obj: str
    act: str
    run: Callable[[Any, dict[str, Any]], Awaitable[Any]]
    raw: Callable[[Any, dict[str, Any], FieldNode], Awaitable[str | None]] | None = None


@dataclass(frozen=True)
class Raw:
    """A response whose field value is JSON text, spliced unparsed."""

    key: str
    text: str

    def body(self) -> bytes:
        return b'{"data":{' + json.dumps(self.key).encode() + b":" + self.text.encode() + b"}}"

    def frame(self, operation_id: str) -> str:
        """The graphql-transport-ws `next` message carrying this response."""
        return next_frame(operation_id, self.key)(self.text)


def next_frame(operation_id: str, key: str) -> Callable[[str], str]:
    """The graphql-transport-ws `next` message of an operation, around a root field's JSON text."""
    head = '{"id":' + dumps(operation_id) + ',"type":"next","payload":{"data":{' + dumps(key) + ":"
    return lambda text: head + text + "}}}"


def dumps(value: Any) -> str:
    """Compact JSON as the HTTP answers are written (orjson: once per live event and query, it was a
    third of the cost of rendering one)."""
    return orjson.dumps(value).decode()


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _attr(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def plan(schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode,
         registry: dict[str, FastField]) -> tuple[FieldNode, Projector] | None:
    """The single root field to project and its projector, or None when this query takes the normal path."""
    if op.operation != OperationType.QUERY or len(doc.definitions) != 1 or op.directives:
        return None
    sels = op.selection_set.selections
    if len(sels) != 1 or not isinstance(sels[0], FieldNode) or sels[0].name.value not in registry:
        return None
    root = sels[0]
    if root.directives or root.selection_set is None:
        return None
    field_type = schema.query_type.fields[root.name.value].type if schema.query_type else None
    if field_type is None or not _plain(root.selection_set, field_type):
        return None
    return root, compile_projector(field_type, root.selection_set)


def _plain(sel: SelectionSetNode, gtype: Any) -> bool:
    named = _named(gtype)
    if not isinstance(named, GraphQLObjectType):
        return False
    for s in sel.selections:
        if not isinstance(s, FieldNode) or s.directives or s.arguments:
            return False
        if s.name.value == "__typename":
            continue
        fdef = named.fields.get(s.name.value)
        if fdef is None or _has_resolver(fdef):
            return False
        if s.selection_set is not None and not _plain(s.selection_set, fdef.type):
            return False
    return True


def _has_resolver(fdef: Any) -> bool:
    """A field computed by a resolver cannot be read as an attribute: such queries take the normal path."""
    definition = (fdef.extensions or {}).get("strawberry-definition")
    return getattr(definition, "base_resolver", None) is not None


def _named(gtype: Any) -> Any:
    while isinstance(gtype, (GraphQLNonNull, GraphQLList)):
        gtype = gtype.of_type
    return gtype


Projector = Callable[[Any], Any]


def compile_projector(gtype: Any, sel: SelectionSetNode | None) -> Projector:
    """Turn a type and selection into a function from a result object to its JSON value (done once per
    query text, then applied to every item)."""
    nullable = get_nullable_type(gtype)
    if isinstance(nullable, GraphQLList):
        item = compile_projector(nullable.of_type, sel)
        return lambda v: None if v is None else [item(x) for x in v]
    if is_leaf_type(nullable):
        serialize = nullable.serialize
        return lambda v: None if v is None else serialize(v)
    assert sel is not None and isinstance(nullable, GraphQLObjectType)
    type_name = nullable.name
    parts: list[tuple[str, str | None, Projector | None]] = []
    for node in sel.selections:
        assert isinstance(node, FieldNode)
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            parts.append((key, None, None))
        else:
            parts.append((key, _attr(name), compile_projector(nullable.fields[name].type, node.selection_set)))

    def project(v: Any) -> Any:
        if v is None:
            return None
        return {key: (type_name if attr is None else child(getattr(v, attr)))  # type: ignore[misc]
                for key, attr, child in parts}

    return project


async def execute(schema: GraphQLSchema, root: FieldNode, registry: dict[str, FastField], context: Any,
                  variables: VariableValues, projector: Projector) -> ExecutionResult | Raw:
    """The result of a planned query: data, or the error exactly where the executor puts it (an
    unexpected exception too: the formatter masks it as it masks the executor's)."""
    assert schema.query_type is not None
    fdef = schema.query_type.fields[root.name.value]
    key = root.alias.value if root.alias else root.name.value
    fast = registry[root.name.value]
    try:
        args = get_argument_values(fdef, root, variables)
        await context.require(fast.obj, fast.act)
        if fast.raw is not None:
            text = await fast.raw(context, args, root)
            if text is not None:
                return Raw(key, text)
        result = await fast.run(context, args)
    except Exception as exc:  # as graphql-core catches a resolver's exception
        err = located_error(exc, [root], [key])
        data = None if isinstance(fdef.type, GraphQLNonNull) else {key: None}
        return ExecutionResult(data, [err])
    return ExecutionResult({key: projector(result)})
