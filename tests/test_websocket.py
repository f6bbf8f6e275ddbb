"""graphql-transport-ws on /graphql: token in connection_init, 4401 without one, live sensor updates."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, token_at
from twin.state import Quality

PROTO = "graphql-transport-ws"


async def _token(live: LiveServer, user: str = "op.one") -> str:
    return await token_at(live.url, user)


async def _recv(ws: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), 5)))


@pytest.mark.parametrize("payload", [{}, {"authorization": "Bearer not-a-token"}, {"authorization": 5}])
async def test_connection_without_valid_token_is_closed_4401(live_server: LiveServer, payload: dict) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_legacy_subprotocol_is_not_offered(live_server: LiveServer) -> None:
    with pytest.raises(Exception):  # noqa: B017 - handshake refused or closed 4406
        async with websockets.connect(live_server.ws_url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await asyncio.wait_for(ws.recv(), 5)


async def test_sensor_updates_stream_to_a_signed_in_client(live_server: LiveServer) -> None:
    token = await _token(live_server)
    async with websockets.connect(live_server.ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert (await _recv(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": 'subscription{sensorUpdates(tags:["CS1-TT-101"]){tag value quality sourceTime}}'}}))
        await asyncio.sleep(0.3)  # let the subscription register before publishing
        twin = live_server.app.state.services.twin
        live_server.call(twin.ingest, "OTHER-TAG", 1.0)
        live_server.call(twin.ingest, "CS1-TT-101", -31.5, Quality.GOOD)
        msg = await _recv(ws)
        assert msg["type"] == "next" and msg["id"] == "1"
        assert msg["payload"]["data"]["sensorUpdates"]["tag"] == "CS1-TT-101"
        assert msg["payload"]["data"]["sensorUpdates"]["value"] == -31.5
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_websocket_errors_carry_codes(live_server: LiveServer) -> None:
    token = await _token(live_server, "op.one")
    async with websockets.connect(live_server.ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert (await _recv(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "bad", "type": "subscribe", "payload": {"query": "subscription{nope}"}}))
        msg = await _recv(ws)
        assert msg["type"] == "error" and msg["payload"][0]["extensions"]["code"] == "VALIDATION_FAILED"
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{verifyAuditChain{ok}}"}}))
        msg = await _recv(ws)
        assert msg["type"] == "next" and msg["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_scoped_token_subscription_is_out_of_scope(live_server: LiveServer) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from records.audit import AuditContext
    from records.base import utcnow
    from records.db import Database
    from records.identity import ApiToken, User
    from resolvers.identity import token_digest

    url = live_server.app.state.settings.database_url
    db = Database(url)
    async with db.write(AuditContext("test")) as s:
        uid = (await s.execute(select(User.id).where(User.username == "reg.one"))).scalar_one()
        s.add(ApiToken(token_hash=token_digest("scoped-test-token"), user_id=uid, kind="scoped",
                       expires_at=utcnow() + timedelta(hours=1), scope={"readOnly": True, "products": ["X"]}))
    await db.dispose()
    async with websockets.connect(live_server.ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": "Bearer scoped-test-token"}}))
        assert (await _recv(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "s", "type": "subscribe",
                                  "payload": {"query": "subscription{sensorUpdates{tag value}}"}}))
        msg = await _recv(ws)
        errors = msg["payload"] if msg["type"] == "error" else msg["payload"].get("errors")
        assert errors[0]["extensions"]["code"] == "OUT_OF_SCOPE"
    db = Database(url)
    async with db.read() as s:
        from records.audit import AuditEvent

        access = (await s.execute(select(AuditEvent.changes).where(AuditEvent.action == "ACCESS"))).scalars().all()
    await db.dispose()
    assert [(a["operation"], a["fields"], a["transport"]) for a in access] == [
        ("subscription", ["sensorUpdates"], "websocket")]


async def test_compression_is_off_unless_the_setting_turns_it_on(tmp_path: Any, live_server: LiveServer) -> None:
    """permessage-deflate costs the core CPU on every small live frame: not negotiated by default, even
    when the client offers it; PLASMATWIN_WS_COMPRESSION=true negotiates it."""
    from api.settings import Settings
    from records.migrate import upgrade
    from tests.conftest import make_settings, start_live_server

    assert Settings.from_env({"PLASMATWIN_WS_COMPRESSION": "true"}).ws_compression is True
    assert Settings.from_env({}).ws_compression is False
    with pytest.raises(SystemExit, match="PLASMATWIN_WS_COMPRESSION must be true or false"):
        Settings.from_env({"PLASMATWIN_WS_COMPRESSION": "maybe"})

    async def extensions(ws_url: str) -> str | None:
        async with websockets.connect(ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
            return ws.response.headers.get("Sec-WebSocket-Extensions")  # the client offers deflate

    assert await extensions(live_server.ws_url) is None
    url = f"sqlite+aiosqlite:///{tmp_path / 'deflate.db'}"
    await asyncio.to_thread(upgrade, url)
    other = start_live_server(make_settings(url, ws_compression=True))
    try:
        assert "permessage-deflate" in (await extensions(other.ws_url) or "")
    finally:
        other.server.should_exit = True
        other.thread.join(10)


def test_server_options_follow_the_settings() -> None:
    """`serve`, `serve --workers` and the tests' live server share one set of uvicorn options."""
    from api.cli import server_options
    from api.settings import Settings
    from api.ws_protocol import BatchingWebSocketProtocol

    plain = server_options(Settings.from_env({}))
    assert plain["access_log"] is True and plain["ws_per_message_deflate"] is False
    assert plain["ws"] is BatchingWebSocketProtocol  # one socket write for a client's waiting live frames
    quiet = server_options(Settings.from_env({"PLASMATWIN_ACCESS_LOG": "0", "PLASMATWIN_WS_COMPRESSION": "on"}))
    assert quiet["access_log"] is False and quiet["ws_per_message_deflate"] is True
    with pytest.raises(SystemExit, match="PLASMATWIN_ACCESS_LOG must be true or false"):
        Settings.from_env({"PLASMATWIN_ACCESS_LOG": "2"})
