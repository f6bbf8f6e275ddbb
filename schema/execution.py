"""Subscription execution that does not grow per event.

graphql-core 3.3's per-event executor is a shallow copy that shares the parent's memo of collected
sub-fields, keyed per event, so every event delivered on a long-lived subscription stays referenced
until it closes (../shared/notes/stack.md: 1 s GC pauses at 100 subscribers). Each event gets its own.
"""

from __future__ import annotations

from typing import Any

from graphql.pyutils import RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class PerEventExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor
