"""Store-and-forward: a durable FIFO on a local SQLite file, and the task that drains it.

Readings are appended to the file as they arrive (group commit: whatever arrived since the last
write goes in one transaction) and sent to the sink in order, in batches. When nothing older waits,
a batch is sent from memory while its write is still in progress (the reading does not wait for
the fsync before it travels), and deleted once both the write and the sink are done. A batch is
deleted only after the sink took it. If the bridge dies after the sink took a batch but before the delete, the
batch is sent again at the next start: the core deduplicates by (tag, sourceTime), so the replay is
harmless. Delivery is therefore at-least-once into the buffer-to-core hop, exactly-once in the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

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
        except BaseException:
            self._db.close()
            raise

    @property
    def depth(self) -> int:
        """Rows waiting to be sent (kept in memory: COUNT(*) scans the table)."""
        return self._depth

    def append(self, readings: list[Reading]) -> int:
        """Write the readings; returns the id of the last row (0 when there was nothing to write)."""
        if not readings:
            return 0
        rows = [(json.dumps(r, separators=(",", ":")),) for r in readings]
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO readings (body) VALUES (?)", rows)
            last = int(self._db.execute("SELECT last_insert_rowid()").fetchone()[0])
            self._depth += len(rows)
        return last

    def head(self, limit: int, after: int = 0) -> list[tuple[int, Reading]]:
        """The oldest rows, past `after` (rows already sent whose delete is still under way)."""
        with self._lock:
            rows = self._db.execute("SELECT id, body FROM readings WHERE id > ? ORDER BY id LIMIT ?",
                                    (after, limit)).fetchall()
        return [(int(i), json.loads(body)) for i, body in rows]

    def delete_through(self, last_id: int) -> None:
        """Delete the head of the queue up to and including `last_id` (only heads are ever deleted)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            removed = self._db.execute("DELETE FROM readings WHERE id <= ?", (last_id,)).rowcount
            self._depth -= removed

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Forwarder:
    """Owns the buffer's writer and sender tasks.

    `submit` is synchronous and never blocks the connectors: readings wait in memory for at most one
    write (milliseconds), then live in the file until the sink has them. One batch is with the sink
    at a time (the send lock), so batches arrive in order.
    """

    def __init__(self, buffer: Buffer, sink: Sink, *, batch_max: int = 500, backoff: Backoff | None = None) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        self.buffer = buffer
        self.sink = sink
        self.batch_max = batch_max
        self.backoff = backoff or Backoff(0.2, 10.0)
        self.state = "stopped"
        self.forwarded = 0
        self.failures = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.last_forward_at: str | None = None
        self.retry_in: float | None = None
        self._pending: list[Reading] = []
        self._written = asyncio.Event()
        self._wake_writer = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._send_lock = asyncio.Lock()
        self._direct: set[asyncio.Task[None]] = set()
        # Rows the sink took, deleted in the background while the next batch travels; heads skip them.
        self._through = 0
        self._deleting: asyncio.Future[None] | None = None
        self._ahead: asyncio.Future[list[tuple[int, Reading]]] | None = None

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
        self._tasks = [asyncio.create_task(self._write_loop(), name="bridge-buffer-writer"),
                       asyncio.create_task(self._send_loop(), name="bridge-forwarder")]
        if self.buffer.depth:
            self._written.set()  # readings left from the last run: replay them first

    async def flush(self) -> None:
        """Write what is pending to the file now."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        # Nothing older in the file or on its way, and the sink healthy: send this batch now, in
        # parallel with its durable write, instead of after it.
        direct = (not self._closing and self.state == "idle" and self.buffer.depth == 0
                  and not self._send_lock.locked())
        write = asyncio.ensure_future(asyncio.to_thread(self.buffer.append, batch))
        if direct:
            await self._send_lock.acquire()
            task = asyncio.create_task(self._forward_now(batch, write), name="bridge-forward-now")
            self._direct.add(task)
            task.add_done_callback(self._direct.discard)
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
        self._written.set()

    async def stop(self) -> None:
        """Stop sending, and write everything received so far to the file. A batch in flight at this
        moment stays in the file and is sent again next time (the core deduplicates it)."""
        self._closing = True
        tasks = [*self._tasks, *self._direct]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._settle_delete()
        if self._ahead is not None:
            await asyncio.wait([self._ahead])
            self._ahead = None
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

    async def _forward_now(self, batch: list[Reading], write: asyncio.Future[int]) -> None:
        """Send a batch from memory while it is written; delete its rows when both are done. If
        either fails the rows (or, after a failed write, the readings kept for the next write) stay
        and the send loop sends them from the file: at worst the core sees the batch twice."""
        try:
            self.state = "sending"
            try:
                await self.sink.send(batch)
            except Exception as e:  # the send loop retries from the file, with backoff if it fails again
                self.failures += 1
                self._set_error(str(e) or type(e).__name__)
                return
            await asyncio.wait([write])
            if write.exception() is None:
                await asyncio.to_thread(self.buffer.delete_through, write.result())
            self._forwarded(len(batch))
            if self.buffer.depth == 0:
                self.state = "idle"  # the next batch may go at once too
        finally:
            self._send_lock.release()
            self._written.set()  # the send loop looks at the file again

    def _forwarded(self, n: int) -> None:
        self.forwarded += n
        self.last_forward_at = format_time(utc_now())
        self.retry_in = None
        self.backoff.reset()

    async def _settle_delete(self) -> None:
        if self._deleting is not None:
            done, self._deleting = self._deleting, None
            await asyncio.wait([done])
            if done.exception() is not None:  # the rows stay and are sent again: harmless
                log.warning("buffer delete failed: %s", done.exception())
                self._through = 0

    async def _send_loop(self) -> None:
        while True:
            async with self._send_lock:
                ahead, self._ahead = self._ahead, None
                rows = await ahead if ahead is not None else \
                    await asyncio.to_thread(self.buffer.head, self.batch_max, self._through)
                if not rows and self._deleting is not None:
                    await self._settle_delete()
                    continue
                failure = await self._send_rows(rows) if rows else None
            if failure is not None:
                await self._wait_after_failure(failure)
            elif not rows:
                self.state = "idle"
                self._written.clear()
                # re-check after clearing: a write may have landed in between
                if self.buffer.depth == 0:
                    await self._written.wait()

    async def _send_rows(self, rows: list[tuple[int, Reading]]) -> str | None:
        """Send the file's head; the reason when the sink did not take it."""
        self.state = "sending"
        last = rows[-1][0]
        # The next batch is read while this one travels (the file is only read here and in flush).
        ahead = asyncio.ensure_future(asyncio.to_thread(self.buffer.head, self.batch_max, last))
        try:
            await self.sink.send([r for _, r in rows])
        except Exception as e:
            await asyncio.wait([ahead])
            if isinstance(e, SinkUnavailable):
                return str(e) or type(e).__name__
            log.exception("sink raised unexpectedly")  # a sink bug must not kill the forwarder
            return f"{type(e).__name__}: {e}"
        except BaseException:
            await asyncio.wait([ahead])
            raise
        self._ahead = ahead
        # Deleted in the background, one delete at a time, while the next batch goes. A crash before
        # the delete means a resend; the core dedupes by (tag, sourceTime).
        await self._settle_delete()
        self._through = last
        self._deleting = asyncio.ensure_future(asyncio.to_thread(self.buffer.delete_through, last))
        self._forwarded(len(rows))
        return None

    async def _wait_after_failure(self, reason: str) -> None:
        self.failures += 1
        self._set_error(reason)
        delay = self.backoff.next_delay()
        self.state = "waiting"
        self.retry_in = round(delay, 3)
        if self.backoff.failures in (1, 10) or self.backoff.failures % 100 == 0:
            log.warning("core unavailable (%s); %d readings buffered, retrying in %.1fs", reason,
                        self.buffer.depth, delay)
        await asyncio.sleep(delay)

    def _set_error(self, reason: str) -> None:
        self.last_error = reason
        self.last_error_at = format_time(utc_now())

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "depth": self.buffer.depth, "pending": len(self._pending),
                "forwarded": self.forwarded, "failures": self.failures, "lastError": self.last_error,
                "lastErrorAt": self.last_error_at, "lastForwardAt": self.last_forward_at, "retryIn": self.retry_in,
                "batchMax": self.batch_max}
