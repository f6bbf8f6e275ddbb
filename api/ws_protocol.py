"""uvicorn's sans-I/O WebSocket protocol, offering the app one write for many text frames.

Through ASGI every frame is its own `websocket.send` message: a state check, middleware wrappers,
several awaits and one socket write (a system call) each. At 12,000 live frames a second that path
was the largest part of the core's time. This protocol puts a callable in the scope's extensions
(`EXTENSION`): given a list of texts it frames them all and writes them with one transport write,
with the same flow control (it waits while the transport is paused) and the same refusal once the
connection is closing. An app that does not look for it uses ASGI as before, and so does any other
server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

EXTENSION = "plasmatwin.websocket.send_texts"


class BatchingWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:  # the app starts on a later turn
            scope["extensions"][EXTENSION] = {"send": self.send_texts}

    async def send_texts(self, texts: Sequence[str]) -> None:
        await self.writable.wait()
        if self.disconnected or self.close_sent or not self.handshake_complete:
            raise ClientDisconnected()
        try:
            for text in texts:
                self.conn.send_text(text.encode())
        except InvalidState:
            raise ClientDisconnected() from None
        self.transport.write(b"".join(self.conn.data_to_send()))


def send_texts(scope: Any) -> Any:
    """The scope's batch writer, or None when the server does not offer one."""
    found = (scope.get("extensions") or {}).get(EXTENSION)
    return found.get("send") if isinstance(found, dict) else None
