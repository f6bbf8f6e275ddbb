"""/metrics in the Prometheus text format.

Counters are totals since start (Prometheus derives per-second rates with rate()); gauges are read
when scraped. Request latency is a histogram per route, recorded by a small ASGI middleware.
No GMP data is exposed, but the numbers tell an outsider about the plant's activity: the path asks
for a bearer token of its own (PLASMATWIN_METRICS_TOKEN) when one is set, and otherwise answers
clients on this host's loopback only.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.ingest import error_response
from policies.errors import ErrorCode
from records.alarms import UNCLEARED, Alarm, AlarmState, Priority
from resolvers.context import Services
from subscriptions.redis_bus import RedisBus

UNACKNOWLEDGED = (AlarmState.ACTIVE, AlarmState.CLEARED)
PRIORITIES = tuple(Priority)


class Snapshot(Collector):
    """Values gathered by the (async) handler just before the (sync) exposition."""

    def __init__(self) -> None:
        self.counters: dict[str, tuple[str, float]] = {}
        self.gauges: dict[str, tuple[str, float]] = {}
        self.labelled: dict[str, tuple[str, str, dict[str, float]]] = {}

    def collect(self) -> Iterator[Any]:
        for name, (doc, value) in self.counters.items():
            yield CounterMetricFamily(name, doc, value=value)
        for name, (doc, value) in self.gauges.items():
            yield GaugeMetricFamily(name, doc, value=value)
        for name, (doc, label, values) in self.labelled.items():
            g = GaugeMetricFamily(name, doc, labels=[label])
            for k, v in values.items():
                g.add_metric([k], v)
            yield g


class Metrics:
    def __init__(self, svc: Services, bridge_status: Callable[[], dict[str, Any] | None]) -> None:
        self.svc = svc
        self.bridge_status = bridge_status
        self.registry = CollectorRegistry(auto_describe=True)
        self.snapshot = Snapshot()
        self.registry.register(self.snapshot)
        self.latency = Histogram("plasmatwin_http_request_seconds", "Request latency by route and method",
                                 ["route", "method"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
        self.recorder: Any = None

    async def gather(self) -> None:
        svc, snap = self.svc, self.snapshot
        snap.counters = {
            "plasmatwin_readings_ingested": ("Readings taken in by the twin", svc.twin.ingested),
            "plasmatwin_readings_duplicate": ("Readings dropped as replays of one already taken", svc.twin.duplicates),
            "plasmatwin_bus_events_coalesced": ("State events a slow subscriber lost to newer ones",
                                                svc.bus.dropped_total),
            "plasmatwin_alarms_raised": ("Alarms raised by this process", svc.alarms.raised),
        }
        snap.gauges = {
            "plasmatwin_subscribers": ("Open subscriptions on this node", svc.bus.subscriber_count()),
            "plasmatwin_worker_pid": ("Process id of the process that answered (serve --workers N)", os.getpid()),
            "plasmatwin_alarm_rules_here": ("1 in the one process that evaluates the alarm rules",
                                            float(svc.twin.watch is not None)),
        }
        if self.recorder is not None:
            snap.counters["plasmatwin_readings_stored"] = ("Readings written to storage", self.recorder.stored)
            snap.counters["plasmatwin_readings_thinned"] = (
                "Readings not stored under the setting readings.storeEverySeconds (live and alarms only)",
                self.recorder.thinned)
            snap.gauges["plasmatwin_readings_pending"] = (
                "Readings waiting to be stored", self.recorder.queue.qsize() + len(self.recorder.pending))
        depths = {name: float(d) for name, d in svc.bridges.items()}
        bridge = self.bridge_status()
        if bridge is not None:
            depths[str(bridge.get("name") or "in-process")] = float(bridge.get("bufferDepth") or 0)
        snap.labelled = {"plasmatwin_bridge_buffer_depth": (
            "Readings waiting in each device bridge's buffer, as last reported", "bridge", depths)}
        if isinstance(svc.bus, RedisBus):
            snap.counters["plasmatwin_bus_redis_sent"] = ("Events sent to other nodes", svc.bus.sent)
            snap.counters["plasmatwin_bus_redis_received"] = ("Events received from other nodes", svc.bus.received)
            snap.gauges["plasmatwin_bus_redis_connected"] = ("1 when Redis is reachable", float(svc.bus.connected))
        async with svc.db.read() as s:
            snap.gauges["plasmatwin_database_bytes"] = ("Size of the database (SQLite: its files)",
                                                        float(await database_bytes(s)))
            counts = (await s.execute(select(Alarm.priority, Alarm.state, func.count()).where(
                Alarm.state != AlarmState.CLOSED).group_by(Alarm.priority, Alarm.state))).all()
        active = {str(p): float(sum(n for q, st, n in counts if q == p and st in UNCLEARED)) for p in PRIORITIES}
        # Standing for the operator: everything not yet acknowledged, returned to normal or not (ISA-18.2).
        unacked = {str(p): float(sum(n for q, st, n in counts if q == p and st in UNACKNOWLEDGED))
                   for p in PRIORITIES}
        snap.labelled["plasmatwin_alarms_active"] = ("Alarms in alarm (ACTIVE or ACKED) by priority", "priority",
                                                     active)
        snap.labelled["plasmatwin_alarms_unacknowledged"] = (
            "Alarms waiting for an acknowledgement (ACTIVE, or CLEARED unacknowledged) by priority", "priority",
            unacked)

    async def endpoint(self, _: Request) -> Response:
        await self.gather()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def guarded(self, token: str | None) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint behind `Authorization: Bearer <token>` if a token is set, else for loopback clients."""

        async def endpoint(request: Request) -> Response:
            refusal = _refusal(request, token)
            return refusal if refusal is not None else await self.endpoint(request)

        return endpoint


def _refusal(request: Request, token: str | None) -> Response | None:
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        response = error_response(ErrorCode.UNAUTHENTICATED, "/metrics needs its bearer token", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if _loopback(request.client.host if request.client else None):
        return None
    return error_response(ErrorCode.FORBIDDEN, "/metrics answers this host only unless PLASMATWIN_METRICS_TOKEN "
                                               "is set", 403)


def _loopback(host: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return False  # no address, or a name such as "testclient": not known to be this host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class RequestTimer:
    """ASGI middleware: request latency per route into the histogram."""

    ROUTES = frozenset({"/graphql", "/ingest", "/health", "/metrics"})

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope["path"] if scope["path"] in self.ROUTES else "other"
            self.histogram.labels(route, scope["method"]).observe(time.perf_counter() - start)


async def database_bytes(s: Any) -> int:
    """The store's size on disk: PostgreSQL's own count, or SQLite's file with its write-ahead log."""
    conn = await s.connection()
    if conn.dialect.name == "postgresql":
        return int((await s.execute(text("SELECT pg_database_size(current_database())"))).scalar_one())
    pages = (await s.execute(text("PRAGMA page_count"))).scalar_one()
    size = (await s.execute(text("PRAGMA page_size"))).scalar_one()
    return int(pages) * int(size)
