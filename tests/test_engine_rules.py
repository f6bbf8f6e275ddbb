"""One engine for both transports (api/engine): the same request gets the same errors, with the same
codes and messages, over HTTP and over graphql-transport-ws, and the fast path (hot reads) and the live
path (hot subscriptions) are held to the same limits as the executor they stand in for.

The server runs with a depth limit of 2 and an alias limit of 200 (the defaults are 12 and 100), so
a limit the settings change is seen to change on every transport and path alike.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from graphql import get_operation_ast, parse

from api.engine import fast_path
from api.engine.documents import Prepared
from api.engine.execution import Engine
from api.engine.live_fast import LivePlanner
from api.seed import seed_roles
from records.db import Database
from records.migrate import upgrade
from tests.conftest import LiveServer, add_users, make_settings, start_live_server, token_at

PROTO = "graphql-transport-ws"
RESP = "application/graphql-response+json"
USERS = ("op.one", "qa.one")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A uvicorn server (real WebSockets) with tighter and looser limits than the defaults; tokens by user."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('engine') / 'live.db'}"
    upgrade(url)

    async def seed() -> None:
        db = Database(url)
        await seed_roles(db)
        await add_users(db)
        await db.dispose()

    asyncio.run(seed())
    live = start_live_server(make_settings(url, max_query_depth=2, max_query_aliases=200))

    async def sign_in() -> dict[str, str]:
        return {user: await token_at(live.url, user) for user in USERS}

    try:
        yield live, asyncio.run(sign_in())
    finally:
        live.server.should_exit = True
        live.thread.join(10)


async def over_http(live: LiveServer, token: str, query: str, variables: dict[str, Any] | None = None,
                    operation_name: str | None = None) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=live.url) as c:
        body = {"query": query, "variables": variables or {}, "operationName": operation_name}
        r = await c.post("/graphql", json=body, headers={"accept": RESP, "authorization": f"Bearer {token}"})
    return r.status_code, r.json()


async def over_ws(live: LiveServer, token: str, query: str, variables: dict[str, Any] | None = None,
                  operation_name: str | None = None) -> tuple[str, dict[str, Any]]:
    """The first answer to one operation on a fresh connection: ("error", {"errors"}) for a refusal,
    ("next", payload) for a result; a result is followed by `complete`."""
    async with websockets.connect(live.ws_url, subprotocols=[PROTO]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": query, "variables": variables or {}, "operationName": operation_name}}))
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert msg["id"] == "1" and msg["type"] in ("error", "next"), msg
        if msg["type"] == "error":
            return "error", {"errors": msg["payload"]}
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"id": "1", "type": "complete"}
        return "next", dict(msg["payload"])


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


TWENTY_TRACES = "{" + " ".join(f'a{i}: traceForward(code: "D1") {{ truncated }}' for i in range(20)) + "}"

# A request refused before it runs: (query, variables, code, the start of the message).
REFUSED: dict[str, tuple[str, dict[str, Any] | None, str, str]] = {
    "depth limit": ("{ plants { rooms { id } } }", None, "VALIDATION_FAILED",
                    "operation anonymous is more than 2 levels deep; the limit is 2"),
    "cost limit": (TWENTY_TRACES, None, "VALIDATION_FAILED", "operation anonymous would cost about 200020 "
                   "(fields, heavy resolvers weighted); the limit is 100000"),
    "unknown field": ("{ viewer { nope } }", None, "VALIDATION_FAILED", "Cannot query field 'nope' on type 'Viewer'."),
    "bad variable": ("query($c: String!) { equipment(code: $c) { code } }", {"c": 5}, "VALIDATION_FAILED",
                     "Variable '$c' has invalid value: String cannot represent a non string value: 5"),
    "variable nested too deep": ("query($v: JSON) { __typename }", {"v": _nested(70)}, "VALIDATION_FAILED",
                                 "variable $v is nested 70 levels deep; the limit is 64"),
    "signature left out": ('mutation { setSetting(input: {key: "k", value: 1, reason: "r"}) }', None,
                           "SIGNATURE_REQUIRED", "Argument 'Mutation.setSetting(signature:)' of type 'SignatureInput!' "
                           "is required"),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_a_refused_request_gets_the_same_errors_on_both_transports(server: Any, case: str) -> None:
    live, tokens = server
    query, variables, code, message = REFUSED[case]
    status, http = await over_http(live, tokens["op.one"], query, variables)
    kind, ws = await over_ws(live, tokens["op.one"], query, variables)
    assert status == 400 and kind == "error"
    assert http == ws, (http, ws)
    [error] = http["errors"]
    assert error["extensions"]["code"] == code and error["message"].startswith(message), error


async def test_an_operation_name_that_names_no_operation_is_refused_alike(server: Any) -> None:
    live, tokens = server
    query = "query A { __typename } query B { __typename }"
    status, http = await over_http(live, tokens["op.one"], query, None, "C")
    assert status == 400 and await over_ws(live, tokens["op.one"], query, None, "C") == ("error", http)
    assert http == {"errors": [{"message": "could not pick an operation (check operationName)",
                                "extensions": {"code": "VALIDATION_FAILED"}}]}
    assert await over_ws(live, tokens["op.one"], query, None, "B") == ("next", {"data": {"__typename": "Query"}})


async def test_an_unexpected_exception_is_masked_the_same_on_both_transports(
        server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvers.plant

    async def broken(*_: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(resolvers.plant, "read_plants", broken)
    live, tokens = server
    monkeypatch.setattr(_engine(live), "catalog", None)  # the normal path (tests/test_compiled.py: the compiled one)
    status, http = await over_http(live, tokens["op.one"], "{ plants { id } }")
    kind, ws = await over_ws(live, tokens["op.one"], "{ plants { id } }")
    assert (status, kind) == (200, "next")
    assert http == ws == {"data": {"plants": None}, "errors": [{
        "message": "internal server error", "locations": [{"line": 1, "column": 3}], "path": ["plants"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}


def _engine(live: LiveServer) -> Engine:
    engine = live.app.router.routes[0].app.http.engine
    assert isinstance(engine, Engine)
    return engine


def _fast_path_takes(engine: Engine, query: str) -> bool:
    doc = parse(query)
    op = get_operation_ast(doc)
    assert op is not None
    return fast_path.plan(engine.schema, doc, op, engine.fast_fields) is not None


def _live_path_takes(engine: Engine, query: str) -> bool:
    doc = parse(query)
    op = get_operation_ast(doc)
    assert op is not None
    return LivePlanner(engine.schema, engine.live.registry).plan(Prepared(query, None, doc, op)) is not None


# A hot read the fast path projects, a hot subscription the live path projects, each with a twin
# (a directive below the root) that graphql-core's executor answers instead.
FAST = '{ traceBackward(code: "X") { nodes { id } } }'
FAST_TWIN = '{ traceBackward(code: "X") { nodes { id @include(if: true) } } }'
LIVE = 'subscription { plantState(plantId: "1") { sensors { tag } } }'
LIVE_TWIN = 'subscription { plantState(plantId: "1") { sensors { tag @include(if: true) } } }'


def _aliased(path: str, count: int) -> str:
    """A hot read (fast) or subscription (live) selecting one field under `count` aliases."""
    if path == "fast":
        return '{ traceBackward(code: "X") { ' + " ".join(f"a{i}: truncated" for i in range(count)) + " } }"
    return 'subscription { plantState(plantId: "1") { ' + " ".join(f"a{i}: snapshot" for i in range(count)) + " } }"


async def test_the_fast_and_live_paths_are_held_to_the_limits_of_the_executor(server: Any) -> None:
    live, tokens = server
    engine = _engine(live)
    assert _fast_path_takes(engine, FAST) and not _fast_path_takes(engine, FAST_TWIN)
    assert _live_path_takes(engine, LIVE) and not _live_path_takes(engine, LIVE_TWIN)
    for query, twin in ((FAST, FAST_TWIN), (LIVE, LIVE_TWIN)):  # three levels deep; the limit is 2
        status, http = await over_http(live, tokens["qa.one"], query)  # HTTP validates before it refuses a subscription
        answers = [await over_ws(live, tokens["qa.one"], q) for q in (query, twin)]
        assert status == 400 and answers == [("error", http)] * 2, (http, answers)
        assert [e["message"] for e in http["errors"]] == [
            "operation anonymous is more than 2 levels deep; the limit is 2"]


async def test_an_unexpected_exception_on_the_fast_path_is_masked_as_the_executor_masks_it(
        server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvers.trace
    import resolvers.trace_sql

    async def broken(*_: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    async def declined(*_: Any) -> None:
        return None  # no JSON from the database: the fast path runs the resolver

    monkeypatch.setattr(resolvers.trace_sql, "document", declined)
    monkeypatch.setattr(resolvers.trace, "trace_backward", broken)
    live, tokens = server
    plain = '{ traceBackward(code: "X") { truncated } }'
    twin = '{ traceBackward(code: "X") { truncated @include(if: true) } }'
    assert _fast_path_takes(_engine(live), plain) and not _fast_path_takes(_engine(live), twin)
    masked = {"data": {"traceBackward": None}, "errors": [{"message": "internal server error",
                                                           "locations": [{"line": 1, "column": 3}],
                                        "path": ["traceBackward"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    for query in (plain, twin):
        assert await over_http(live, tokens["qa.one"], query) == (200, masked)
        assert await over_ws(live, tokens["qa.one"], query) == ("next", masked)


async def test_a_limit_the_settings_raise_is_raised_on_every_path(server: Any) -> None:
    live, tokens = server
    engine = _engine(live)
    assert _fast_path_takes(engine, _aliased("fast", 150)) and _live_path_takes(engine, _aliased("live", 150))
    # 150 aliases: over the default limit (100), within this server's (200): both paths run them.
    status, fast = await over_http(live, tokens["qa.one"], _aliased("fast", 150))
    assert status == 200 and fast["errors"][0]["extensions"]["code"] == "NOT_FOUND", fast
    assert await over_ws(live, tokens["qa.one"], _aliased("fast", 150)) == ("next", fast)
    kind, planted = await over_ws(live, tokens["op.one"], _aliased("live", 150))
    assert kind == "next" and planted["errors"][0]["extensions"]["code"] == "NOT_FOUND", planted
    # 201: refused alike, on both transports.
    for path in ("fast", "live"):
        _, http = await over_http(live, tokens["qa.one"], _aliased(path, 201))
        assert await over_ws(live, tokens["qa.one"], _aliased(path, 201)) == ("error", http)
        assert [e["message"] for e in http["errors"]] == ["the document uses 201 aliases; the limit is 200"]


async def test_a_failing_stream_ends_the_same_on_the_live_path_and_the_executor(
        server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvers.live

    async def broken(*_: Any) -> Any:
        raise RuntimeError("secret detail of a bug")
        yield  # an async generator, as the real one

    def broken_listener(*_: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(resolvers.live, "readings", broken)
    monkeypatch.setattr(resolvers.live, "listen_readings", broken_listener)  # the pushed path's stream
    live, tokens = server
    plain = 'subscription { sensorUpdates(tags: ["T"]) { tag } }'
    twin = 'subscription { sensorUpdates(tags: ["T"]) { tag @include(if: true) } }'
    engine = _engine(live)
    assert _live_path_takes(engine, plain) and not _live_path_takes(engine, twin)
    masked = {"data": None, "errors": [{"message": "internal server error",
                                        "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    assert await over_ws(live, tokens["op.one"], plain) == ("next", masked)
    assert await over_ws(live, tokens["op.one"], twin) == ("next", masked)
    # A variable that does not coerce is refused before either path starts, with its code.
    bad = 'subscription($t: [String!]) { sensorUpdates(tags: $t) { tag } }'
    kind, refused = await over_ws(live, tokens["op.one"], bad, {"t": 5})
    assert kind == "error" and refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", refused
