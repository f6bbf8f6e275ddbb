"""Where readings go: the core's ingest interface, over HTTP or in process.

The bridge knows the core only through `Sink.send`. A sink either takes the whole batch or raises
`SinkUnavailable`; then the batch stays in the local buffer and is sent again later, so a sink must
be idempotent per (tag, sourceTime) - which the core is, by its unique constraint.

The forwarder may have several batches with the sink at once; it calls `send` in file order (each
call starts before the next). A sink whose calls can overtake each other on the way (HTTP: separate
requests) numbers them so the core applies them in that order.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
import orjson

from device_bridge.model import Reading, format_time, reading_key, utc_now


class SinkUnavailable(Exception):
    """The core cannot take these readings now; keep them and retry later."""


class Sink(Protocol):
    async def send(self, readings: list[Reading]) -> None: ...


class HttpSink:
    """POST {url}/ingest with `{"bridge": name, "session": s, "seq": n, "answered": a, "readings": [...]}`
    and a bearer token. `session` is random per sink (per bridge start), `seq` counts the calls 1, 2,
    3..., `answered` is the highest seq below which every call has ended: the core applies the batches
    of a session in seq order, whatever order the requests arrive in (twin/sequence.py).

    Every failure raises SinkUnavailable, 4xx included: a rejected batch (bad token, revoked
    bridge) is kept and retried until someone fixes the cause, never thrown away. The reason is
    kept for the bridge status.
    """

    def __init__(self, url: str, token: str, timeout: float = 10.0, *, bridge: str = "bridge",
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/") + "/ingest"
        self.bridge = bridge
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self.accepted = 0
        self.duplicates = 0
        self.unknown_tags: list[str] = []
        self.last_rejection: str | None = None
        # Set by the bridge: readings waiting in its buffer, reported to the core for its /metrics.
        self.depth: Callable[[], int] | None = None
        self.session = secrets.token_hex(8)
        self._seq = 0
        self._open: set[int] = set()  # seqs sent and not answered yet

    async def send(self, readings: list[Reading]) -> None:
        # numbered before the first await: calls are numbered in the order they are made
        self._seq += 1
        seq = self._seq
        answered = min(self._open, default=seq) - 1
        body: dict[str, object] = {"bridge": self.bridge, "session": self.session, "seq": seq,
                                   "answered": answered, "readings": readings}
        if self.depth is not None:
            body["bufferDepth"] = self.depth()
        self._open.add(seq)
        try:
            response = await self._client.post(self.url, content=orjson.dumps(body), headers=self._headers)
        except httpx.TimeoutException as e:
            raise SinkUnavailable(f"core timed out: {type(e).__name__}") from e
        except httpx.TransportError as e:
            raise SinkUnavailable(f"core unreachable: {type(e).__name__}: {e}") from e
        finally:
            self._open.discard(seq)
        if response.is_success:
            self._record(response)
            self.last_rejection = None
            return
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.is_client_error:
            # 401/403/4xx: a problem that retrying alone will not fix; shown in the status.
            self.last_rejection = reason
        raise SinkUnavailable(reason)

    def _record(self, response: httpx.Response) -> None:
        try:
            answer = response.json()
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        self.accepted += int(answer.get("accepted") or 0)
        self.duplicates += int(answer.get("duplicates") or 0)
        unknown = answer.get("unknownTags") or []
        if unknown:
            self.unknown_tags = sorted(set(self.unknown_tags) | {str(t) for t in unknown})[:100]

    def status(self) -> dict[str, Any]:
        return {"kind": "http", "url": self.url, "accepted": self.accepted, "duplicates": self.duplicates,
                "unknownTags": list(self.unknown_tags), "lastRejection": self.last_rejection,
                "session": self.session, "seq": self._seq}

    async def aclose(self) -> None:
        await self._client.aclose()


class CallableSink:
    """Wraps an async function, for a core in the same process (the demo server's ingest)."""

    def __init__(self, fn: Callable[[list[Reading]], Awaitable[Any]]) -> None:
        self._fn = fn
        self.batches = 0

    async def send(self, readings: list[Reading]) -> None:
        await self._fn(readings)
        self.batches += 1

    def status(self) -> dict[str, Any]:
        return {"kind": "in-process", "batches": self.batches}


class MemorySink:
    """Collects readings in memory, deduplicated by (tag, sourceTime) like the core.

    For tests and dry runs: set `available = False` to play a core outage.
    """

    def __init__(self) -> None:
        self.available = True
        self.reason = "core down (test)"
        self.readings: list[Reading] = []
        self.keys: set[tuple[str, str]] = set()
        self.duplicates = 0
        self.batches: list[int] = []
        self.refused = 0
        self.last_batch_at: str | None = None

    async def send(self, readings: list[Reading]) -> None:
        if not self.available:
            self.refused += 1
            raise SinkUnavailable(self.reason)
        for r in readings:
            key = reading_key(r)
            if key in self.keys:
                self.duplicates += 1
                continue
            self.keys.add(key)
            self.readings.append(r)
        self.batches.append(len(readings))
        self.last_batch_at = format_time(utc_now())

    def of(self, tag: str) -> list[Reading]:
        return [r for r in self.readings if r["tag"] == tag]

    def status(self) -> dict[str, Any]:
        return {"kind": "memory", "stored": len(self.readings), "duplicates": self.duplicates,
                "available": self.available}
