"""Two API processes on one PostgreSQL and one Redis: readings ingested through node A reach a
subscriber of node B, and so does the alarm they raise; node B's plant state knows the new value."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from records.audit import AuditContext
from records.db import Database
from records.migrate import upgrade
from records.plant import Room, Sensor
from tests import services
from tests.conftest import add_users, token_at
from tests.signing_env import add_tiny_plant

PROTO = "graphql-transport-ws"
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def _seed(url: str) -> None:
    db = Database(url)
    from api.seed import seed_roles

    await seed_roles(db)
    await add_users(db)
    await add_tiny_plant(db)
    async with db.write(AuditContext("system", reason="test sensor")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="R1-TT-101", name="Room temperature", kind="temperature", unit="°C", room_id=room.id,
                     high_limit=24.0, low_limit=18.0, alarm_priority="HIGH"))
    await db.dispose()


def _start_node(db_url: str, redis_port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = services.free_port()
    env = {**os.environ, "PLASMATWIN_DATABASE_URL": db_url, "PLASMATWIN_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "PLASMATWIN_HOST": "127.0.0.1", "PLASMATWIN_PORT": str(port)}
    out = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parents[1])
    out.close()
    try:
        services.wait_port(port, 30)
    except services.ServiceUnavailable:
        proc.kill()
        raise AssertionError(f"node did not start: {log.read_text()[-2000:]}") from None
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def two_nodes(pg_url: str, redis_server: services.Process, tmp_path: Path) -> Iterator[tuple[str, str]]:
    upgrade(pg_url)
    asyncio.run(_seed(pg_url))
    procs = []
    try:
        a = _start_node(pg_url, redis_server.port, tmp_path / "a.log")
        procs.append(a[0])
        b = _start_node(pg_url, redis_server.port, tmp_path / "b.log")
        procs.append(b[0])
        yield a[1], b[1]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def _next(ws: Any, sub_id: str) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("id") == sub_id:
            assert msg["type"] == "next", msg
            return dict(msg["payload"]["data"])


async def test_ingest_on_one_node_reaches_subscribers_of_the_other(two_nodes: tuple[str, str]) -> None:
    node_a, node_b = two_nodes
    viewer = await token_at(node_b, "op.one")
    bridge = await token_at(node_a, "bridge.one")
    ws_url = node_b.replace("http", "ws") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {viewer}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
            "query": 'subscription{sensorUpdates(tags:["R1-TT-101"]){tag value}}'}}))
        await ws.send(json.dumps({"id": "a", "type": "subscribe", "payload": {
            "query": "subscription{alarmEvents{kind alarm{tag condition state roomCode}}}"}}))
        await asyncio.sleep(0.5)  # both subscriptions registered on node B
        now = datetime.now(UTC)
        async with httpx.AsyncClient(base_url=node_a) as c:
            r = await c.post("/ingest", headers={"authorization": f"Bearer {bridge}"}, json={"readings": [
                {"tag": "R1-TT-101", "value": 21.0, "sourceTime": (now - timedelta(seconds=2)).isoformat()},
                {"tag": "R1-TT-101", "value": 26.5, "sourceTime": now.isoformat()}]})
        assert r.json()["accepted"] == 2
        first = await _next(ws, "s")
        second = await _next(ws, "s")
        assert [first["sensorUpdates"]["value"], second["sensorUpdates"]["value"]] == [21.0, 26.5]
        alarm = (await _next(ws, "a"))["alarmEvents"]
        assert alarm == {"kind": "RAISED", "alarm": {"tag": "R1-TT-101", "condition": "HIGH", "state": "ACTIVE",
                                                     "roomCode": "R1"}}
    async with httpx.AsyncClient(base_url=node_b) as c:
        r = await c.post("/graphql", headers={"authorization": f"Bearer {viewer}"}, json={
            "query": '{equipment(code:"EQ-1"){code} alarms(active:true){totalCount}}'})
        q = await c.post("/graphql", headers={"authorization": f"Bearer {viewer}"}, json={
            "query": "{plants{rooms{code sensors{tag value}}}}"})
    assert r.json()["data"]["alarms"]["totalCount"] == 1
    sensors = [s for p in q.json()["data"]["plants"] for rm in p["rooms"] for s in rm["sensors"]]
    assert {"tag": "R1-TT-101", "value": 26.5} in sensors  # node B's twin took node A's reading


@pytest.fixture
def long_token_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A minute of verified-token cache on both nodes: a refusal within a second can only come over the bus."""
    monkeypatch.setenv("PLASMATWIN_TOKEN_CACHE_SECONDS", "60")


async def test_a_token_signed_out_on_one_node_is_refused_on_the_other_within_a_second(
        long_token_cache: None, two_nodes: tuple[str, str]) -> None:
    node_a, node_b = two_nodes
    token = await token_at(node_a, "op.one")
    auth = {"authorization": f"Bearer {token}"}
    viewer = {"query": "{viewer{username}}"}
    async with httpx.AsyncClient(base_url=node_a) as a, httpx.AsyncClient(base_url=node_b) as b, \
            websockets.connect(node_b.replace("http", "ws") + "/graphql", subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        for _ in range(3):  # node B has verified the token and keeps it
            seen = (await b.post("/graphql", json=viewer, headers=auth)).json()
            assert seen["data"]["viewer"]["username"] == "op.one"
        assert (await a.post("/graphql", json={"query": "mutation{signOut}"}, headers=auth)).json()["data"] == \
            {"signOut": True}
        signed_out = loop_time()
        while (r := await b.post("/graphql", json=viewer, headers=auth)).status_code != 401:
            assert loop_time() - signed_out < 1.0, f"node B still accepts the signed-out token: {r.text}"
            await asyncio.sleep(0.02)
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 1.0)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_query_persisted_on_one_node_runs_by_its_hash_on_the_other(two_nodes: tuple[str, str]) -> None:
    node_a, node_b = two_nodes
    query = "query Hashed { __typename }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    async with httpx.AsyncClient(base_url=node_a) as a, httpx.AsyncClient(base_url=node_b) as b:
        miss = (await b.post("/graphql", json={"extensions": ext})).json()
        assert miss["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert (await a.post("/graphql", json={"query": query, "extensions": ext})).json() == \
            {"data": {"__typename": "Query"}}
        hit = await b.get("/graphql", params={"extensions": json.dumps(ext)})
    assert hit.json() == {"data": {"__typename": "Query"}}


def loop_time() -> float:
    return asyncio.get_running_loop().time()
