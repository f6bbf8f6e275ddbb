"""graphql-transport-ws on /graphql, through Strawberry's handler.

The token comes in the connection_init payload; a missing or bad one closes the socket with
4401 before the connection is acknowledged. Every operation then passes the same admission as an
HTTP request (api.access.admit): scope logging, read-only refusal, and its own context carrying
the operation's variables as sent, which is what a signature covers. A sign-out, revocation or
role change closes the socket (api.sockets) with 4401 or 4403.
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
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from api.live_fast import LivePlan, LivePlanner, next_frame
from api.sockets import OpenSocket, OpenSockets
from policies.errors import AppError
from resolvers.context import Context


class OperationRefused(Exception):
    """A subscribe message refused before it runs (the document's limits), with its errors."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        super().__init__(errors[0].message)
        for e in errors:  # a syntax error comes from the parser without a code
            e.extensions = {"code": "VALIDATION_FAILED", **(e.extensions or {})}
        self.errors = errors


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    socket: OpenSocket | None = None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view: LiveGraphQL = self.view  # type: ignore[assignment]
        try:
            context = await view.admit_ws(self.context, operation.query, operation.operation_name,
                                          operation.variables)
        except AppError as exc:
            with suppress(Exception):
                await operation.send_initial_errors([exc])
            return
        except OperationRefused as refused:
            with suppress(Exception):
                await operation.send_initial_errors(refused.errors)
            return
        try:
            await self._run(operation, context)
        finally:
            await context.settle()  # nothing the operation started keeps running after it

    async def _run(self, operation: Operation[Context, None], context: Context) -> None:
        view: LiveGraphQL = self.view  # type: ignore[assignment]
        plan = view.live.plan(operation.query, operation.operation_name) if view.live is not None else None
        if plan is None:
            await self._run_executor(operation, context)
            return
        try:
            await self._run_live(operation, plan, view.live, context)  # type: ignore[arg-type]
        except (WebSocketDisconnected, WebSocketDisconnect):
            return
        with suppress(Exception):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _run_executor(self, operation: Operation[Context, None], context: Context) -> None:
        """Strawberry's run_operation, with this operation's own context instead of the connection's."""
        try:
            result_source = await self.schema.stream(
                operation.query, variable_values=operation.variables, context_value=context,
                root_value=self.root_value, operation_name=operation.operation_name)
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:  # as Strawberry does: log, complete, forget the operation
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _run_live(self, operation: Operation[Context, None], plan: LivePlan, planner: LivePlanner,
                        context: Context) -> None:
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
            async with aclosing(plan.stream(context, args, plan.render)) as texts:
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
            self.socket = view.sockets.add(principal, self._close)
        await super().handle_connection_init(message)

    async def _close(self, code: int, reason: str) -> None:
        with suppress(Exception):
            await self.websocket.close(code=code, reason=reason)

    async def shutdown(self) -> None:
        view: LiveGraphQL = self.view  # type: ignore[assignment]
        if self.socket is not None:
            view.sockets.remove(self.socket)
            self.socket = None
        await super().shutdown()


class LiveGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Any, *, base_context: Callable[[WebSocket], Context],
                 authenticate: Callable[[Any, Context], Awaitable[Any]],
                 admit: Callable[[Context, str, str | None, dict[str, Any] | None], Awaitable[Context]],
                 sockets: OpenSockets, allowed_origins: tuple[str, ...] = (),
                 live: LivePlanner | None = None) -> None:
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         allowed_origins=allowed_origins, max_subscriptions_per_connection=50)
        self._base_context = base_context
        self.authenticate_ws = authenticate
        self.admit_ws = admit
        self.sockets = sockets
        self.live = live

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, WebSocket)
        return self._base_context(request)
