"""Store-and-forward: a durable FIFO on a local SQLite file, and the task that drains it.

Readings are appended to the file as they arrive (group commit: whatever arrived since the last
write goes in one transaction) and sent to the sink in order, in batches, up to `window` batches
before the oldest is answered (the core numbers them back into order: HttpSink's session/seq). When
nothing older waits, a batch is sent from memory while its write is still in progress (the reading
does not wait for the fsync before it travels). Rows are deleted only through the longest run of
answered batches from the head of the file; when a batch fails, the forwarder lets the others end
and sends again from the first unconfirmed row. If the bridge dies after the sink took a batch but
before the delete, the batch is sent again at the next start: the core deduplicates by (tag,
sourceTime), so the replay is harmless. Delivery is therefore at-least-once into the
buffer-to-core hop, exactly-once in the core.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from device_bridge.backoff import Backoff
from device_bridge.model import Reading, format_time, utc_now
from device_bridge.sink import Sink, SinkUnavailable

log = logging.getLogger(__name__)


class Buffer:
    """FIFO of readings in one SQLite table. Calls are short; run them in a thread from async code."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a reading the bridge has taken off the wire survives a power cut, not just a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS readings "
                             "(id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)")
            self._depth = int(self._db.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
            self._last = int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM readings").fetchone()[0])
        except BaseException:
            self._db.close()
            raise

    @property
    def depth(self) -> int:
        """Rows waiting to be sent (kept in memory: COUNT(*) scans the table)."""
        return self._depth

    @property
    def last_id(self) -> int:
        """The id of the newest row (0 when the file is empty)."""
        return self._last

    def append(self, readings: list[Reading]) -> int:
        """Write the readings; returns the id of the last row (0 when there was nothing to write)."""
        if not readings:
            return 0
        rows = [(orjson.dumps(r).decode(),) for r in readings]
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO readings (body) VALUES (?)", rows)
            last = int(self._db.execute("SELECT last_insert_rowid()").fetchone()[0])
            self._depth += len(rows)
            self._last = last
        return last

    def head(self, limit: int, after: int = 0) -> list[tuple[int, Reading]]:
        """The oldest rows, past `after` (rows already sent whose delete is still under way)."""
        with self._lock:
            rows = self._db.execute("SELECT id, body FROM readings WHERE id > ? ORDER BY id LIMIT ?",
                                    (after, limit)).fetchall()
        return [(int(i), orjson.loads(body)) for i, body in rows]

    def delete_through(self, last_id: int) -> None:
        """Delete the head of the queue up to and including `last_id` (only heads are ever deleted)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            removed = self._db.execute("DELETE FROM readings WHERE id <= ?", (last_id,)).rowcount
            self._depth -= removed

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class _Flight:
    """A batch with the sink: its task ends with the id of the batch's last row once the sink took it."""

    task: asyncio.Task[int]
    size: int
    reason: str | None = None
    checked: bool = False


class Forwarder:
    """Owns the buffer's writer and sender tasks.

    `submit` is synchronous and never blocks the connectors: readings wait in memory for at most one
    write (milliseconds), then live in the file until the sink has them. Up to `window` batches are
    with the sink at once, handed over in file order (1: one at a time, each after the previous answer).
    """

    def __init__(self, buffer: Buffer, sink: Sink, *, batch_max: int = 500, window: int = 4,
                 backoff: Backoff | None = None) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        if window < 1:
            raise ValueError("window must be at least 1")
        self.buffer = buffer
        self.sink = sink
        self.batch_max = batch_max
        self.window = window
        self.backoff = backoff or Backoff(0.2, 10.0)
        self.state = "stopped"
        self.forwarded = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.last_forward_at: str | None = None
        self.retry_in: float | None = None
        self._pending: list[Reading] = []
        self._wake = asyncio.Event()  # rows written, or a batch sent from memory
        self._wake_writer = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._flights: deque[_Flight] = deque()
        # Row ids: the newest in the file, the last handed to the sink, the last the sink confirmed
        # (through an unbroken run of answers), the last deleted.
        self._written = 0
        self._sent = 0
        self._confirmed = 0
        self._deleted = 0
        self._deleting: asyncio.Task[None] | None = None
        self._failure: str | None = None  # a batch failed: send nothing new until the window is empty
        self._broken = False  # ... and confirm nothing after it

    def submit(self, readings: list[Reading]) -> None:
        if self._closing:
            raise RuntimeError("forwarder is stopping; readings would not be stored")
        self._pending.extend(readings)
        self._wake_writer.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        self._closing = False
        self.state = "idle"
        # readings left from the last run are replayed first: they lie after row 0
        self._written, self._sent = self.buffer.last_id, 0
        self._confirmed = self._deleted = 0
        self._tasks = [asyncio.create_task(self._write_loop(), name="bridge-buffer-writer"),
                       asyncio.create_task(self._send_loop(), name="bridge-forwarder")]

    async def flush(self) -> None:
        """Write what is pending to the file now."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        # Everything in the file already sent, room in the window, the sink healthy: send this batch
        # now, in parallel with its durable write, instead of after it.
        direct = (bool(self._tasks) and not self._closing and self._failure is None and self.state != "waiting"
                  and len(self._flights) < self.window and self._sent == self._written)
        write = asyncio.ensure_future(asyncio.to_thread(self.buffer.append, batch))
        # registered first, so it runs before anyone awaiting the write resumes
        write.add_done_callback(partial(self._wrote, direct))
        if direct:
            self._launch(self._send_direct(batch, write), len(batch))
        try:
            # shielded: a cancelled caller must not leave us unsure whether the rows are in the file
            await asyncio.shield(write)
        except asyncio.CancelledError:
            await asyncio.wait([write])
            if write.exception() is not None:
                self._pending[:0] = batch
            raise
        except Exception:
            self._pending[:0] = batch  # the transaction rolled back: keep them for the next attempt
            raise
        self._wake.set()

    def _wrote(self, direct: bool, write: asyncio.Future[int]) -> None:
        if write.cancelled() or write.exception() is not None:
            return
        self._written = max(self._written, write.result())
        if direct:  # these rows are with the sink already: the send loop reads past them
            self._sent = self._written

    async def stop(self) -> None:
        """Stop sending, and write everything received so far to the file. Batches in flight at this
        moment stay in the file and are sent again next time (the core deduplicates them)."""
        self._closing = True
        tasks = [*self._tasks, *(f.task for f in self._flights)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        self._flights.clear()
        if self._deleting is not None:
            await asyncio.wait([self._deleting])
            self._deleting = None
        await self.flush()
        self.state = "stopped"

    async def _write_loop(self) -> None:
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()
            try:
                await self.flush()
            except Exception as e:  # disk full, file removed: keep readings in memory, say so, retry
                self._set_error(f"buffer write failed: {e}")
                log.exception("buffer write failed; %d readings kept in memory", len(self._pending))
                await asyncio.sleep(1.0)
                self._wake_writer.set()

    # ---- sending ----------------------------------------------------------------------------------
    def _launch(self, send: Coroutine[None, None, int], size: int) -> None:
        # Tasks start in the order they are created: the sink is called in file order.
        self._flights.append(_Flight(asyncio.create_task(send, name="bridge-batch"), size))
        self.state = "sending"
        self._wake.set()

    async def _send_rows(self, rows: list[tuple[int, Reading]]) -> int:
        await self.sink.send([r for _, r in rows])
        return rows[-1][0]

    async def _send_direct(self, batch: list[Reading], write: asyncio.Future[int]) -> int:
        """A batch from memory; it counts as taken once the sink has it and its rows are written. If
        either fails, the send loop sends it again from the file (at worst the core sees it twice)."""
        try:
            await self.sink.send(batch)
        finally:
            await asyncio.wait([write])
        return write.result()

    async def _send_loop(self) -> None:
        while True:
            self._take_answers()
            if self._failure is None:
                await self._fill()
            if not self._flights:
                if self._failure is not None:
                    await self._retry_after(self._failure)
                elif self._sent >= self._written:
                    self.state = "idle"
                    self._wake.clear()
                    await self._wake.wait()
                continue
            # an answer, or (while the window has room) new rows to send
            self._wake.clear()
            waits: set[asyncio.Future[Any]] = {f.task for f in self._flights}
            waker = None
            if self._failure is None and len(self._flights) < self.window:
                waker = asyncio.ensure_future(self._wake.wait())
                waits.add(waker)
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if waker is not None:
                    waker.cancel()

    async def _fill(self) -> None:
        """Send the file's unsent rows while the window has room."""
        while len(self._flights) < self.window and self._sent < self._written and not self._closing:
            rows = await asyncio.to_thread(self.buffer.head, self.batch_max, self._sent)
            if not rows:  # cannot happen (rows past `_sent` are never deleted); do not spin on it
                log.error("buffer rows %d-%d missing", self._sent + 1, self._written)
                self._sent = self._written
                return
            self._sent = rows[-1][0]
            self._launch(self._send_rows(rows), len(rows))

    def _take_answers(self) -> None:
        """Confirm the answered batches at the head of the window; note any failure."""
        for f in self._flights:
            if f.task.done() and self._check(f) is not None and self._failure is None:
                self._failure = f.reason
        while self._flights and self._flights[0].task.done():
            f = self._flights.popleft()
            if self._broken or self._check(f) is not None:
                self._broken = True  # this batch and every later one are sent again from the file
                continue
            self._confirm(f.task.result(), f.size)

    def _check(self, f: _Flight) -> str | None:
        """Why the sink did not take the batch (None: it did). A task cancelled from inside (the
        process "dies" in a test) ends the send loop like a crash."""
        if not f.checked:
            e = f.task.exception()
            f.checked = True
            if e is not None:
                if isinstance(e, SinkUnavailable):
                    f.reason = str(e) or type(e).__name__
                else:  # a sink bug must not kill the forwarder
                    log.error("sink raised unexpectedly", exc_info=e)
                    f.reason = f"{type(e).__name__}: {e}"
                self.failures += 1
                self._set_error(f.reason)
        return f.reason

    def _confirm(self, last: int, size: int) -> None:
        self._confirmed = max(self._confirmed, last)
        self.forwarded += size
        self.last_forward_at = format_time(utc_now())
        self.retry_in = None
        self.backoff.reset()
        if self._deleting is None or self._deleting.done():
            self._deleting = asyncio.create_task(self._delete(), name="bridge-buffer-delete")

    async def _delete(self) -> None:
        """Delete confirmed rows in the background, one delete at a time, while later batches travel.
        A crash before the delete means a resend; the core dedupes by (tag, sourceTime)."""
        while self._deleted < self._confirmed:
            target = self._confirmed
            try:
                await asyncio.to_thread(self.buffer.delete_through, target)
            except Exception as e:  # the rows stay; the next confirmed batch's delete takes them too
                log.warning("buffer delete failed: %s", e)
                return
            self._deleted = target

    async def _retry_after(self, reason: str) -> None:
        """Every batch of the window has ended and one failed: wait, then send again from the first
        unconfirmed row."""
        self._sent = self._confirmed
        delay = self.backoff.next_delay()
        self.state = "waiting"
        self.retry_in = round(delay, 3)
        if self.backoff.failures in (1, 10) or self.backoff.failures % 100 == 0:
            log.warning("core unavailable (%s); %d readings buffered, retrying in %.1fs", reason,
                        self.buffer.depth, delay)
        await asyncio.sleep(delay)
        self._failure, self._broken = None, False
        self.state = "sending"

    def _set_error(self, reason: str) -> None:
        self.last_error = reason
        self.last_error_at = format_time(utc_now())

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "depth": self.buffer.depth, "pending": len(self._pending),
                "forwarded": self.forwarded, "failures": self.failures, "lastError": self.last_error,
                "lastErrorAt": self.last_error_at, "lastForwardAt": self.last_forward_at, "retryIn": self.retry_in,
                "batchMax": self.batch_max, "window": self.window, "inFlight": len(self._flights),
                "inFlightReadings": sum(f.size for f in self._flights)}
