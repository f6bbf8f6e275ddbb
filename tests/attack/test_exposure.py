"""Attack matrix, exposure: what the server hands out and how it fails (issue 9, findings 10 and 12).

Finding 10: the demo endpoints exist only under `plasmatwin demo`; /demo/key gives a signed-in
person their own key and nothing to a scoped token; /demo/simulate needs a control-room role and is
audited. Finding 12: a database that is down or cut answers a retryable UNAVAILABLE (HTTP 503 with
Retry-After, JSON in the GraphQL error shape; an error on the WebSocket), /health reports it, and
the server recovers when the database does. The outages are real: a PostgreSQL server stopped and
started again, a connection terminated in the middle of a write, an SQLite file that cannot open.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
import websockets
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.routing import Mount
from websockets.exceptions import ConnectionClosed

from api import cli
from api.app import build_services, create_app
from api.seed import seed_roles
from demo.live import demo_app
from records.audit import PG_AUDIT_LOCK, AuditEvent, verify_chain
from records.db import Database
from records.identity import ApiToken
from records.migrate import upgrade
from tests import services
from tests.conftest import GQL, PASSWORD, _unavailable, add_users, make_settings, start_live_server, token_at
from tests.signing_env import Signers, add_signers, issue_token, make_signers

SIGN_IN = "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}"
VIEWER = "{viewer{username}}"


def _client(app: Starlette) -> httpx.AsyncClient:
    # raise_app_exceptions=False: an unexpected exception must still reach the client as JSON.
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _events(db: Database, action: str) -> list[AuditEvent]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action)
                                     .order_by(AuditEvent.id))).scalars())


async def _count(db: Database, model: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def _chain_ok(db: Database) -> bool:
    async with db.read() as s:
        return (await verify_chain(s)).ok


def _code(r: httpx.Response) -> str:
    return str(r.json()["errors"][0]["extensions"]["code"])


# --- Finding 10: demo endpoints --------------------------------------------------------------


@pytest_asyncio.fixture
async def demo(sqlite_db: Database, tmp_path: Path, pki_dir: Path) -> AsyncIterator[tuple[GQL, Signers, Database,
                                                                                            Starlette, Path]]:
    """A `plasmatwin demo` app: the demo's wiring, a data dir whose demo-users.json holds every signer's key."""
    signers = make_signers(pki_dir, tmp_path / "crl.pem")
    await add_signers(sqlite_db, signers, PASSWORD)
    await add_users(sqlite_db)
    data = tmp_path / "demo"
    (data / "keys").mkdir(parents=True)
    entries = []
    for user, k in signers.keys.items():
        (data / "keys" / f"{user}.key.pem").write_bytes(k.key_pem)
        (data / "keys" / f"{user}.cert.pem").write_bytes(k.cert_pem)
        entries.append({"username": user, "algorithm": k.algorithm, "privateKey": f"keys/{user}.key.pem",
                        "certificate": f"keys/{user}.cert.pem"})
    (data / "demo-users.json").write_text(json.dumps(entries))
    settings = replace(make_settings(sqlite_db.url), data_dir=data, **signers.trust)
    app = demo_app(settings, data, build_services(settings, sqlite_db))
    async with _client(app) as client:
        yield GQL(client), signers, sqlite_db, app, data


async def test_serve_has_no_demo_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app `plasmatwin serve` runs (captured from the command itself) answers 404 on every demo
    path, signed in or not, even with a data directory that holds demo keys."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await seed_roles(db)
    await add_users(db)
    await db.dispose()
    (tmp_path / "demo-users.json").write_text(json.dumps([{"username": "op.one", "algorithm": "ES256",
                                                           "privateKey": "k.pem", "certificate": "c.pem"}]))
    (tmp_path / "k.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    monkeypatch.setenv("PLASMATWIN_DATABASE_URL", url)
    monkeypatch.setenv("PLASMATWIN_DATA_DIR", str(tmp_path))
    served: list[Starlette] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    assert cli.cmd_serve(argparse.Namespace()) == 0
    app = served[0]
    assert not [r for r in app.routes if isinstance(r, Mount) and r.path == "/demo"]  # the demo's routes
    try:
        async with _client(app) as client:
            token = (await GQL(client).sign_in("op.one")).token
            for headers in ({}, {"authorization": f"Bearer {token}"}):
                for r in (await client.get("/demo/key", headers=headers),
                          await client.get("/demo/key?user=op.one", headers=headers),
                          await client.post("/demo/simulate", headers=headers, json={"tag": "CS1-TT-101"})):
                    assert r.status_code == 404 and _code(r) == "NOT_FOUND", r.text
    finally:
        await app.state.services.db.dispose()


async def test_demo_key_is_only_the_callers_own(demo: Any) -> None:
    gql, _, db, _, data = demo
    op = await gql.sign_in("op.one")
    auth = {"authorization": f"Bearer {op.token}"}
    own = await gql.client.get("/demo/key", headers=auth)
    assert own.status_code == 200 and own.json()["username"] == "op.one"
    assert own.json()["privateKey"] == (data / "keys" / "op.one.key.pem").read_text()
    assert (await gql.client.get("/demo/key?user=op.one", headers=auth)).status_code == 200
    for query in ("?user=qa.sig", "?username=qp.sig", "?user=op.one&user=adm.sig"):
        r = await gql.client.get(f"/demo/key{query}", headers=auth)
        assert r.status_code == 403 and _code(r) == "FORBIDDEN", query
        assert "PRIVATE KEY" not in r.text
    assert (await gql.client.get("/demo/key?user=qa.sig")).status_code == 401
    denied = await _events(db, "ACCESS_DENIED")
    assert [(e.actor, e.entity, e.changes["endpoint"]) for e in denied] == [("op.one", "demo", "/demo/key")] * 3


async def test_scoped_tokens_get_no_key_and_cannot_simulate(demo: Any) -> None:
    gql, signers, db, _, _ = demo
    # A station's own session would get its key; a token issued to it (read-only or not) gets nothing.
    for read_only in (True, False):
        scoped = await issue_token(gql, signers, "st.sig", readOnly=read_only, stations=["ST01"])
        auth = {"authorization": f"Bearer {scoped.token}"}
        key = await gql.client.get("/demo/key", headers=auth)
        assert key.status_code == 403 and _code(key) == "FORBIDDEN" and "PRIVATE KEY" not in key.text
        sim = await gql.client.post("/demo/simulate", headers=auth, json={"tag": "CS1-TT-101"})
        assert sim.status_code == 403 and _code(sim) == "FORBIDDEN"
    denied = [e for e in await _events(db, "ACCESS_DENIED") if e.entity == "demo"]
    assert [(e.actor, e.changes["endpoint"]) for e in denied] == [
        ("st.sig", "/demo/key"), ("st.sig", "/demo/simulate")] * 2
    assert await _events(db, "DEMO_SIMULATION") == []


async def test_roles_without_control_room_duties_cannot_simulate(demo: Any) -> None:
    gql, _, db, _, _ = demo
    for user in ("reg.one", "qa.sig", "adm.sig", "audit.one", "st.sig"):
        me = await gql.sign_in(user)
        r = await gql.client.post("/demo/simulate", headers={"authorization": f"Bearer {me.token}"},
                                  json={"tag": "CS1-TT-101", "delta": 40, "seconds": 60})
        # A partner's or regulator's account is refused as out of its scope, the others for their roles.
        assert r.status_code == 403 and _code(r) in ("FORBIDDEN", "OUT_OF_SCOPE"), user
    assert (await gql.client.post("/demo/simulate", json={"tag": "CS1-TT-101"})).status_code == 401
    denied = [e for e in await _events(db, "ACCESS_DENIED") if e.changes.get("object") == "demo:simulate"]
    assert [e.actor for e in denied] == ["reg.one", "qa.sig", "adm.sig", "audit.one", "st.sig"]
    assert await _events(db, "DEMO_SIMULATION") == []


async def test_simulate_is_audited(demo: Any) -> None:
    gql, _, db, app, _ = demo
    async with app.router.lifespan_context(app):  # the demo's simulator and bridge, for real
        sup = await gql.sign_in("sup.rsa")
        auth = {"authorization": f"Bearer {sup.token}"}
        bad = await gql.client.post("/demo/simulate", headers=auth, json={"tag": "NOPE"})
        assert bad.status_code == 400 and _code(bad) == "VALIDATION_FAILED"
        r = await gql.client.post("/demo/simulate", headers=auth, json={"tag": "CS1-TT-101", "delta": 25,
                                                                        "seconds": 5})
        assert r.status_code == 200 and r.json() == {"ok": True, "tag": "CS1-TT-101"}
        op = await gql.sign_in("op.one")
        r = await gql.client.post("/demo/simulate", headers={"authorization": f"Bearer {op.token}"},
                                  json={"tag": "CS1-TT-101", "fault": "clear"})
        assert r.status_code == 200
    events = await _events(db, "DEMO_SIMULATION")
    assert [(e.actor, e.entity, e.entity_id, e.reason) for e in events] == [
        ("sup.rsa", "sensor", "CS1-TT-101", "demo simulation"), ("op.one", "sensor", "CS1-TT-101", "demo simulation")]
    assert events[0].changes == {"tag": "CS1-TT-101", "fault": "excursion", "delta": 25.0, "seconds": 5.0}
    assert events[1].changes == {"tag": "CS1-TT-101", "fault": None}
    assert await _chain_ok(db)


# --- Finding 12: the database out of reach ---------------------------------------------------


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    body = r.json()  # JSON, never a plain-text error page
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]
    assert "sqlite" not in r.text.lower() and "asyncpg" not in r.text.lower() and "127.0.0.1" not in r.text


@dataclass
class OwnPostgres:
    """A PostgreSQL server of the test's own, really stopped and started again on the same port."""

    pg: services.Postgres

    def stop(self) -> None:
        r = self.pg._run(str(self.pg.bindir / "pg_ctl"), "-D", str(self.pg.datadir), "-m", "fast", "-w", "stop")
        assert r.returncode == 0, r.stderr

    def start(self) -> None:
        root = self.pg.datadir.parent
        opts = f"-p {self.pg.port} -k {root / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
        r = self.pg._run(str(self.pg.bindir / "pg_ctl"), "-D", str(self.pg.datadir), "-o", opts,
                         "-l", str(root / "log"), "-w", "start")
        assert r.returncode == 0, r.stderr
        services.wait_port(self.pg.port)


@pytest.fixture
def own_pg() -> Iterator[OwnPostgres]:
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        _unavailable(str(e))
    yield OwnPostgres(pg)
    pg.stop()


async def _seeded(url: str) -> Database:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await seed_roles(db)
    await add_users(db)
    return db


async def _pg_app(url: str) -> tuple[Starlette, Database]:
    settings = make_settings(url)
    app = create_app(settings, build_services(settings))
    return app, app.state.services.db


@pytest.mark.postgres
async def test_postgres_down_answers_503_and_recovers(own_pg: OwnPostgres) -> None:
    url = own_pg.pg.create_database("plasmatwin")
    seeded = await _seeded(url)
    await seeded.dispose()
    app, db = await _pg_app(url)
    try:
        async with _client(app) as client:
            gql = GQL(client)
            op = await gql.sign_in("op.one")
            bridge = await gql.sign_in("bridge.one")
            health = await client.get("/health")
            assert health.status_code == 200 and health.json() == {
                "status": "ok", "version": health.json()["version"], "database": "postgresql", "databaseStatus": "ok",
                "policyFingerprint": health.json()["policyFingerprint"],
                "schemaRevision": health.json()["schemaRevision"]}
            tokens_before = await _count(db, ApiToken)
            events_before = await _count(db, AuditEvent)

            own_pg.stop()
            # Signing in (execution) and a signed-in request (authentication, before execution), in both media.
            for accept in ("application/graphql-response+json", "application/json"):
                _assert_unavailable(await gql.post(SIGN_IN, {"u": "qa.one", "p": PASSWORD}, accept=accept))
                _assert_unavailable(await op.post(VIEWER, accept=accept))
            _assert_unavailable(await client.get("/graphql", params={"query": VIEWER},
                                                 headers={"authorization": f"Bearer {op.token}"}))
            # Outside GraphQL too (the application's exception handler).
            _assert_unavailable(await client.post("/ingest", json={"readings": []},
                                                  headers={"authorization": f"Bearer {bridge.token}"}))
            down = await client.get("/health")
            assert down.status_code == 503 and int(down.headers["retry-after"]) > 0
            assert down.json() | {"version": None, "policyFingerprint": None} == {
                "status": "unavailable", "version": None, "database": "postgresql", "databaseStatus": "down",
                "policyFingerprint": None}

            own_pg.start()
            assert (await client.get("/health")).json()["databaseStatus"] == "ok"
            assert (await op(VIEWER))["data"]["viewer"] == {"username": "op.one"}
            # Nothing of the refused requests was written; the chain is whole.
            assert await _count(db, ApiToken) == tokens_before
            assert await _count(db, AuditEvent) == events_before
            assert await _chain_ok(db)
            assert (await gql.sign_in("qa.one")).token
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_connection_cut_in_the_middle_of_a_write(pg_url: str) -> None:
    """The app's connection is terminated while its sign-in transaction waits on the audit lock:
    503 UNAVAILABLE, no token and no event half-written, and the retry succeeds."""
    seeded = await _seeded(pg_url)
    await seeded.dispose()
    app, db = await _pg_app(pg_url)
    dsn = pg_url.replace("postgresql+asyncpg", "postgresql")
    other = await asyncpg.connect(dsn)
    try:
        async with _client(app) as client:
            gql = GQL(client)
            await gql.sign_in("op.one")  # the pool holds a live connection
            tokens_before = await _count(db, ApiToken)
            events_before = await _count(db, AuditEvent)
            await other.execute("SELECT pg_advisory_lock($1)", PG_AUDIT_LOCK)
            request = asyncio.create_task(gql.post(SIGN_IN, {"u": "qa.one", "p": PASSWORD}))
            pid = None
            for _ in range(200):
                pid = await other.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'"
                    " AND pid <> pg_backend_pid()")
                if pid:
                    break
                await asyncio.sleep(0.05)
            assert pid, "the sign-in never reached the audit lock"
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
            await other.execute("SELECT pg_advisory_unlock($1)", PG_AUDIT_LOCK)
            _assert_unavailable(await asyncio.wait_for(request, 10))
            assert await _count(db, ApiToken) == tokens_before
            assert await _count(db, AuditEvent) == events_before
            assert await _chain_ok(db)
            assert (await gql.sign_in("qa.one")).token  # the retry gets a fresh connection
            assert [e.actor for e in await _events(db, "SIGN_IN")] == ["op.one", "qa.one"]
    finally:
        await other.close()
        await db.dispose()


@pytest.mark.postgres
async def test_websocket_operation_gets_unavailable(own_pg: OwnPostgres) -> None:
    url = own_pg.pg.create_database("plasmatwin")
    seeded = await _seeded(url)
    await seeded.dispose()
    live = start_live_server(make_settings(url))
    try:
        token = await token_at(live.url, "op.one")
        # Not used before the outage, so no process has verified it yet (api.auth.PrincipalCache).
        unverified = await token_at(live.url, "op.one")
        async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
            own_pg.stop()
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "mutation{signOut}"}}))
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
            assert [e["extensions"]["code"] for e in errors] == ["UNAVAILABLE"], msg
            assert "127.0.0.1" not in json.dumps(msg)  # the driver's message (host, port) stays inside
            assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"id": "1", "type": "complete"}
            # Signing in on a new socket cannot reach the database either: closed 1013, try again later.
            async with websockets.connect(live.ws_url, subprotocols=["graphql-transport-ws"]) as other:  # type: ignore[list-item]
                await other.send(json.dumps({"type": "connection_init",
                                             "payload": {"authorization": f"Bearer {unverified}"}}))
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(other.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            own_pg.start()
            await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": VIEWER}}))
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert msg["type"] == "next" and msg["payload"]["data"]["viewer"] == {"username": "op.one"}, msg
    finally:
        live.server.should_exit = True
        live.thread.join(10)


async def test_sqlite_that_cannot_open_answers_503_then_recovers(tmp_path: Path) -> None:
    """The database file's directory is not there (a volume not mounted): every request is a retryable
    503 and /health says so; once the file is back the same app serves again."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'volume' / 'plasmatwin.db'}"
    settings = make_settings(url)
    app = create_app(settings, build_services(settings))
    db = app.state.services.db
    try:
        async with _client(app) as client:
            gql = GQL(client)
            _assert_unavailable(await gql.post(SIGN_IN, {"u": "op.one", "p": PASSWORD}))
            _assert_unavailable(await GQL(client, "some-token").post(VIEWER))
            down = await client.get("/health")
            assert down.status_code == 503 and down.json()["databaseStatus"] == "down"
            assert down.json()["database"] == "sqlite" and down.json()["status"] == "unavailable"

            (tmp_path / "volume").mkdir()
            seeded = await _seeded(url)
            await seeded.dispose()
            up = await client.get("/health")
            assert up.status_code == 200 and up.json()["databaseStatus"] == "ok"
            op = await gql.sign_in("op.one")
            assert (await op(VIEWER))["data"]["viewer"] == {"username": "op.one"}
            assert [e.actor for e in await _events(db, "SIGN_IN")] == ["op.one"]
            assert await _chain_ok(db)
    finally:
        await db.dispose()


async def test_unexpected_errors_answer_json_500(demo: Any) -> None:
    """Not an outage (a demo key file that is gone): JSON 500 INTERNAL_SERVER_ERROR, never plain text."""
    gql, _, _, _, data = demo
    op = await gql.sign_in("op.one")
    (data / "keys" / "op.one.key.pem").unlink()
    r = await gql.client.get("/demo/key", headers={"authorization": f"Bearer {op.token}"})
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    assert _code(r) == "INTERNAL_SERVER_ERROR" and "op.one.key.pem" not in r.text
