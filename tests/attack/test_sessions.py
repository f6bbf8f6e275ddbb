"""Attack matrix, sessions: a sign-out, a revoked token, a deactivated account or changed roles close
the open WebSockets at once (4401, or 4403 for changed roles), on every API node.

The bound below is generous for a loaded CI machine; the close is event-driven (milliseconds).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from demo import population
from records.db import Database
from tests.attack.conftest import WS, SignedLive
from tests.conftest import GQL, token_at
from tests.signing_env import issue_token

CLOSE_WITHIN = 2.0
SENSORS = 'subscription{sensorUpdates(tags:["R1-TT-101"]){tag value}}'


async def _closed(ws: WS) -> int:
    """The close code the server sends next (other messages are skipped)."""
    try:
        while True:
            await asyncio.wait_for(ws.conn.recv(), CLOSE_WITHIN)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return int(exc.rcvd.code)


async def _post(base: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post("/graphql", json={"query": query, "variables": variables or {}},
                         headers={"authorization": f"Bearer {token}"})
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.req("IT-57")
async def test_sign_out_closes_the_sessions_websocket(signed_live: SignedLive) -> None:
    token = await signed_live.token("op.one")
    ws = await WS.open(signed_live.live.ws_url, token)
    await ws.send("s", SENSORS)
    await asyncio.sleep(0.2)
    assert (await _post(signed_live.live.url, token, "mutation{signOut}"))["data"]["signOut"] is True
    assert await _closed(ws) == 4401


@pytest.mark.req("IT-57")
async def test_revoking_a_scoped_token_closes_its_batch_events(signed_live: SignedLive) -> None:
    db = Database(signed_live.url)
    from demo.seed import seed_stations

    await seed_stations(db)
    await population.generate(db, population.Population(donors=20, units=60, pools=2, cases_per_lot=1,
                                                        cartons_per_case=1, units_per_carton=2))
    from sqlalchemy import select

    from records.plasma import Batch

    async with db.read() as s:
        batch = (await s.execute(select(Batch.batch_number).limit(1))).scalar_one()
    await db.dispose()
    async with httpx.AsyncClient(base_url=signed_live.live.url) as client:
        gql = GQL(client)
        scoped = await issue_token(gql, signed_live.signers, "reg.one", batchNumbers=[batch])
        ws = await WS.open(signed_live.live.ws_url, str(scoped.token))
        await ws.send("b", 'subscription($b:String!){batchEvents(batchNumber:$b){kind}}', {"b": batch})
        await asyncio.sleep(0.2)
        qa = await gql.sign_in("qa.sig")
        listing = await qa("{scopedTokens{id holder revokedAt}}")
        token_id = next(t["id"] for t in listing["data"]["scopedTokens"] if t["holder"] == "reg.one")
        body = await qa("mutation($id:ID!){revokeScopedToken(id:$id,reason:\"contract ended\"){revokedAt}}",
                        {"id": token_id})
        assert body["data"]["revokeScopedToken"]["revokedAt"], body
        assert await _closed(ws) == 4401


@pytest.mark.req("IT-57")
async def test_changed_roles_and_deactivation_close_the_accounts_websockets(signed_live: SignedLive) -> None:
    from tests.test_users import set_roles

    op = await WS.open(signed_live.live.ws_url, await signed_live.token("op.two"))
    await op.send("s", SENSORS)
    async with httpx.AsyncClient(base_url=signed_live.live.url) as client:
        env = (GQL(client), signed_live.signers, None)
        body = await set_roles(env, {"username": "op.two", "roles": ["operator", "production_supervisor"],
                                     "reason": "promotion"})
        assert "errors" not in body, body
        assert await _closed(op) == 4403
        again = await WS.open(signed_live.live.ws_url, await signed_live.token("op.two"))
        admin = await GQL(client).sign_in("adm.sig")
        body = await admin('mutation{deactivateUser(username:"op.two",reason:"left"){active}}')
        assert body["data"]["deactivateUser"]["active"] is False
        assert await _closed(again) == 4401


# --- across nodes: two API processes on one PostgreSQL and Redis ---------------------------------

@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.req("IT-57")
async def test_sign_out_on_one_node_closes_the_websocket_on_the_other(two_nodes: tuple[str, str]) -> None:
    node_a, node_b = two_nodes
    token = await token_at(node_a, "op.one")
    ws = await WS.open(node_b.replace("http", "ws") + "/graphql", token)
    await ws.send("s", SENSORS)
    await asyncio.sleep(0.5)
    assert (await _post(node_a, token, "mutation{signOut}"))["data"]["signOut"] is True
    assert await _closed(ws) == 4401


@pytest.mark.req("IT-57")
async def test_a_websocket_closes_when_its_token_expires(signed_live: SignedLive) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from records.audit import AuditContext
    from records.base import utcnow
    from records.identity import ApiToken, User
    from resolvers.identity import token_digest

    db = Database(signed_live.url)
    async with db.write(AuditContext("test", reason="a token about to expire")) as s:
        uid = (await s.execute(select(User.id).where(User.username == "op.one"))).scalar_one()
        s.add(ApiToken(token_hash=token_digest("short-lived"), user_id=uid, expires_at=utcnow() + timedelta(seconds=1)))
    await db.dispose()
    ws = await WS.open(signed_live.live.ws_url, "short-lived")
    await ws.send("s", SENSORS)
    assert await _closed(ws) == 4401
