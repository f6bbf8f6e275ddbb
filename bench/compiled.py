"""Reads compiled to SQL against the normal path (issue 12): server CPU per request and requests per
second for the plant graph, `equipment(code)` and `batch(batchNumber)` with its pools (the queries of
`make bench-peer`), and the plant graph with live values from the twin, in-process on the demo plant.

Requests go straight to the ASGI app (no HTTP client in the measured CPU), one at a time, with a bearer
token. CPU is this process's (the app, SQLite's work in its thread, the driver); PostgreSQL's own
backend CPU is not counted. Rounds alternate normal and compiled; medians of BENCH_COMPILED_ROUNDS
rounds (5) of BENCH_COMPILED_REQUESTS requests (200; the plant graph a fifth of that) are reported.
The machine is shared: the numbers are indicative, the ratio between the two paths is the point.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.app import InProcess, in_process

PLANT = ("{ plants { code name rooms { code name grade equipment { code name kind status "
         "sensors { tag name unit lowLimit highLimit } } } } }")
PLANT_LIVE = ("{ plants { id name rooms { id name equipment { code name status "
              "sensors { tag unit value quality } } } } }")


def queries(equipment: str, batch: str) -> dict[str, str]:
    return {
        "plant": PLANT,
        "plant+live": PLANT_LIVE,
        "equipment": f'{{ equipment(code: "{equipment}") {{ code name kind status }} }}',
        "batch": f'{{ batch(batchNumber: "{batch}") {{ batchNumber product status poolCodes }} }}',
    }


async def _prepare(db: Any) -> None:
    from demo import population
    from demo.plant import DEMO_PLANT
    from demo.seed import seed_plant, seed_stations

    await seed_plant(db, DEMO_PLANT)
    await seed_stations(db)
    await population.generate(db, population.Population(donors=200, units=800, pools=8, lots_per_batch=1,
                                                        cases_per_lot=1, cartons_per_case=1, units_per_carton=1))


async def _post(app: Any, body: bytes, token: bytes) -> bytes:
    """One POST /graphql through the ASGI app; the response body."""
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"authorization", token),
               (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("bench", 80)}
    done = False
    out: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            await asyncio.sleep(3600)
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(out)


async def _round(app: Any, body: bytes, token: bytes, n: int) -> tuple[float, float]:
    """CPU ms per request and requests per second over `n` requests."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await _post(app, body, token)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / n * 1000, n / wall


async def _measure(ip: InProcess, requests: int, rounds: int) -> dict[str, Any]:
    from sqlalchemy import select

    from records.plant import Equipment, Sensor
    from records.plasma import Batch
    from records.readings import Quality, Reading
    from resolvers.compiled_reads import CATALOG

    async with ip.db.read() as s:
        equipment = (await s.execute(select(Equipment.code).order_by(Equipment.id))).scalars().first()
        batch = (await s.execute(select(Batch.batch_number).order_by(Batch.id))).scalars().first()
        tags = list((await s.execute(select(Sensor.tag))).scalars())
    now = datetime.now(UTC)
    for i, tag in enumerate(tags):
        ip.services.twin.observe(Reading(tag, 20.0 + i / 8, Quality.GOOD, now, now))
    engine = ip.app.router.routes[0].app.http.engine
    token = (await ip.token("qa.one"))["authorization"].encode()
    out: dict[str, Any] = {"database": ip.db.engine.dialect.name}
    for case, query in queries(str(equipment), str(batch)).items():
        body = json.dumps({"query": query}).encode()
        answers = {}
        for mode, catalog in (("normal", None), ("compiled", CATALOG)):
            engine.catalog = catalog
            answers[mode] = json.loads(await _post(ip.app, body, token))
            assert "errors" not in answers[mode], answers[mode]
        assert answers["normal"] == answers["compiled"], f"{case}: the compiled answer differs"
        n = max(10, requests // 5) if case.startswith("plant") else requests
        samples: dict[str, list[tuple[float, float]]] = {"normal": [], "compiled": []}
        for _ in range(rounds):
            for mode, catalog in (("normal", None), ("compiled", CATALOG)):
                engine.catalog = catalog
                await _round(ip.app, body, token, max(3, n // 10))  # warm
                samples[mode].append(await _round(ip.app, body, token, n))
        row: dict[str, Any] = {"fields": _fields(answers["compiled"]["data"])}
        for mode, got in samples.items():
            row[f"{mode}_cpu_ms"] = round(statistics.median(c for c, _ in got), 3)
            row[f"{mode}_rps"] = round(statistics.median(r for _, r in got))
        row["cpu_ratio"] = round(row["normal_cpu_ms"] / row["compiled_cpu_ms"], 1)
        out[case] = row
    engine.catalog = CATALOG
    return out


def _fields(value: Any) -> int:
    """Leaf values in an answer (list items and object fields), to show each query's size."""
    if isinstance(value, dict):
        return sum(_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(_fields(v) for v in value)
    return 1


async def run_store(url: str | None = None) -> dict[str, Any]:
    requests = int(os.environ.get("BENCH_COMPILED_REQUESTS", "200"))
    rounds = int(os.environ.get("BENCH_COMPILED_ROUNDS", "5"))
    async with in_process(_prepare, url) as ip, ip.app.router.lifespan_context(ip.app):
        return await _measure(ip, requests, rounds)  # started as served: the verified-token cache works


def main() -> None:
    from tests import services

    print("reads compiled to SQL vs the normal path (in-process, qa.one's token; medians; indicative):")
    print("  " + json.dumps(asyncio.run(run_store())))
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        print(f"  PostgreSQL skipped: {e}")
        return
    try:
        print("  " + json.dumps(asyncio.run(run_store(pg.create_database("compiled")))))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
