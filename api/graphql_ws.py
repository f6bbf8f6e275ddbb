"""graphql-transport-ws on /graphql, through Strawberry's handler.

The token comes in the connection_init payload; a missing or bad one closes the socket with
4401 before the connection is acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing, suppress
from typing import Any

from graphql import GraphQLError, located_error
from graphql.execution.values import get_argument_values, get_variable_values
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from api.live_fast import LivePlan, LivePlanner, next_frame
from policies.errors import AppError
from resolvers.context import Context


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view: LiveGraphQL = self.view  # type: ignore[assignment]
        plan = view.live.plan(operation.query, operation.operation_name) if view.live is not None else None
        if plan is None:
            await super().run_operation(operation)
            return
        try:
            await self._run_live(operation, plan, view.live)  # type: ignore[arg-type]
        except (WebSocketDisconnected, WebSocketDisconnect):
            return
        with suppress(Exception):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _run_live(self, operation: Operation[Context, None], plan: LivePlan, planner: LivePlanner) -> None:
        """Stream a planned subscription: each event's JSON written once per query, sent as is."""
        coerced = get_variable_values(planner.schema, plan.op.variable_definitions or [], operation.variables or {})
        if isinstance(coerced, list):
            await operation.send_initial_errors(coerced)
            return
        sub_type = planner.schema.subscription_type
        assert sub_type is not None
        ws = self.websocket.ws  # type: ignore[attr-defined]
        try:
            args = get_argument_values(sub_type.fields[plan.root.name.value], plan.root, coerced)
            async with aclosing(plan.stream(self.context, args, plan.render)) as texts:
                async for text in texts:
                    if operation.completed:
                        return
                    await ws.send_text(next_frame(operation.id, plan.key, text))
        except (AppError, GraphQLError) as exc:  # refused: a result with the coded error, as the executor does
            err = located_error(exc, [plan.root], [plan.key])
            await operation.send_operation_message({"id": operation.id, "type": "next",
                                                    "payload": {"data": None, "errors": [err.formatted]}})

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        view: LiveGraphQL = self.view  # type: ignore[assignment]
        if not self.connection_init_received and isinstance(payload, dict):
            try:
                principal = await view.authenticate_ws(payload.get("authorization"), self.context)
            except AppError:
                principal = None
            if principal is None:
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(code=4401, reason="Unauthorized")
                return
            self.context.principal = principal
        await super().handle_connection_init(message)


class LiveGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Any, *, base_context: Callable[[WebSocket], Context],
                 authenticate: Callable[[Any, Context], Awaitable[Any]],
                 allowed_origins: tuple[str, ...] = (), live: LivePlanner | None = None) -> None:
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         allowed_origins=allowed_origins, max_subscriptions_per_connection=50)
        self._base_context = base_context
        self.authenticate_ws = authenticate
        self.live = live

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, WebSocket)
        return self._base_context(request)
