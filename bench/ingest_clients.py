"""The bench's control-room clients: N WebSocket subscriptions (graphql-transport-ws), each following
one tag (sensorUpdates) or the plant (plantState). Writes delivery count and latency percentiles.

Latency is counted from `warmup` seconds after the first reading any client saw (source time), so the
first-use costs of the path (caches filling, the first frames of every tag) are not read as its steady
state; deliveries are counted throughout. The raw ceiling's clients use the same rule."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
from datetime import datetime
from typing import Any

import orjson
import websockets

TAG = "subscription($t:[String!]){sensorUpdates(tags:$t){tag value sourceTime}}"
PLANT = "subscription{plantState(plantId:\"1\"){snapshot sensors{tag value sourceTime}}}"


class Warmup:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.since: datetime | None = None

    def counts(self, source: datetime) -> bool:
        if self.since is None:
            self.since = source
        return (source - self.since).total_seconds() >= self.seconds


async def client(url: str, token: str, query: str, variables: dict[str, Any], lat: list[float],
                 counts: list[int], warmup: Warmup) -> None:
    """Reads until cancelled: one `recv` per frame, no timer each (wait_for's task and timer per frame
    were a third of this process's CPU, taken from the cores the core and the bridge run on)."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        await ws.recv()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query,
                                                                             "variables": variables}}))
        counts[1] += 1
        async for raw in ws:
            now = time.time()
            data = orjson.loads(raw).get("payload", {}).get("data") or {}
            items = [data["sensorUpdates"]] if "sensorUpdates" in data else (
                [] if data.get("plantState", {}).get("snapshot") else data.get("plantState", {}).get("sensors", []))
            for it in items:
                counts[0] += 1
                source = datetime.fromisoformat(it["sourceTime"])
                if len(lat) < 2_000_000 and warmup.counts(source):
                    lat.append((now - source.timestamp()) * 1000)


async def main(url: str, token: str, n: int, mode: str, tags: list[str], seconds: float,
               warmup: float = 1.0) -> dict[str, Any]:
    lat: list[float] = []
    first = Warmup(warmup)
    counts = [0, 0]  # deliveries, connected
    tasks = []
    for i in range(n):
        query, variables = (TAG, {"t": [tags[i % len(tags)]]}) if mode == "tag" else (PLANT, {})
        tasks.append(asyncio.create_task(client(url, token, query, variables, lat, counts, first)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    q = statistics.quantiles(lat, n=100) if len(lat) > 100 else [0.0] * 99
    return {"connected": counts[1], "deliveries": counts[0], "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1)}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    for name in ("--url", "--token", "--mode", "--tags", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--warmup", type=float, default=1.0)
    a = p.parse_args()
    result = asyncio.run(main(a.url, a.token, a.n, a.mode, a.tags.split(","), a.seconds, a.warmup))
    use = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = round(use.ru_utime + use.ru_stime, 2)  # this process's whole run, connecting included
    with open(a.out, "w") as f:
        json.dump(result, f)
