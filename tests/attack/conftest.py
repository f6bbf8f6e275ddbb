"""Fixtures of the attack matrix: a live server with trusted signers, and a graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy import func, select

from api.seed import seed_roles
from records.audit import AuditEvent
from records.db import Database
from records.migrate import upgrade
from tests.conftest import PASSWORD, LiveServer, add_users, make_settings, start_live_server, token_at
from tests.signing_env import Signers, add_signers, add_tiny_plant, make_signers
from tests.test_release import rel  # noqa: F401 - a batch ready for release, with the organisation's key
from tests.test_two_nodes import two_nodes  # noqa: F401 - two API processes on one PostgreSQL and Redis

PROTO = "graphql-transport-ws"


@dataclass
class SignedLive:
    live: LiveServer
    signers: Signers
    url: str  # the database

    async def token(self, user: str) -> str:
        return await token_at(self.live.url, user, PASSWORD)


@pytest.fixture
def signed_live(tmp_path: Path, pki_dir: Path) -> Iterator[SignedLive]:
    """A uvicorn server (real WebSockets) with the signing users, the standard users and a tiny plant."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    upgrade(url)
    signers = make_signers(pki_dir, tmp_path / "crl.pem")

    async def seed() -> None:
        db = Database(url)
        await seed_roles(db)
        await add_signers(db, signers, PASSWORD)
        await add_users(db)
        await add_tiny_plant(db)
        await db.dispose()

    asyncio.run(seed())
    settings = replace(make_settings(url), **signers.trust)
    live = start_live_server(settings)
    yield SignedLive(live, signers, url)
    live.server.should_exit = True
    live.thread.join(10)


class WS:
    """A graphql-transport-ws client that keeps the messages of other operations for later."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pending: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str) -> WS:
        conn = await websockets.connect(url, subprotocols=[PROTO])  # type: ignore[list-item]
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(conn.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        return cls(conn)

    async def send(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        await self.conn.send(json.dumps({"id": op_id, "type": "subscribe",
                                         "payload": {"query": query, "variables": variables or {}}}))

    async def result(self, op_id: str, wait: float = 5) -> dict[str, Any]:
        """The next `next` payload or `error` list of this operation, as {"data"?, "errors"?}."""
        for i, msg in enumerate(self.pending):
            if msg.get("id") == op_id:
                del self.pending[i]
                return _payload(msg)
        while True:
            msg = json.loads(await asyncio.wait_for(self.conn.recv(), wait))
            if msg.get("id") == op_id and msg["type"] in ("next", "error"):
                return _payload(msg)
            self.pending.append(msg)

    async def request(self, query: str, variables: dict[str, Any] | None = None, op_id: str = "q") -> dict[str, Any]:
        await self.send(op_id, query, variables)
        return await self.result(op_id)

    async def close(self) -> None:
        await self.conn.close()


def _payload(msg: dict[str, Any]) -> dict[str, Any]:
    if msg["type"] == "error":
        return {"errors": msg["payload"]}
    return dict(msg["payload"])


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def count_events(url: str, action: str) -> int:
    db = Database(url)
    try:
        async with db.read() as s:
            return int((await s.execute(select(func.count()).select_from(AuditEvent)
                                        .where(AuditEvent.action == action))).scalar_one())
    finally:
        await db.dispose()
