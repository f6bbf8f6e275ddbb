"""Store-and-forward: the durable FIFO and the forwarder, against an in-memory core."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from device_bridge.backoff import Backoff
from device_bridge.buffer import Buffer, Forwarder
from device_bridge.model import make_reading
from device_bridge.sink import MemorySink, SinkUnavailable


def readings(n: int, start: int = 0, tag: str = "T") -> list[dict]:
    return [make_reading(tag, float(i), "GOOD", f"2026-11-22T05:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z")
            for i in range(start, start + n)]


async def until(cond: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def test_buffer_is_a_durable_fifo(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    buf = Buffer(path)
    buf.append(readings(5))
    (first_id, _), *_ = buf.head(2)
    buf.delete_through(first_id)
    assert buf.depth == 4
    buf.close()
    again = Buffer(path)  # a restart finds the rows, in order
    assert again.depth == 4
    assert [r["value"] for _, r in again.head(10)] == [1.0, 2.0, 3.0, 4.0]
    again.close()


@pytest.mark.req("IT-31")
async def test_outage_buffers_and_replays_in_order_without_loss_or_duplicates(tmp_path: Path) -> None:
    sink = MemorySink()
    fwd = Forwarder(Buffer(tmp_path / "b.db"), sink, batch_max=50, backoff=Backoff(0.02, 0.1))
    await fwd.start()
    sent = readings(120)
    fwd.submit(sent[:20])
    await until(lambda: len(sink.readings) == 20)
    sink.available = False  # the core goes away
    fwd.submit(sent[20:])
    await until(lambda: fwd.status()["state"] == "waiting" and fwd.buffer.depth == 100)
    status = fwd.status()
    assert status["lastError"] == sink.reason and status["retryIn"] is not None
    await asyncio.sleep(0.3)
    assert sink.refused >= 2 and len(sink.readings) == 20  # retried with backoff, nothing lost
    sink.available = True
    await until(lambda: fwd.buffer.depth == 0 and fwd.forwarded == 120)
    assert sink.readings == sent  # unchanged, in order
    assert sink.duplicates == 0 and max(sink.batches) <= 50
    assert fwd.status()["forwarded"] == 120
    await fwd.stop()
    fwd.buffer.close()


async def test_buffer_survives_a_restart_during_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    sink = MemorySink()
    sink.available = False
    fwd = Forwarder(Buffer(path), sink, backoff=Backoff(0.02, 0.05))
    await fwd.start()
    fwd.submit(readings(30))
    await fwd.stop()  # writes everything still in memory
    fwd.buffer.close()
    sink.available = True
    fwd2 = Forwarder(Buffer(path), sink, backoff=Backoff(0.02, 0.05))
    await fwd2.start()
    fwd2.submit(readings(10, start=30))
    await until(lambda: len(sink.readings) == 40)
    assert [r["value"] for r in sink.readings] == [float(i) for i in range(40)]
    await fwd2.stop()
    fwd2.buffer.close()


async def test_crash_between_send_and_delete_resends_and_the_core_dedupes(tmp_path: Path) -> None:
    """The sink takes the batch, then the bridge dies before deleting it: the batch comes again."""
    path = tmp_path / "b.db"
    sink = MemorySink()

    class DiesAfterSend:
        async def send(self, batch: list[dict]) -> None:
            await sink.send(batch)
            raise asyncio.CancelledError  # the process "dies" right here

    buf = Buffer(path)
    fwd = Forwarder(buf, DiesAfterSend())
    buf.append(readings(10))
    await fwd.start()
    await until(lambda: len(sink.readings) == 10)
    await fwd.stop()
    buf.close()
    buf2 = Buffer(path)
    assert buf2.depth == 10  # not deleted: the send was never confirmed
    fwd2 = Forwarder(buf2, sink)
    await fwd2.start()
    await until(lambda: buf2.depth == 0)
    assert len(sink.readings) == 10 and sink.duplicates == 10
    await fwd2.stop()
    buf2.close()


async def test_a_sink_bug_is_retried_not_fatal(tmp_path: Path) -> None:
    calls = []

    class Flaky:
        async def send(self, batch: list[dict]) -> None:
            calls.append(len(batch))
            if len(calls) == 1:
                raise RuntimeError("boom")
            if len(calls) == 2:
                raise SinkUnavailable("HTTP 401: bad token")

    fwd = Forwarder(Buffer(tmp_path / "b.db"), Flaky(), backoff=Backoff(0.01, 0.02))
    await fwd.start()
    fwd.submit(readings(3))
    await until(lambda: fwd.buffer.depth == 0 and fwd.forwarded == 3)
    assert calls == [3, 3, 3] and fwd.status()["failures"] == 2
    assert fwd.status()["lastError"] == "HTTP 401: bad token"
    await fwd.stop()
    fwd.buffer.close()


class SlowDisk(Buffer):
    """A buffer whose writes wait for the test to let them finish (a slow fsync)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()

    def append(self, readings: list[dict]) -> int:
        self.release.wait(5)
        return super().append(readings)


async def test_a_batch_travels_while_its_durable_write_is_still_going(tmp_path: Path) -> None:
    sink = MemorySink()
    buf = SlowDisk(tmp_path / "b.db")
    fwd = Forwarder(buf, sink)
    await fwd.start()
    fwd.submit(readings(5))
    await until(lambda: len(sink.readings) == 5)  # at the core before the write ended
    assert buf.depth == 0
    buf.release.set()
    await until(lambda: fwd.forwarded == 5 and buf.depth == 0)  # the delete runs in the background
    assert buf.depth == 0 and buf.head(10) == [] and sink.duplicates == 0  # deleted once written and taken
    await fwd.stop()
    buf.close()


async def test_a_crash_after_sending_from_memory_replays_the_batch_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    sink = MemorySink()

    class DiesAfterSend:
        dead = False

        async def send(self, batch: list[dict]) -> None:
            if self.dead:  # nothing runs after the "crash"
                await asyncio.Event().wait()
            await sink.send(batch)
            self.dead = True
            raise asyncio.CancelledError  # the process "dies" after the core took the batch

    buf = Buffer(path)
    fwd = Forwarder(buf, DiesAfterSend())
    await fwd.start()
    fwd.submit(readings(10))
    await until(lambda: len(sink.readings) == 10 and buf.depth == 10)
    await fwd.stop()
    buf.close()
    buf2 = Buffer(path)
    assert buf2.depth == 10  # kept: the send was never confirmed
    fwd2 = Forwarder(buf2, sink)
    await fwd2.start()
    await until(lambda: buf2.depth == 0)
    assert len(sink.readings) == 10 and sink.duplicates == 10  # the replay is harmless
    await fwd2.stop()
    buf2.close()
