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


def stamp(stage: str, source: datetime | None, now: float | None = None) -> None:
    if source is None:
        return
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


def hook_core() -> None:
    from api.engine import live_fast
    from api.engine.fast_path import Raw
    from api.graphql_ws import TransportWSHandler
    from api.outbox import Outbox
    from subscriptions.bus import Bus
    from subscriptions.topics import SENSOR_TOPIC
    from twin.state import PlantState

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

    write = Outbox._write

    @wraps(write)
    async def write_stamped(self: Outbox, frame: str) -> None:  # the pushed path (sensorUpdates)
        source = _first_source_time(frame)
        stamp("core: dequeued for the socket", source)
        await write(self, frame)
        stamp("core: written to the socket", source)

    Outbox._write = write_stamped  # type: ignore[method-assign]
    PlantState.ingest = ingest_stamped  # type: ignore[method-assign]
    Bus.publish = publish_stamped  # type: ignore[method-assign]
    live_fast._cached = cached_stamped
    TransportWSHandler._send = send_stamped  # type: ignore[method-assign]


def hook_bridge() -> None:
    from device_bridge.buffer import Buffer, Forwarder
    from device_bridge.sink import HttpSink

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
