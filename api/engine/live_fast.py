"""A fast path for hot subscriptions (design.md, "Hot reads", for the live plant).

Per event, graphql-core executes a subscription's selection for every subscriber. For `plantState`
and `sensorUpdates` with plain selections (fields only: no fragments, directives or arguments below
the root) this path instead projects each event onto the selection and writes the JSON once per
distinct query, shared by every subscriber with that query; the WebSocket frame is the same bytes
the executor would have produced. Anything else takes graphql-core's executor. Both come after the
same parsing, validation and variable coercion (api/engine/documents.py), and their errors go
through the same formatter (api/engine/errors.py).

A live field that can also say how to listen for its events (a `Feed`, as `sensorUpdates` does) is
pushed: the transport is handed a `Push` instead of a stream, and each event is rendered and queued
for the socket in the publisher's turn (api/outbox.py), with no task and no chain of async generators
per subscriber and event: at 12,000 deliveries a second that chain was a fifth of the core's time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, aclosing
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult, FieldNode, GraphQLError, GraphQLSchema, OperationType, located_error
from graphql.execution.values import VariableValues, get_argument_values

from api.engine.documents import Prepared
from api.engine.fast_path import Raw, _plain, compile_projector, dumps

Render = Callable[[Any], str]
# A live field: its permission check and stream, given the context, arguments and the renderer.
Stream = Callable[[Any, dict[str, Any], Render], AsyncGenerator[str, None]]
# Listening for a field's events: calls the function with each event while the block runs.
Listen = Callable[[Callable[[Any], None]], AbstractContextManager[None]]
# A pushed field: its permission check, then how to listen, given the context and arguments.
Feed = Callable[[Any, dict[str, Any]], Awaitable[Listen]]
# A live field: its stream, how an event becomes the field's object (schema/live.py LIVE_FIELDS), and
# optionally its feed.
LiveField = tuple[Stream, Callable[[Any], Any]] | tuple[Stream, Callable[[Any], Any], Feed]


@dataclass(frozen=True)
class LivePlan:
    key: str
    root: FieldNode
    stream: Stream
    render: Render
    feed: Feed | None = None


@dataclass(frozen=True)
class Push:
    """A planned subscription the transport listens to itself: `open` checks permission and
    arguments (raising the refusal) and gives the listener; `render` writes an event's JSON."""

    key: str
    render: Render
    feed: Feed
    context: Any
    args: dict[str, Any]

    async def open(self) -> Listen:
        return await self.feed(self.context, self.args)


class LivePlanner:
    def __init__(self, schema: GraphQLSchema, registry: dict[str, LiveField], size: int = 256) -> None:
        self.schema = schema
        self.registry = registry
        self.plans: OrderedDict[tuple[str, str | None], LivePlan | None] = OrderedDict()
        self.size = size

    def plan(self, prepared: Prepared) -> LivePlan | None:
        key = (prepared.query, prepared.operation_name)
        if key in self.plans:
            self.plans.move_to_end(key)
            return self.plans[key]
        found = self._plan(prepared)
        self.plans[key] = found
        if len(self.plans) > self.size:
            self.plans.popitem(last=False)
        return found

    def _plan(self, prepared: Prepared) -> LivePlan | None:
        doc, op = prepared.doc, prepared.op
        if op.operation != OperationType.SUBSCRIPTION or len(doc.definitions) != 1 or op.directives:
            return None
        sels = op.selection_set.selections
        if len(sels) != 1 or not isinstance(sels[0], FieldNode) or sels[0].name.value not in self.registry:
            return None
        root = sels[0]
        sub_type = self.schema.subscription_type
        if sub_type is None or root.directives or root.selection_set is None:
            return None
        field_type = sub_type.fields[root.name.value].type
        if not _plain(root.selection_set, field_type):
            return None
        stream, to_object, *feed = self.registry[root.name.value]
        project = compile_projector(field_type, root.selection_set)
        return LivePlan(root.alias.value if root.alias else root.name.value, root, stream,
                        _cached(lambda event: dumps(project(to_object(event)))), feed[0] if feed else None)

    def subscribe(self, plan: LivePlan, context: Any, variables: VariableValues
                  ) -> AsyncIterator[Raw] | Push | ExecutionResult:
        """The planned subscription's responses (or its Push), or its refusal as graphql-core's
        subscribe gives it."""
        sub_type = self.schema.subscription_type
        assert sub_type is not None
        try:
            args = get_argument_values(sub_type.fields[plan.root.name.value], plan.root, variables)
        except GraphQLError as exc:
            return ExecutionResult(None, [located_error(exc, [plan.root], [plan.key])])
        if plan.feed is not None:
            return Push(plan.key, plan.render, plan.feed, context, args)
        return _responses(plan, context, args)


async def _responses(plan: LivePlan, context: Any, args: dict[str, Any]) -> AsyncGenerator[Raw, None]:
    async with aclosing(plan.stream(context, args, plan.render)) as texts:
        async for text in texts:
            yield Raw(plan.key, text)


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
