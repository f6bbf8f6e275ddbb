"""The raw ceiling for the live-path bench: a minimal `websockets` server that speaks just enough
graphql-transport-ws for bench/ingest_clients.py and broadcasts frames of the same shape and size
as the core's, at the same reading rate and fan-out (tag mode: each reading to its tag's
subscribers; plant mode: one delta of every changed tag per interval to every client). Each frame's
sourceTime is its send time, so the clients measure this machine's floor for the same work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

subs: dict[str, set[ServerConnection]] = defaultdict(set)
plant: set[ServerConnection] = set()


def _frame(data: dict[str, Any]) -> str:
    return json.dumps({"id": "1", "type": "next", "payload": {"data": data}}, separators=(",", ":"))


def _reading(tag: str) -> dict[str, Any]:
    return {"tag": tag, "value": round(20 + random.random(), 3), "sourceTime": datetime.now(UTC).isoformat()}


async def handler(ws: ServerConnection) -> None:
    await ws.recv()  # connection_init
    await ws.send('{"type":"connection_ack"}')
    sub = json.loads(await ws.recv())
    tags = (sub["payload"].get("variables") or {}).get("t")
    joined = subs[tags[0]] if tags else plant
    if not tags:
        await ws.send(_frame({"plantState": {"snapshot": True, "sensors": []}}))
    joined.add(ws)
    try:
        await ws.wait_closed()
    finally:
        joined.discard(ws)


async def broadcast_loop(rate: int, tags: list[str], interval: float, tick: float = 0.01) -> None:
    k, carry, n = 0, 0.0, 0
    start = last_plant = time.monotonic()
    while True:
        carry += rate * tick
        due, carry = int(carry), carry - int(carry)
        for _ in range(due):
            tag = tags[k % len(tags)]
            k += 1
            if subs.get(tag):
                broadcast(subs[tag], _frame({"sensorUpdates": _reading(tag)}))
        if plant and time.monotonic() - last_plant >= interval:
            last_plant = time.monotonic()
            broadcast(plant, _frame({"plantState": {"snapshot": False,
                                                    "sensors": [_reading(t) for t in tags]}}))
        n += 1
        await asyncio.sleep(max(0.0, start + n * tick - time.monotonic()))


async def run(port: int, rate: int, seconds: float, tags: list[str], interval: float, wait: float) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=None, compression=None):
        print("ready", flush=True)
        await asyncio.sleep(wait)  # clients connect
        task = asyncio.create_task(broadcast_loop(rate, tags, interval))
        await asyncio.sleep(seconds)
        task.cancel()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--wait", type=float, required=True)
    p.add_argument("--interval", type=float, default=0.25)
    p.add_argument("--tags", required=True)
    a = p.parse_args()
    asyncio.run(run(a.port, a.rate, a.seconds, a.tags.split(","), a.interval, a.wait))
