"""A fast path for hot subscriptions (design.md, "Hot reads", for the live plant).

Per event, graphql-core executes a subscription's selection for every subscriber. For `plantState`
and `sensorUpdates` with plain selections (fields only: no fragments, directives or arguments below
the root) this path instead projects each event onto the selection and writes the JSON once per
distinct query, shared by every subscriber with that query; the WebSocket frame is the same bytes
the executor would have produced. Anything else takes Strawberry's normal path, which also answers
every document this path declines (invalid ones included), so errors stay the executor's.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from api.fast_path import _plain, compile_projector

Render = Callable[[Any], str]
# A live field: its permission check and stream, given the context, arguments and the renderer.
Stream = Callable[[Any, dict[str, Any], Render], AsyncGenerator[str, None]]


@dataclass(frozen=True)
class LivePlan:
    key: str
    root: FieldNode
    op: OperationDefinitionNode
    stream: Stream
    render: Render


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class LivePlanner:
    def __init__(self, schema: GraphQLSchema, registry: dict[str, tuple[Stream, Callable[[Any], Any]]],
                 rules: list[Any], size: int = 256) -> None:
        self.schema = schema
        self.registry = registry
        self.rules = [*specified_rules, *rules]
        self.plans: OrderedDict[tuple[str, str | None], LivePlan | None] = OrderedDict()
        self.size = size

    def plan(self, query: str, operation_name: str | None) -> LivePlan | None:
        key = (query, operation_name)
        if key in self.plans:
            self.plans.move_to_end(key)
            return self.plans[key]
        found = self._plan(query, operation_name)
        self.plans[key] = found
        if len(self.plans) > self.size:
            self.plans.popitem(last=False)
        return found

    def _plan(self, query: str, operation_name: str | None) -> LivePlan | None:
        try:
            doc: DocumentNode = parse(query)
        except GraphQLError:
            return None
        op = get_operation_ast(doc, operation_name)
        if op is None or op.operation != OperationType.SUBSCRIPTION or len(doc.definitions) != 1 or op.directives:
            return None
        sels = op.selection_set.selections
        if len(sels) != 1 or not isinstance(sels[0], FieldNode) or sels[0].name.value not in self.registry:
            return None
        root = sels[0]
        sub_type = self.schema.subscription_type
        if sub_type is None or root.directives or root.selection_set is None or validate(self.schema, doc, self.rules):
            return None
        field_type = sub_type.fields[root.name.value].type
        if not _plain(root.selection_set, field_type):
            return None
        stream, to_object = self.registry[root.name.value]
        project = compile_projector(field_type, root.selection_set)
        return LivePlan(root.alias.value if root.alias else root.name.value, root, op, stream,
                        _cached(lambda event: dumps(project(to_object(event)))))


def _cached(render: Render, size: int = 2048) -> Render:
    """One JSON text per event and query, however many subscribers share the query. Events are kept
    alongside their text so an id is never reused while cached."""
    memo: OrderedDict[int, tuple[Any, str]] = OrderedDict()

    def cached(event: Any) -> str:
        hit = memo.get(id(event))
        if hit is not None and hit[0] is event:
            return hit[1]
        text = render(event)
        memo[id(event)] = (event, text)
        if len(memo) > size:
            memo.popitem(last=False)
        return text

    return cached


def next_frame(operation_id: str, key: str, text: str) -> str:
    return '{"id":' + dumps(operation_id) + ',"type":"next","payload":{"data":{' + dumps(key) + ":" + text + "}}}"
