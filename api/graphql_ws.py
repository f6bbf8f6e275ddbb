"""graphql-transport-ws on /graphql: Strawberry's protocol handler, the engine's operations.

The token comes in the connection_init payload; a missing or bad one closes the socket with
4401 before the connection is acknowledged. Every operation then runs as an HTTP request does
(api/engine): the same limits, parsing, rules, variable coercion and error formatter, then the same
admission (api.access.admit): scope logging, read-only refusal, and its own context carrying the
operation's variables as sent, which is what a signature covers. An operation refused before it
runs gets an `error` message; a result, `next` messages, then `complete`. A sign-out, revocation or
role change closes the socket (api.sockets) with 4401 or 4403.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import aclosing, suppress
from typing import Any, cast

from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    NextMessage,
    NextMessagePayload,
)

from api.engine.documents import Prepared
from api.engine.errors import as_error, format_errors, result_json
from api.engine.execution import Engine
from api.engine.fast_path import Raw, next_frame
from api.engine.live_fast import Push
from api.outbox import Outbox
from api.sockets import OpenSocket, OpenSockets
from api.ws_protocol import send_texts
from policies.errors import AppError
from resolvers.context import Context
from subscriptions.bus import Bus

# The admission of one operation: the connection's context, the document, its operation, the variables as sent.
Admit = Callable[[Context, DocumentNode, OperationDefinitionNode, dict[str, Any] | None], Awaitable[Context]]


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    socket: OpenSocket | None = None
    outbox: Outbox | None = None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        view: LiveGraphQL = self.view  # type: ignore[assignment]
        engine = view.engine
        variables = operation.variables or {}
        too_deep = engine.documents.check_variables(variables)
        if too_deep:  # the first, as HTTP refuses the request
            await self._refuse(operation, too_deep[:1], pre_execution=True)
            return
        prepared = engine.documents.prepare(operation.query, operation.operation_name)
        if not isinstance(prepared, Prepared):
            await self._refuse(operation, prepared, pre_execution=True)
            return
        coerced = engine.documents.coerce(prepared, variables)
        if isinstance(coerced, list):
            await self._refuse(operation, coerced, pre_execution=True)
            return
        try:
            context = await view.admit_ws(self.context, prepared.doc, prepared.op, variables)
        except Exception as exc:  # a refusal (coded), or a database out of reach: answered, not raised
            await self._refuse(operation, [as_error(exc)])
            return
        try:
            await self._run(operation, engine, prepared, context, variables, coerced)
        except (WebSocketDisconnected, WebSocketDisconnect):
            return
        except Exception as error:  # as Strawberry does: log, complete, forget the operation
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        finally:
            await context.settle()  # nothing the operation started keeps running after it
        with suppress(Exception):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _run(self, operation: Operation[Context, None], engine: Engine, prepared: Prepared, context: Context,
                   variables: dict[str, Any], coerced: Any) -> None:
        if prepared.op.operation != OperationType.SUBSCRIPTION:
            await self._send(operation, await engine.execute(prepared, context, variables, coerced))
            return
        responses = await engine.subscribe(prepared, context, variables, coerced)
        if isinstance(responses, ExecutionResult):  # refused before its stream started
            await self._refuse(operation, responses.errors or [])
            return
        if isinstance(responses, Push):
            await self._push(operation, responses)
            return
        async with aclosing(responses) as stream:
            async for response in stream:
                if operation.completed:
                    return
                await self._send(operation, response)

    async def _push(self, operation: Operation[Context, None], push: Push) -> None:
        """Each event's frame is queued for the socket in the publisher's turn (api/outbox.py) until the
        operation is completed or the socket closes (both cancel this task). A refusal, or an event that
        cannot be rendered, ends the stream with an error response, as on the streamed path."""
        outbox = self._outbox()
        frame = next_frame(operation.id, push.key)
        failed: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

        def deliver(event: Any) -> None:
            try:
                outbox.put(operation, frame(push.render(event)))
            except Exception as exc:  # never into the publisher (the twin's ingest)
                if not failed.done():
                    failed.set_result(exc)

        outbox.operations += 1
        try:
            listen = await push.open()
            with listen(deliver):
                error = await failed
        except Exception as exc:
            error = exc
        finally:
            outbox.operations -= 1
        await self._send(operation, ExecutionResult(None, [as_error(error)]))

    def _outbox(self) -> Outbox:
        if self.outbox is None:
            view: LiveGraphQL = self.view  # type: ignore[assignment]
            ws = self.websocket.ws  # type: ignore[attr-defined]
            self.outbox = Outbox(ws.send_text, view.bus.queue_size, view.bus.count_dropped, send_texts(ws.scope))
        return self.outbox

    async def _send(self, operation: Operation[Context, None], response: ExecutionResult | Raw) -> None:
        if isinstance(response, Raw):  # JSON written once per event and query, sent as is
            if not operation.completed:
                await self.websocket.ws.send_text(response.frame(operation.id))  # type: ignore[attr-defined]
            return
        await operation.send_operation_message(
            NextMessage(id=operation.id, type="next", payload=cast(NextMessagePayload, result_json(response))))

    async def _refuse(self, operation: Operation[Context, None], errors: list[GraphQLError],
                      pre_execution: bool = False) -> None:
        with suppress(Exception):
            await operation.send_operation_message(
                ErrorMessage(id=operation.id, type="error", payload=format_errors(errors, pre_execution)))

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
        if self.outbox is not None:
            await self.outbox.close()


class LiveGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Any, engine: Engine, *, base_context: Callable[[WebSocket], Context],
                 authenticate: Callable[[Any, Context], Awaitable[Any]], admit: Admit,
                 sockets: OpenSockets, allowed_origins: tuple[str, ...] = (), bus: Bus | None = None) -> None:
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         allowed_origins=allowed_origins, max_subscriptions_per_connection=50)
        self.engine = engine
        self._base_context = base_context
        self.authenticate_ws = authenticate
        self.admit_ws = admit
        self.sockets = sockets
        # Pushed subscriptions bound each client's waiting frames as the bus bounds its queues.
        self.bus = bus or Bus()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, WebSocket)
        return self._base_context(request)
