"""The Starlette application: /graphql (HTTP and WebSocket), /health, the frontend at / and its schema explorer."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

import api
from api.access import admit
from api.auth import PrincipalCache, authenticate
from api.bridge import start_configured
from api.duty import Duty
from api.engine.execution import Engine
from api.engine.fast_path import FastField
from api.engine.persisted import PersistedQueries
from api.explorer import explorer_routes
from api.graphql_http import RETRY_AFTER, GraphQLHTTP, unavailable
from api.graphql_ws import LiveGraphQL
from api.ingest import error_response, ingest_endpoint
from api.metrics import Metrics, RequestTimer
from api.settings import Settings
from api.sockets import OpenSockets
from api.trace_sender import TraceSender
from device_bridge.runner import Bridge
from policies.errors import AppError, ErrorCode, is_outage
from policies.policy_set import PolicySet
from policies.signatures import TrustStore
from records.db import Database
from records.leader import Leadership
from resolvers import checkpoints
from resolvers.batch_events import BATCH_CODEC
from resolvers.checkpoints import Signer
from resolvers.context import Context, Services
from resolvers.identity import Lockout
from schema.limits import Limits
from schema.live import LIVE_FIELDS
from schema.root import build_schema
from schema.trace import FAST_FIELDS
from subscriptions.bus import Bus
from subscriptions.redis_bus import RedisBus
from subscriptions.topics import BATCH_TOPIC, CONFIG_TOPIC, LIVE_TOPICS, PHASE_TOPIC, SENSOR_TOPIC, SESSION_TOPIC
from twin.alarm_service import AlarmService
from twin.codec import CODECS
from twin.recorder import Recorder
from twin.state import PlantState, Reading

# /health waits this long for the database's answer to SELECT 1 before reporting it down.
HEALTH_TIMEOUT = 2.0
DEMO_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

log = logging.getLogger("plasmatwin.api")

# Something run beside the requests that the product does not know (the demo's simulated plant),
# given the services: entered after the core's own parts, left before them. A bridge it yields is
# the one /metrics reports when no PLASMATWIN_BRIDGE_CONFIG bridge runs.
Extension = Callable[[Services], AbstractAsyncContextManager[Bridge | None]]


def trust_store(settings: Settings) -> TrustStore:
    def present(p: Path | None) -> Path | None:
        return p if p is not None and p.exists() else None
    return TrustStore.from_files(present(settings.trust_anchors), settings.crl_files,
                                 present(settings.third_party_anchors))


def build_services(settings: Settings, db: Database | None = None) -> Services:
    # Several API nodes share live events through Redis; one node needs no server.
    codecs = {**CODECS, BATCH_TOPIC: BATCH_CODEC}
    bus = RedisBus(settings.redis_url, LIVE_TOPICS, codecs) if settings.redis_url else Bus()
    database = db or Database(settings.database_url)
    return Services(
        db=database,
        policy=PolicySet.load(),
        bus=bus,
        twin=PlantState(bus),
        alarms=AlarmService(database, bus),
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        lockout=Lockout(settings.lockout_attempts, settings.lockout_seconds),
        trust=trust_store(settings),
        signature_window=settings.signature_window_seconds,
        reauthentication=settings.signing_reauthentication,
        plant_state_interval=settings.plant_state_interval_ms / 1000,
        org_key=settings.org_key.read_bytes() if settings.org_key else None,
        org_cert=settings.org_cert.read_bytes() if settings.org_cert else None,
        checkpoints=Signer(settings.org_key.read_bytes(), settings.org_cert.read_bytes(), settings.checkpoint_file())
        if settings.org_key and settings.org_cert else None,
    )


def _client(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None


class GraphQLEndpoint:
    """One path, two transports: HTTP requests to the HTTP view, WebSockets to Strawberry's."""

    def __init__(self, http: GraphQLHTTP, ws: LiveGraphQL) -> None:
        self.http = http
        self.ws = ws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.ws(scope, receive, send)
            return
        response = await self.http(Request(scope, receive))
        await response(scope, receive, send)


def create_app(settings: Settings, services: Services | None = None, on_startup: list[Any] | None = None, *,
               extra_routes: Sequence[BaseRoute] = (), extensions: Sequence[Extension] = ()) -> Starlette:
    """`extra_routes` come before the product's own /demo and frontend routes; `extensions` run in the
    lifespan. `plasmatwin demo` passes its plant and endpoints here (demo/live.py)."""
    svc = services or build_services(settings)
    sockets = OpenSockets()
    principals = PrincipalCache(settings.token_cache_seconds, settings.token_cache_size, svc.bus)
    endpoint = _graphql_endpoint(svc, settings, sockets, principals)
    background = _Background(svc, settings, sockets, on_startup or [], extensions, principals)

    async def health(_: Request) -> Response:
        # What runs, for maintenance (GP-09): the version, the store's schema revision, the policy files in force.
        body = {"status": "ok", "version": api.__version__, "database": svc.db.engine.dialect.name,
                "databaseStatus": "ok", "policyFingerprint": svc.policy.fingerprint}
        revision = await _schema_revision(svc.db)
        if revision is None:
            return JSONResponse({**body, "status": "unavailable", "databaseStatus": "down"}, 503, headers=RETRY_AFTER)
        return JSONResponse({**body, "schemaRevision": revision})

    sdl: list[str] = []

    async def schema_file(request: Request) -> Response:
        """The schema as SDL for signed-in developers' tools (codegen, editors); the same as introspection."""
        try:
            principal = await authenticate(svc.db, request.headers.get("authorization"), _client(request), principals)
        except AppError as e:
            return error_response(e.code, e.message, 401)
        if principal is None:
            return error_response(ErrorCode.UNAUTHENTICATED, "sign in first: send Authorization: Bearer <token>", 401)
        if not sdl:
            sdl.append(build_schema().as_str() + "\n")
        return Response(sdl[0], media_type="text/plain; charset=utf-8",
                        headers={"content-disposition": 'inline; filename="schema.graphql"'})

    routes: list[Any] = [
        Route("/graphql", endpoint, methods=None),
        Route("/schema.graphql", schema_file),
        WebSocketRoute("/graphql", endpoint),
        Route("/health", health),
        Route("/ingest", ingest_endpoint(svc, settings.max_body_bytes, principals), methods=["POST"]),
        Route("/metrics", background.metrics.guarded(settings.metrics_token)),
        *extra_routes,
        *_no_demo_and_frontend_routes(settings),
    ]
    # Database errors are answered where they are caught (no re-raise); anything else reaches
    # Starlette's outermost handler, which answers with ours and re-raises for the server's log.
    handlers: dict[Any, Any] = {SQLAlchemyError: _database_error, OSError: _database_error, Exception: _server_error}
    app = Starlette(routes=routes, lifespan=background.lifespan, exception_handlers=handlers,
                    middleware=[Middleware(RequestTimer, histogram=background.metrics.latency)])
    app.state.services = svc
    app.state.settings = settings
    return app


def _limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.max_query_depth, max_cost=settings.max_query_cost, max_length=settings.max_query_length,
        max_tokens=settings.max_query_tokens, max_fields=settings.max_query_fields,
        max_aliases=settings.max_query_aliases, max_root_fields=settings.max_query_root_fields,
        max_repeated_fields=settings.max_query_repeated_fields, max_fragments=settings.max_query_fragments,
        max_fragment_depth=settings.max_query_fragment_depth, max_variable_depth=settings.max_variable_depth)


def _graphql_endpoint(svc: Services, settings: Settings, sockets: OpenSockets,
                      principals: PrincipalCache) -> GraphQLEndpoint:
    """/graphql over HTTP and WebSocket: one schema, one engine (limits, rules, errors), one admission."""
    schema = build_schema(settings.max_query_depth, settings.max_query_cost)

    async def http_context(request: Request, raw_variables: dict[str, Any], doc: DocumentNode,
                           op: OperationDefinitionNode) -> Context:
        client = _client(request)
        principal = await authenticate(svc.db, request.headers.get("authorization"), client, principals)
        return await admit(svc, principal, client, doc, op, raw_variables)

    def ws_context(ws: WebSocket) -> Context:
        return Context(svc, None, _client(ws))

    async def ws_auth(header: Any, ctx: Context) -> Any:
        return await authenticate(svc.db, header, ctx.client, principals)

    async def ws_admit(base: Context, doc: DocumentNode, op: OperationDefinitionNode,
                       variables: dict[str, Any] | None) -> Context:
        return await admit(svc, base.principal, base.client, doc, op, variables, transport="websocket")

    engine = Engine(schema._schema, _limits(settings), executor_class=schema.execution_context_class,
                    fast_fields={name: FastField(*spec) for name, spec in FAST_FIELDS.items()}, live_fields=LIVE_FIELDS)
    persisted = None
    if settings.persisted_queries > 0:
        shared = svc.bus.redis if isinstance(svc.bus, RedisBus) else None  # one store for every node
        persisted = PersistedQueries(settings.persisted_queries, shared)
    http = GraphQLHTTP(engine, http_context, max_body=settings.max_body_bytes, persisted=persisted)
    ws = LiveGraphQL(schema, engine, base_context=ws_context, authenticate=ws_auth, admit=ws_admit, sockets=sockets,
                     allowed_origins=settings.allowed_origins, bus=svc.bus)
    return GraphQLEndpoint(http, ws)


def static_dir(settings: Settings) -> Path:
    return settings.static_dir or Path(__file__).resolve().parent / "static"


def _no_demo_and_frontend_routes(settings: Settings) -> list[Any]:
    # No demo endpoint answers, whatever the method (nor the frontend's files), unless an extra route
    # serves /demo first: the Mount of `plasmatwin demo`.
    routes: list[Any] = [Route("/demo/{rest:path}", _no_demo, methods=DEMO_METHODS)]
    static = static_dir(settings)
    routes += explorer_routes(static / "explorer.html")
    if (static / "index.html").exists():
        routes.append(Mount("/", StaticFiles(directory=static, html=True)))
    else:
        routes.append(Route("/", _no_frontend))
    return routes


class _Background:
    """What runs beside the requests, from the app's startup to its shutdown: the bus, the recorder,
    the alarm service, the extensions (the demo's plant) and the bridge of PLASMATWIN_BRIDGE_CONFIG.
    The metrics are made here because they report on these (the recorder's queue, a bridge's buffer)."""

    def __init__(self, svc: Services, settings: Settings, sockets: OpenSockets, on_startup: list[Any],
                 extensions: Sequence[Extension], principals: PrincipalCache) -> None:
        self.svc = svc
        self.settings = settings
        self.sockets = sockets
        self.principals = principals
        self.on_startup = on_startup
        self.extensions = extensions
        self.extension_bridges: list[Bridge] = []  # bridges the extensions run (the demo's)
        self.bridge: Bridge | None = None  # the in-process bridge of PLASMATWIN_BRIDGE_CONFIG
        self.metrics = Metrics(svc, self.bridge_status)
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    def bridge_status(self) -> dict[str, Any] | None:
        running = self.bridge or next(iter(self.extension_bridges), None)
        return running.status() if running is not None else None

    @asynccontextmanager
    async def lifespan(self, app_: Starlette) -> AsyncIterator[None]:
        """Started in order, stopped in reverse, also when a later step fails to start (a broken
        bridge file stops the start with everything before it closed, the database included)."""
        svc, settings = self.svc, self.settings
        async with AsyncExitStack() as stack:
            stack.push_async_callback(svc.db.dispose)
            # A process starting after a signed policy reload runs the approved version, not the files.
            await svc.sync_policy(every=0)
            if isinstance(svc.bus, RedisBus):
                await svc.bus.start()
                stack.push_async_callback(svc.bus.stop)
            stack.enter_context(svc.bus.listen(SENSOR_TOPIC, self._observe))  # other nodes' readings
            stack.enter_context(svc.bus.listen(SESSION_TOPIC, self.sockets.on_event))  # revocations
            stack.enter_context(self.principals.listening_to(svc.bus))  # verified tokens, until revoked
            recorder = Recorder(svc.db)
            await recorder.start()
            stack.push_async_callback(recorder.stop)
            svc.twin.store = recorder.record
            svc.twin.tags = frozenset(recorder.sensor_ids)
            svc.twin.backlog = recorder.backlog
            svc.twin.durable = recorder.durable
            # A running phase's parameters are stored reading by reading whatever the plant's thinning.
            recorder.keep_all = lambda tag: tag in svc.alarms.process.watched
            app_.state.recorder = recorder
            self.metrics.recorder = recorder
            await svc.alarms.start()
            stack.push_async_callback(svc.alarms.stop)
            if isinstance(svc.bus, RedisBus) and not svc.db.is_sqlite:
                # Processes sharing the bus (workers, nodes): the rules run in one, fed every node's readings.
                lead = Leadership(svc.db, "alarm-rules", self._lead, self._follow)
                await lead.start()
                stack.push_async_callback(lead.stop)
            else:
                svc.twin.watch = svc.alarms.feed
            stack.callback(self._detach_twin)
            # A layout imported on any node: its tags are taken and watched here too.
            stack.enter_context(svc.bus.listen(CONFIG_TOPIC, lambda _: self._spawn(reload_layout(svc, recorder))))
            # A phase started or completed on any node: its parameters are watched here, or no longer.
            stack.enter_context(svc.bus.listen(PHASE_TOPIC, svc.alarms.phases_changed))
            for extension in self.extensions:
                bridge = await stack.enter_async_context(extension(svc))
                if bridge is not None:
                    self.extension_bridges.append(bridge)
                    stack.callback(self.extension_bridges.remove, bridge)
            if settings.bridge_config is not None:
                self.bridge = await start_configured(svc, settings.bridge_config)
                stack.push_async_callback(self._stop_bridge)
            if svc.checkpoints is not None:
                signer = svc.checkpoints

                async def checkpoint() -> None:
                    await checkpoints.write(svc.db, signer, "scheduled", unless_unchanged=True)

                duty = Duty(svc.db, "audit-checkpoint", settings.audit_checkpoint_minutes * 60, checkpoint)
                await duty.start()
                stack.push_async_callback(duty.stop)
            if settings.trace_url:
                sender = TraceSender(svc, settings.trace_url, settings.trace_interval_seconds)
                await sender.start()
                stack.push_async_callback(sender.stop)
            for hook in self.on_startup:
                await hook()
            # What start-up loaded (schema, policies, plant, caches) lives as long as the process: kept out
            # of the collector's full passes, which otherwise stopped the event loop for 170-200 ms every
            # few seconds under live load (bench/ingest.py, gc callbacks), the live path's p99.
            gc.collect()
            gc.freeze()
            stack.callback(gc.unfreeze)  # a stopped app's objects are collectable again (tests start many)
            yield

    def _observe(self, r: Reading) -> None:
        # The process running the alarm rules sees every node's readings, not only those it ingested.
        if self.svc.twin.observe(r) and self.svc.twin.watch is not None:
            self.svc.twin.watch(r)

    async def _lead(self) -> None:
        await self.svc.alarms.take_over()
        self.svc.twin.watch = self.svc.alarms.feed

    def _follow(self) -> None:
        self.svc.twin.watch = None

    def _detach_twin(self) -> None:
        self.svc.twin.store = self.svc.twin.watch = None

    async def _stop_bridge(self) -> None:
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            await bridge.stop()


async def reload_layout(svc: Services, recorder: Recorder) -> None:
    """After a layout import (resolvers.layout): the new tags are stored and accepted, their limits watched."""
    try:
        await recorder.load_sensors()
        svc.twin.tags = frozenset(recorder.sensor_ids)
        await svc.alarms.load()
    except Exception:  # the next import or a restart loads it again; the request was already answered
        log.exception("reloading the plant layout failed")


async def _schema_revision(db: Database) -> str | None:
    """The store's Alembic revision; None when the database does not answer."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), db.engine.connect() as conn:
            return str((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none())
    except Exception as e:  # whatever the reason, the database is not serving this process
        log.warning("health: the database does not answer: %r", e)
        return None


async def _database_error(conn: HTTPConnection, exc: Exception) -> Response | None:
    if not is_outage(exc):
        log.error("unexpected database error on %s", conn.url.path, exc_info=exc)
    return await _server_error(conn, exc)


async def _server_error(conn: HTTPConnection, exc: Exception) -> Response | None:
    """Whatever escapes a route is answered in the API's error shape, never as plain text: 503
    UNAVAILABLE with Retry-After when the database is out of reach, 500 INTERNAL_SERVER_ERROR otherwise.
    A WebSocket (e.g. signing in on connection_init) is closed with 1013 (try again later) or 1011."""
    outage = is_outage(exc)
    if outage:
        log.warning("database unavailable on %s: %r", conn.url.path, exc)
    if isinstance(conn, WebSocket):
        with suppress(Exception):
            await conn.close(code=1013 if outage else 1011)
        return None
    if outage:
        return unavailable()
    return error_response(ErrorCode.INTERNAL_SERVER_ERROR, "internal server error", 500)


async def _no_demo(_: Request) -> Response:
    return error_response(ErrorCode.NOT_FOUND, "no demo endpoints here: only `plasmatwin demo` serves them", 404)


async def _no_frontend(_: Request) -> Response:
    return JSONResponse({
        "service": "PlasmaTwin",
        "graphql": "/graphql",
        "hint": "the browser UI is not built into this install; the GraphQL API is at /graphql",
    })
