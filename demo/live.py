"""The demo's live plant in one process: the simulator serves every demo tag over OPC UA on 127.0.0.1,
except the receipt scale's weight, which an MT-SICS scale answers on a serial port (a pseudo-terminal,
demo/scale.py). The device bridge reads both and hands readings to the core in-process (the same path
a separate bridge takes over HTTP, store-and-forward buffer included).

The product app takes all of it from outside (`demo_app`): the plant as a lifespan extension, the
endpoints as one Mount at /demo. Demo-only endpoints (`plasmatwin serve` answers 404): /demo/key
returns the signed-in user's own demo key for browser signing, and /demo/simulate injects a fault or
an excursion into the simulator for a role allowed `demo:simulate` (policies/policy.csv), audited.
Neither serves a scoped token (a partner's or regulator's); every refusal is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from api.app import build_services, create_app
from api.auth import authenticate
from api.bridge import sink as bridge_sink
from api.ingest import STATUS, error_response
from api.settings import Settings
from demo.plant import DEMO_PLANT, all_sensors
from demo.production import Pace, drive
from demo.scale import ScaleSimulator
from demo.signals import FAULTS, Signal
from demo.simulator import Simulator
from device_bridge.config import OpcuaConfig, SerialConfig
from device_bridge.runner import Bridge
from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from resolvers.context import Context, Services

log = logging.getLogger("plasmatwin.demo")


def _span(nominal: float, low: float | None, high: float | None) -> tuple[float, float]:
    """The simulator's range (its noise scales with it): the limits, mirrored about the nominal value
    where only one is set."""
    if low is None and high is None:
        m = abs(nominal) * 0.1 or 1.0
        return nominal - m, nominal + m
    if low is None:
        assert high is not None
        low = nominal - (high - nominal)
    if high is None:
        high = nominal + (nominal - low)
    return min(low, nominal), max(high, nominal)


def signals() -> list[Signal]:
    out = []
    for room, eq, s in all_sensors(DEMO_PLANT):
        area = next(a.code for a in DEMO_PLANT.areas if room in a.rooms)
        low, high = _span(s.nominal, s.low_limit, s.high_limit)
        if s.kind == "door":
            low, high = 0.0, 1.0
        topic = f"{DEMO_PLANT.site_code}/{area}/{room.code}/{eq.code if eq else '_'}/{s.tag}"
        out.append(Signal(s.tag, s.kind, s.nominal, low, high, topic=topic, profile=s.profile))
    return out


def scale_tag() -> str | None:
    """The weight of the first balance: the demo reads it over a serial port instead of OPC UA."""
    return next((s.tag for _, eq, s in all_sensors(DEMO_PLANT) if eq and eq.kind == "balance" and s.kind == "weight"),
                None)


@dataclass
class DemoLive:
    simulator: Simulator
    bridge: Bridge
    scale: ScaleSimulator | None = None

    async def stop(self) -> None:
        await self.bridge.stop()
        if self.scale is not None:
            await self.scale.stop()
        await self.simulator.stop()


async def start(svc: Services, data_dir: Path, port: int) -> DemoLive:
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # it logs every publish at INFO
    sim = Simulator(signals(), interval=1.0, opcua_endpoint=f"opc.tcp://127.0.0.1:{port}/plasmatwin/demo")
    await sim.start()

    bridge = Bridge("demo", bridge_sink(svc, "demo"), data_dir / "bridge-buffer.db", stale_after=30.0)
    weighed = scale_tag() if hasattr(os, "openpty") else None
    scale = None
    if weighed is not None:
        tag, nominal = weighed, next(s.nominal for s in sim.signals if s.tag == weighed)
        # the scale shows what the simulator computes for its tag
        scale = ScaleSimulator(data_dir / "scale", weight=lambda: sim.last.get(tag, nominal))
        await scale.start()
        bridge.add_serial(SerialConfig(str(scale.link), tag, name="receipt scale"))
    bridge.add_opcua(OpcuaConfig(endpoint=sim.opcua_endpoint or "", tags={sim.node_id(s.tag): s.tag
                                                                          for s in sim.signals if s.tag != weighed},
                                 publishing_interval_ms=250, name="simulator"))
    await bridge.start()
    return DemoLive(sim, bridge, scale)


Endpoint = Callable[[Request], Awaitable[Response]]


def _instruction(body: Any, tags: set[str]) -> dict[str, Any]:
    """What a /demo/simulate body asks for; ValueError, KeyError or TypeError when it is not valid."""
    tag = str(body["tag"])
    if tag not in tags:
        raise ValueError(f"no simulated tag {tag}")
    fault = body.get("fault", "excursion")
    if fault == "excursion":
        return {"tag": tag, "fault": fault, "delta": float(body.get("delta", 20)),
                "seconds": float(body.get("seconds", 30))}
    if fault in (*FAULTS, None, "clear"):
        return {"tag": tag, "fault": None if fault in (None, "clear") else fault}
    raise ValueError(f"fault is one of excursion, clear, {', '.join(FAULTS)}")


def endpoints(svc: Services, data_dir: Path, live: Callable[[], DemoLive | None]) -> tuple[Endpoint, Endpoint]:
    async def refuse(ctx: Context, request: Request, reason: str) -> NoReturn:
        await svc.db.record(ctx.audit_context(), PendingEvent(
            "ACCESS_DENIED", "demo", request.url.path, {"endpoint": request.url.path, "reason": reason}))
        raise AppError(ErrorCode.FORBIDDEN, reason)

    async def caller(request: Request) -> Context:
        """The signed-in person behind a session token; a scoped token is refused."""
        client = request.client.host if request.client else None
        ctx = Context(svc, await authenticate(svc.db, request.headers.get("authorization"), client), client)
        if ctx.signed_in().token_kind != "session":  # noqa: S105 - a kind of token, not a secret
            await refuse(ctx, request, "demo endpoints are not open to scoped tokens")
        return ctx

    async def key(request: Request) -> Response:
        try:
            ctx = await caller(request)
            username = ctx.signed_in().username
            asked = [v for k, v in request.query_params.multi_items() if k in ("user", "username")]
            if any(name != username for name in asked):
                await refuse(ctx, request, "a demo key is handed only to its own user")
        except AppError as e:
            return error_response(e.code, e.message, STATUS.get(e.code, 400))
        users = json.loads((data_dir / "demo-users.json").read_text())
        entry = next((u for u in users if u["username"] == username), None)
        if entry is None:
            return error_response(ErrorCode.NOT_FOUND, f"{username} has no demo key", 404)
        return JSONResponse({"username": username, "algorithm": entry["algorithm"],
                             "privateKey": (data_dir / entry["privateKey"]).read_text(),
                             "certificate": (data_dir / entry["certificate"]).read_text()})

    async def simulate(request: Request) -> Response:
        try:
            ctx = await caller(request)
            await ctx.require("demo:simulate", "write")  # audits a denial
        except AppError as e:
            return error_response(e.code, e.message, STATUS.get(e.code, 400))
        running = live()
        try:
            what = _instruction(await request.json(), {s.tag for s in running.simulator.signals} if running else set())
        except (ValueError, KeyError, TypeError) as e:
            return error_response(ErrorCode.VALIDATION_FAILED, str(e), 400)
        assert running is not None
        # Recorded before it happens: a fault nobody can account for is never injected.
        await svc.db.record(ctx.audit_context("demo simulation"),
                            PendingEvent("DEMO_SIMULATION", "sensor", what["tag"], what))
        if what["fault"] == "excursion":
            running.simulator.excursion(what["tag"], what["delta"], what["seconds"])
        else:
            running.simulator.inject(what["tag"], what["fault"])
        return JSONResponse({"ok": True, "tag": what["tag"]})

    return key, simulate


class LivePlant:
    """The demo's part of one app: the simulated plant while the app runs, and the /demo routes."""

    def __init__(self, data_dir: Path, pace: Pace) -> None:
        self.data_dir = data_dir
        self.pace = pace
        self.running: DemoLive | None = None
        self.app: Starlette | None = None  # the app it runs in: the demo's people act through it

    @asynccontextmanager
    async def run(self, svc: Services) -> AsyncIterator[Bridge]:
        """Started in the app's lifespan; yields the bridge, whose status /metrics reports."""
        live = await start(svc, self.data_dir, free_port())
        self.running = live
        making = (asyncio.create_task(drive(self.app, svc.db, self.data_dir, live.simulator, self.pace),
                                      name="demo-production") if self.app is not None else None)
        try:
            yield live.bridge
        finally:
            self.running = None
            if making is not None:
                making.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await making
            await live.stop()

    def routes(self, svc: Services) -> Mount:
        key, simulate = endpoints(svc, self.data_dir, lambda: self.running)
        return Mount("/demo", routes=[Route("/key", key), Route("/simulate", simulate, methods=["POST"])])


def demo_app(settings: Settings, data_dir: Path, services: Services | None = None,
             pace: Pace | None = None) -> Starlette:
    """The app `plasmatwin demo` serves: the product's app with the live plant and the /demo routes."""
    svc = services or build_services(settings)
    plant = LivePlant(data_dir, pace or Pace.from_env())
    app = create_app(settings, svc, extra_routes=[plant.routes(svc)], extensions=[plant.run])
    plant.app = app
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
