"""Per-stage stamps for the live-path bench: runs the core (`core`) or the bridge (`bridge`) with hooks
that note, for each reading, how long after its source time it reached a stage (same host clock as
the publisher), and writes the samples to BENCH_STAGES_OUT on SIGUSR1 and on exit. Bench only: the hooks wrap
methods in this process, production code carries no stamps.

    python -m bench.ingest_stages core          (then as `plasmatwin serve`)
    python -m bench.ingest_stages bridge ARGS   (then as `plasmatwin bridge ARGS`)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import json
import os
import signal
import sys
import time
from collections import defaultdict
from datetime import datetime
from functools import wraps
from typing import Any

CAP = 400_000
samples: dict[str, list[float]] = defaultdict(list)
flowing = False  # a reading has reached a stage: collections before it (start-up) are not the live path's


def stamp(stage: str, source: datetime | None, now: float | None = None) -> None:
    global flowing
    if source is None:
        return
    flowing = True
    got = samples[stage]
    if len(got) < CAP:
        got.append(((now or time.time()) - source.timestamp()) * 1000)


def _dump() -> None:
    out = os.environ.get("BENCH_STAGES_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(samples, f)


def _sampled(r: dict[str, Any]) -> datetime | None:
    """One reading in ten, chosen by its source time so every bridge stage picks the same ones."""
    t = r.get("sourceTime")
    if not isinstance(t, str) or len(t) < 7 or t[-7] != "0":
        return None
    return datetime.fromisoformat(t)


def _first_source_time(text: str) -> datetime | None:
    i = text.find('"sourceTime":"')
    if i < 0:
        return None
    i += 14
    return datetime.fromisoformat(text[i:text.index('"', i)])


async def _loop_lag(every: float = 0.01) -> None:
    """How late a 10 ms timer fires in the core: time its event loop was busy with something else."""
    got = samples["core: event-loop lag (ms late, not after publish)"]
    while len(got) < CAP:
        t = time.perf_counter()
        await asyncio.sleep(every)
        got.append((time.perf_counter() - t - every) * 1000)


def _collector_pauses(part: str) -> None:
    """How long each full collection (generation 2) held the process while readings flowed (start-up's
    collections, over everything the imports made before gc.freeze, are left out): its loop waits meanwhile."""
    import gc

    started: list[float] = []
    got = samples[f"{part}: full GC pause (ms, not after publish)"]

    def note(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2 or not flowing:
            return
        if phase == "start":
            started.append(time.perf_counter())
        elif started and len(got) < CAP:
            got.append((time.perf_counter() - started.pop()) * 1000)

    gc.callbacks.append(note)


def _hook_ingest() -> None:
    """The core's /ingest: when a request began, was authenticated, and got its turn in its bridge's order."""
    from api import ingest as ingest_api

    began: contextvars.ContextVar[float] = contextvars.ContextVar("began", default=0.0)
    authenticate = ingest_api.authenticate

    @wraps(authenticate)
    async def authenticate_stamped(*args: Any, **kw: Any) -> Any:
        began.set(time.time())
        return await authenticate(*args, **kw)

    take = ingest_api.take

    @wraps(take)
    async def take_stamped(twin: Any, readings: Any, turn: Any = None) -> Any:
        picked = [t for r in readings if isinstance(r, dict) and (t := _sampled(r)) is not None] \
            if isinstance(readings, list) else []
        now = time.time()
        for t in picked:
            stamp("core: /ingest request began", t, began.get() or now)
            stamp("core: /ingest body read, authenticated", t, now)
        if turn is None:
            return await take(twin, readings, turn)

        @contextlib.asynccontextmanager
        async def turn_stamped() -> Any:
            async with turn:
                now = time.time()
                for t in picked:
                    stamp("core: /ingest its turn came (earlier batches applied)", t, now)
                yield
        return await take(twin, readings, turn_stamped())

    ingest_api.authenticate = authenticate_stamped  # type: ignore[assignment]
    ingest_api.take = take_stamped  # type: ignore[assignment]


def _hook_outbox() -> None:
    """The pushed path (sensorUpdates): when a frame left its connection's queue and was written."""
    from api.outbox import Outbox

    write = Outbox._write

    @wraps(write)
    async def write_stamped(self: Outbox, frame: str) -> None:  # the pushed path (sensorUpdates)
        source = _first_source_time(frame)
        stamp("core: dequeued for the socket", source)
        await write(self, frame)
        stamp("core: written to the socket", source)

    write_many = Outbox._write_many

    @wraps(write_many)
    async def write_many_stamped(self: Outbox, frames: list[str]) -> None:  # the pushed path, batched
        sources = [_first_source_time(frame) for frame in frames]
        now = time.time()
        for source in sources:
            stamp("core: dequeued for the socket", source, now)
        await write_many(self, frames)
        now = time.time()
        for source in sources:
            stamp("core: written to the socket", source, now)

    Outbox._write = write_stamped  # type: ignore[method-assign]
    Outbox._write_many = write_many_stamped  # type: ignore[method-assign]


def hook_core() -> None:
    from api.engine import live_fast
    from api.engine.fast_path import Raw
    from api.graphql_ws import TransportWSHandler
    from subscriptions.bus import Bus
    from subscriptions.topics import SENSOR_TOPIC
    from twin.state import PlantState

    _collector_pauses("core")
    _hook_ingest()
    ingest = PlantState.ingest

    lag: list[asyncio.Task[None]] = []

    @wraps(ingest)
    def ingest_stamped(self: PlantState, tag: str, *args: Any, **kw: Any) -> Any:
        if not lag:
            lag.append(asyncio.get_running_loop().create_task(_loop_lag()))
        t0 = time.time()
        r = ingest(self, tag, *args, **kw)
        if r is not None:
            stamp("core: /ingest handed it to the twin", r.source_time, t0)
        return r

    publish = Bus.publish

    @wraps(publish)
    def publish_stamped(self: Bus, topic: str, message: Any, key: str | None = None) -> None:
        publish(self, topic, message, key)
        if topic == SENSOR_TOPIC:
            stamp("core: twin updated, bus published", message.source_time)

    cached = live_fast._cached

    def cached_stamped(render: Any, size: int = 2048) -> Any:
        def encode(event: Any) -> str:
            text = render(event)
            readings = getattr(event, "readings", None)
            for r in (readings[:1] if readings else [] if readings is not None else [event]):
                stamp("core: encoded (once per event and query)", r.source_time)
            return str(text)
        return cached(encode, size)

    send = TransportWSHandler._send

    @wraps(send)
    async def send_stamped(self: TransportWSHandler, operation: Any, response: Any) -> None:
        source = _first_source_time(response.text) if isinstance(response, Raw) else None
        stamp("core: dequeued for the socket", source)
        await send(self, operation, response)
        stamp("core: written to the socket", source)

    _hook_outbox()
    PlantState.ingest = ingest_stamped  # type: ignore[method-assign]
    Bus.publish = publish_stamped  # type: ignore[method-assign]
    live_fast._cached = cached_stamped
    TransportWSHandler._send = send_stamped  # type: ignore[method-assign]


def hook_bridge() -> None:
    from device_bridge.buffer import Buffer, Forwarder
    from device_bridge.sink import HttpSink

    _collector_pauses("bridge")
    submit = Forwarder.submit

    @wraps(submit)
    def submit_stamped(self: Forwarder, readings: list[Any]) -> None:
        now = time.time()
        for r in readings:
            stamp("bridge: received from MQTT", _sampled(r), now)
        submit(self, readings)

    append = Buffer.append

    @wraps(append)
    def append_stamped(self: Buffer, readings: list[Any]) -> int:
        last = append(self, readings)
        now = time.time()
        for r in readings:
            stamp("bridge: durable in its buffer", _sampled(r), now)
        return last

    sink_send = HttpSink.send

    @wraps(sink_send)
    async def send_stamped(self: HttpSink, readings: list[Any]) -> None:
        picked = [t for r in readings if (t := _sampled(r)) is not None]
        now = time.time()
        for t in picked:
            stamp("bridge: POST /ingest sent", t, now)
        await sink_send(self, readings)
        now = time.time()
        for t in picked:
            stamp("bridge: /ingest answered 200", t, now)

    Forwarder.submit = submit_stamped
    Buffer.append = append_stamped
    HttpSink.send = send_stamped


def main(argv: list[str]) -> int:
    atexit.register(_dump)
    signal.signal(signal.SIGUSR1, lambda *_: _dump())  # the bench asks before it stops the process
    if argv[0] == "core":
        from api.cli import main as cli

        hook_core()
        return cli(["serve"])
    from device_bridge.cli import main as bridge

    hook_bridge()
    return int(bridge(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
