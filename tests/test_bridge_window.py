"""Several batches in flight from the bridge: handed over in file order, applied in order at the core
(session/seq over HTTP), deleted only through the answered run at the head, sent again from the first
unconfirmed row after a failure, and left in the file when the bridge stops mid-window."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import httpx

from device_bridge.backoff import Backoff
from device_bridge.buffer import Buffer, Forwarder
from device_bridge.sink import HttpSink, MemorySink, SinkUnavailable
from tests.test_bridge_buffer import SlowDisk, readings, until
from twin.sequence import Sequencer


class SlowCore:
    """A sink that takes every batch (dedup by key like the core) but answers after its own delay, so
    answers come back out of order; it notes how many batches were with it at once."""

    def __init__(self, delays: list[float] | None = None, seed: int = 1) -> None:
        self.memory = MemorySink()
        self.calls: list[list[float]] = []  # the values of each batch, in call order
        self.open = 0
        self.most_open = 0
        self._delays = delays
        self._rng = random.Random(seed)

    async def send(self, batch: list[dict]) -> None:
        self.calls.append([r["value"] for r in batch])
        n = len(self.calls)
        await self.memory.send(batch)  # taken in call order ...
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:  # ... answered in any order
            delay = self._delays[n - 1] if self._delays and n <= len(self._delays) else self._rng.uniform(0, 0.03)
            await asyncio.sleep(delay)
        finally:
            self.open -= 1


async def test_a_window_of_batches_reaches_the_sink_in_file_order(tmp_path: Path) -> None:
    core = SlowCore()
    buf = Buffer(tmp_path / "b.db")
    fwd = Forwarder(buf, core, batch_max=20, window=4)
    await fwd.start()
    sent = readings(600)
    for i in range(0, 600, 7):  # many small writes while batches travel
        fwd.submit(sent[i:i + 7])
        await asyncio.sleep(0.002)
    await until(lambda: fwd.forwarded == 600 and buf.depth == 0)
    assert core.memory.readings == sent and core.memory.duplicates == 0  # never twice, never skipped
    assert [v for c in core.calls for v in c] == [r["value"] for r in sent]
    assert 1 < core.most_open <= 4
    status = fwd.status()
    assert status["window"] == 4 and status["inFlight"] == 0 and status["state"] == "idle"
    await fwd.stop()
    buf.close()


async def test_a_full_buffer_keeps_exactly_the_window_with_the_sink(tmp_path: Path) -> None:
    """With rows waiting and a core that answers slowly, the bridge fills its window, never more: the
    exact bound that the random-delay test above can only bracket."""
    core = SlowCore(delays=[0.05] * 30)
    buf = Buffer(tmp_path / "b.db")
    buf.append(readings(600))
    fwd = Forwarder(buf, core, batch_max=20, window=4)
    await fwd.start()
    await until(lambda: fwd.forwarded == 600 and buf.depth == 0)
    assert core.most_open == 4 and core.memory.readings == readings(600) and core.memory.duplicates == 0
    await fwd.stop()
    buf.close()


async def test_window_one_keeps_one_batch_with_the_sink(tmp_path: Path) -> None:
    core = SlowCore()
    buf = Buffer(tmp_path / "b.db")
    buf.append(readings(100))
    fwd = Forwarder(buf, core, batch_max=10, window=1)
    await fwd.start()
    fwd.submit(readings(50, start=100))
    await until(lambda: fwd.forwarded == 150 and buf.depth == 0)
    assert core.most_open == 1 and core.memory.readings == readings(150)
    await fwd.stop()
    buf.close()


async def test_batches_sent_from_memory_before_their_fsync_are_never_sent_twice(tmp_path: Path) -> None:
    core = SlowCore()
    buf = SlowDisk(tmp_path / "b.db")
    fwd = Forwarder(buf, core, batch_max=50, window=4)
    await fwd.start()
    fwd.submit(readings(5))
    await until(lambda: len(core.memory.readings) == 5)  # travelled before its write ended
    assert buf.depth == 0
    buf.release.set()
    sent = readings(300)
    for i in range(5, 300, 11):
        fwd.submit(sent[i:i + 11])
        await asyncio.sleep(0.001)
    await until(lambda: fwd.forwarded == 300 and buf.depth == 0)
    assert core.memory.readings == sent and core.memory.duplicates == 0
    await fwd.stop()
    buf.close()


class FailsOnce(SlowCore):
    """Batch number `fail` is refused (core busy); the batch before it is slow to be answered."""

    def __init__(self, fail: int, delays: list[float]) -> None:
        super().__init__(delays)
        self.fail = fail
        self.depth_at_failure: int | None = None
        self.buffer: Buffer | None = None

    async def send(self, batch: list[dict]) -> None:
        if len(self.calls) + 1 == self.fail:
            self.calls.append([r["value"] for r in batch])
            assert self.buffer is not None
            self.depth_at_failure = self.buffer.depth
            raise SinkUnavailable("HTTP 503: busy")
        await super().send(batch)


async def test_a_failure_mid_window_resends_from_the_first_unconfirmed_row(tmp_path: Path) -> None:
    core = FailsOnce(fail=2, delays=[0.3, 0, 0, 0])  # batch 1 slow, 2 refused, 3 and 4 answered at once
    buf = Buffer(tmp_path / "b.db")
    core.buffer = buf
    buf.append(readings(40))
    fwd = Forwarder(buf, core, batch_max=10, window=4, backoff=Backoff(0.05, 0.1))
    await fwd.start()
    await until(lambda: len(core.calls) == 4)
    await asyncio.sleep(0.1)  # 3 and 4 are answered; 1 is not
    assert buf.depth == 40 and fwd.forwarded == 0  # nothing deleted before the head of the window is answered
    assert fwd.status()["lastError"] == "HTTP 503: busy" and fwd.status()["failures"] == 1
    await until(lambda: fwd.forwarded == 40 and buf.depth == 0)
    # 1 confirmed; then everything from batch 2's first row again, although 3 and 4 had been taken
    assert core.calls[:4] == [[float(i) for i in range(k, k + 10)] for k in (0, 10, 20, 30)]
    assert [c[0] for c in core.calls[4:]] == [10.0, 20.0, 30.0]
    # nothing lost (this sink took 3 and 4 although 2 was refused, so they came before 2's resend)
    assert sorted(r["value"] for r in core.memory.readings) == [float(i) for i in range(40)]
    assert core.memory.duplicates == 20  # 3 and 4 sent twice: harmless
    await fwd.stop()
    buf.close()


async def test_stopping_mid_window_leaves_every_unconfirmed_row_in_the_file(tmp_path: Path) -> None:
    """Batch 2 is never answered; 1, 3 and 4 are: only batch 1's rows may go."""
    path = tmp_path / "b.db"
    core = SlowCore(delays=[0, 3600, 0, 0])
    buf = Buffer(path)
    buf.append(readings(40))
    fwd = Forwarder(buf, core, batch_max=10, window=4)
    await fwd.start()
    await until(lambda: len(core.calls) == 4 and fwd.forwarded == 10)
    await asyncio.sleep(0.05)
    assert fwd.status()["inFlight"] == 3 and fwd.status()["inFlightReadings"] == 30
    await fwd.stop()  # the bridge goes away with batch 2 unanswered
    buf.close()
    again = Buffer(path)
    assert [r["value"] for _, r in again.head(100)] == [float(i) for i in range(10, 40)]
    sink = MemorySink()
    fwd2 = Forwarder(again, sink, batch_max=10, window=4)
    await fwd2.start()
    await until(lambda: again.depth == 0)
    assert [r["value"] for r in sink.readings] == [float(i) for i in range(10, 40)]
    await fwd2.stop()
    again.close()


def ordering_core(applied: list[float], seed: int) -> httpx.ASGITransport:
    """A core over HTTP that delays each request at random before applying it (requests overtake each
    other) and again before answering; it applies through twin.sequence like /ingest."""
    order = Sequencer()
    rng = random.Random(seed)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        doc = json.loads(body)
        await asyncio.sleep(rng.uniform(0, 0.02))
        async with order.turn(doc["bridge"], doc.get("session"), doc.get("seq"), doc.get("answered")):
            applied.extend(r["value"] for r in doc["readings"])
        await asyncio.sleep(rng.uniform(0, 0.02))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"accepted": 0}'})

    return httpx.ASGITransport(app=app)


async def test_over_http_the_core_applies_a_window_in_file_order(tmp_path: Path) -> None:
    applied: list[float] = []
    sink = HttpSink("http://core.test", "t", bridge="b", transport=ordering_core(applied, seed=7))
    buf = Buffer(tmp_path / "b.db")
    fwd = Forwarder(buf, sink, batch_max=15, window=4)
    await fwd.start()
    sent = readings(500)
    for i in range(0, 500, 9):
        fwd.submit(sent[i:i + 9])
        await asyncio.sleep(0.001)
    await until(lambda: fwd.forwarded == 500 and buf.depth == 0, within=10)
    assert applied == [r["value"] for r in sent]
    await fwd.stop()
    buf.close()
    await sink.aclose()
