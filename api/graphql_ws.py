"""graphql-transport-ws on /graphql, through Strawberry's handler.

The token comes in the connection_init payload; a missing or bad one closes the socket with
4401 before the connection is acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from policies.errors import AppError
from resolvers.context import Context


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
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
                 allowed_origins: tuple[str, ...] = ()) -> None:
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         allowed_origins=allowed_origins, max_subscriptions_per_connection=50)
        self._base_context = base_context
        self.authenticate_ws = authenticate

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, WebSocket)
        return self._base_context(request)
