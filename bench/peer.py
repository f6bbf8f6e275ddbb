"""`make bench-peer` (issue 12): PlasmaTwin and PostGraphile 5 side by side on the same PostgreSQL.

One PostgreSQL on 127.0.0.1 (as the tests start it) holds the demo plant and the demo's synthetic
population; `plasmatwin serve` (one process) and PostGraphile 5 (amber preset, Node 22, installed into
var/bench-peer/ by scripts/bench-peer-deps.sh) both serve it on 127.0.0.1. wrk (10 connections) sends
equivalent queries in interleaved rounds: every query on ours, then on theirs, round after round.
Per query and server: req/s, p50/p99 latency, and the CPU per request of the server process and of
PostgreSQL (from /proc before and after each round). Our requests carry a signed-in QA officer's
bearer token; PostGraphile runs without authentication (no JWT, no row-level security).

BENCH_PEER_SECONDS sets the length of a round (default 10), BENCH_PEER_ROUNDS their number (2),
BENCH_PEER_WARMUP the warm-up per query and server (2 s). Skips (exit 0) with a loud message when
Node, PostGraphile, wrk or PostgreSQL is not there. Never part of the test suite.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import request_cost, wrk
from tests import services

HERE = Path(__file__).resolve().parents[1]
PEER = HERE / "var" / "bench-peer" / "node_modules"
NODE = PEER / "node" / "bin" / "node"
POSTGRAPHILE = PEER / "postgraphile" / "dist" / "cli-run.js"
CONNECTIONS = 10
THREADS = 2
USER, PASSWORD = "bench.peer", "bench peer password 1"
LABELS = ("PlasmaTwin", "PostGraphile")
RATIOS = ("plant", "equipment", "batch", "trace")


def queries(equipment: str, batch: str) -> dict[str, tuple[str, str]]:
    """Per case (ours, theirs): the same rows and columns asked of each schema. PostGraphile's plant
    reaches rooms through areas (ours lists them on the plant); our trace is the graph API's answer
    (nodes and edges, the stations included), theirs the nested rows of the same units and donors."""
    return {
        "plant": (
            "{ plants { code name rooms { code name grade equipment { code name kind status "
            "sensors { tag name unit lowLimit highLimit } } } } }",
            "{ allPlants { nodes { code name areasByPlantId { nodes { roomsByAreaId { nodes { code name grade "
            "equipmentByRoomId { nodes { code name kind status sensorsByEquipmentId { nodes { tag name unit "
            "lowLimit highLimit } } } } } } } } } } }"),
        "equipment": (
            f'{{ equipment(code: "{equipment}") {{ code name kind status }} }}',
            f'{{ equipmentByCode(code: "{equipment}") {{ code name kind status }} }}'),
        "batch": (
            f'{{ batch(batchNumber: "{batch}") {{ batchNumber product status poolCodes }} }}',
            f'{{ batchByBatchNumber(batchNumber: "{batch}") {{ batchNumber product status '
            "batchPoolsByBatchId { nodes { poolByPoolId { code } } } } }"),
        "trace": (
            f'{{ traceBackward(code: "{batch}") {{ nodes {{ kind code }} edges {{ source target }} }} }}',
            f'{{ batchByBatchNumber(batchNumber: "{batch}") {{ batchNumber batchPoolsByBatchId {{ nodes {{ '
            "poolByPoolId { code plasmaUnitsByPoolId { nodes { donationNumber donorByDonorId { cardNumber } "
            "plasmaStationByStationId { code } } } } } } } }"),
        "typename": ("{ __typename }", "{ __typename }"),
    }


def skip(reason: str) -> int:
    print("*" * 72)
    print(f"* bench-peer SKIPPED: {reason}")
    print("*" * 72)
    return 0


def _missing() -> str | None:
    if not NODE.exists() or not POSTGRAPHILE.exists():
        return f"Node 22 or PostGraphile 5 is not installed in {PEER.parent} (scripts/bench-peer-deps.sh: no network?)"
    try:
        subprocess.run([str(NODE), "--version"], capture_output=True, check=True, timeout=30)
        subprocess.run(["wrk", "--version"], capture_output=True, check=False, timeout=30)
    except FileNotFoundError:
        return "wrk is not installed (apt-get install wrk)"
    except (OSError, subprocess.SubprocessError) as e:
        return f"the local Node does not run: {e}"
    return None


async def _seed(url: str) -> tuple[str, str]:
    """The demo plant and population and a bench user; the first equipment code and batch number."""
    from sqlalchemy import text

    from api.seed import NewUser, seed_roles, seed_users
    from demo.plant import DEMO_PLANT
    from demo.population import generate
    from demo.seed import seed_plant, seed_stations
    from records.db import Database
    from records.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        await seed_roles(db)
        await seed_plant(db, DEMO_PLANT)
        await seed_stations(db)
        await generate(db)
        await seed_users(db, [NewUser(USER, "Bench peer reader", ("qa_officer",), PASSWORD)])
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            equipment = (await conn.execute(text("SELECT code FROM equipment ORDER BY id LIMIT 1"))).scalar_one()
            batch = (await conn.execute(text("SELECT batch_number FROM batch ORDER BY id LIMIT 1"))).scalar_one()
            await conn.commit()
        return str(equipment), str(batch)
    finally:
        await db.dispose()


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of PostgreSQL so far: the postmaster, its reaped children and its live backends."""
    tick = os.sysconf("SC_CLK_TCK")
    f = _stat(postmaster)
    total = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = _stat(int(d.name))
            except OSError:
                continue
            if int(f[1]) == postmaster:
                total += int(f[11]) + int(f[12])
    return total / tick


def _postmaster(pg: services.Postgres) -> int:
    return int((pg.datadir / "postmaster.pid").read_text().split()[0])


@contextmanager
def _postgraphile(url: str, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = services.free_port()
    conn = url.replace("postgresql+asyncpg://", "postgres://")
    env = {**os.environ, "GRAPHILE_ENV": "production", "NODE_ENV": "production"}
    with log.open("wb") as out:
        proc = subprocess.Popen([str(NODE), str(POSTGRAPHILE), "-P", "postgraphile/presets/amber", "-c", conn,
                                 "-s", "public", "-n", "127.0.0.1", "-p", str(port)],
                                cwd=PEER.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            services.wait_port(port, 90)
        except services.ServiceUnavailable:
            raise RuntimeError(f"PostGraphile did not start: {log.read_text()[-2000:]}") from None
        yield proc, port
    finally:
        _stop(proc)


@contextmanager
def _ours(url: str, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    proc, port = request_cost._start(url, log)
    try:
        yield proc, port
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _leaves(x: Any) -> int:
    if isinstance(x, dict):
        return sum(_leaves(v) for v in x.values())
    if isinstance(x, list):
        return sum(_leaves(v) for v in x)
    return 1


def _answer(port: int, query: str, headers: dict[str, str]) -> tuple[int, int]:
    """Ask once: (leaf fields, bytes) of the answer; RuntimeError when it has errors or no data."""
    r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, headers=headers, timeout=60)
    body = r.json()
    if r.status_code != 200 or body.get("errors") or not body.get("data") or None in body["data"].values():
        raise RuntimeError(f"{query[:60]}... answered {r.status_code}: {r.text[:400]}")
    return _leaves(body["data"]), len(r.content)


def _sign_in(port: int) -> str:
    r = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=60, json={
        "query": "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}",
        "variables": {"u": USER, "p": PASSWORD}})
    return str(r.json()["data"]["signIn"]["token"])


def _run_wrk(port: int, script: Path, seconds: int) -> wrk.Round:
    out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}/graphql"], capture_output=True, text=True, check=False,
                         timeout=seconds + 60)
    return wrk.parse(out.stdout + out.stderr)


def _versions() -> str:
    pkg = json.loads((PEER / "postgraphile" / "package.json").read_text())
    node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    w = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return f"PostGraphile {pkg['version']} on Node {node}, {(w.stdout + w.stderr).split(' [')[0]}"


def measure(pg: services.Postgres, url: str, work: Path) -> dict[str, tuple[wrk.Summary, wrk.Summary]]:
    seconds = int(os.environ.get("BENCH_PEER_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_PEER_ROUNDS", "2"))
    warmup = int(os.environ.get("BENCH_PEER_WARMUP", "2"))
    equipment, batch = asyncio.run(_seed(url))
    postmaster = _postmaster(pg)
    with _ours(url, work / "plasmatwin.log") as (ours, our_port), \
            _postgraphile(url, work / "postgraphile.log") as (theirs, their_port):
        servers: tuple[tuple[subprocess.Popen[bytes], int, dict[str, str]], ...] = (
            (ours, our_port, {"Authorization": "Bearer " + _sign_in(our_port)}),
            (theirs, their_port, {}))
        cases = queries(equipment, batch)
        print(f"{_versions()}; wrk -t{THREADS} -c{CONNECTIONS}, {rounds} interleaved rounds of {seconds} s; "
              f"equipment {equipment}, batch {batch}")
        print("PlasmaTwin with a QA officer's bearer token; PostGraphile without authentication (amber preset)")
        scripts: dict[tuple[str, int], Path] = {}
        for name, pair in cases.items():
            sizes = []
            for side, ((_, port, headers), query) in enumerate(zip(servers, pair, strict=True)):
                sizes.append(_answer(port, query, headers))
                scripts[name, side] = work / f"{name}-{side}.lua"
                scripts[name, side].write_text(wrk.lua_script({"query": query}, headers))
            print(f"  {name:<10} answer: {LABELS[0]} {sizes[0][0]} fields, {sizes[0][1]:,} bytes; "
                  f"{LABELS[1]} {sizes[1][0]} fields, {sizes[1][1]:,} bytes")
            if warmup:
                for side, (_, port, _) in enumerate(servers):
                    _run_wrk(port, scripts[name, side], warmup)
        samples: dict[tuple[str, int], list[tuple[wrk.Round, float, float]]] = {k: [] for k in scripts}
        for n in range(rounds):
            for name in cases:
                for side, (proc, port, _) in enumerate(servers):
                    cpu, db = request_cost._cpu_seconds(proc.pid), postgres_cpu(postmaster)
                    r = _run_wrk(port, scripts[name, side], seconds)
                    # A backend's time moves to the postmaster's only when it is reaped: never below zero.
                    cpu, db = request_cost._cpu_seconds(proc.pid) - cpu, max(0.0, postgres_cpu(postmaster) - db)
                    samples[name, side].append((r, cpu, db))
                    per = 1000 / max(r.requests, 1)
                    print(f"  round {n + 1} {name:<10} {LABELS[side]:<13} {r.req_per_s:>8,.0f} req/s  p50 "
                          f"{r.p50_ms:.2f} ms  p99 {r.p99_ms:.2f} ms  CPU {cpu * per:.3f} ms/req  db {db * per:.3f}",
                          flush=True)
        for name, side in scripts:  # the answers are still right after the load
            _answer(servers[side][1], cases[name][side], servers[side][2])
    return {name: (wrk.summarize(samples[name, 0]), wrk.summarize(samples[name, 1])) for name in cases}


def main() -> int:
    missing = _missing()
    if missing:
        return skip(missing)
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        return skip(f"PostgreSQL cannot be started: {e}")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    try:
        with tempfile.TemporaryDirectory() as d:
            results = measure(pg, pg.create_database("peer"), Path(d))
    finally:
        pg.stop()
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end; p50/p99: median over rounds; "
          "CPU: server process, db: PostgreSQL, per request")
    for line in wrk.table(results, LABELS):
        print(line)
    for line in wrk.ratio_lines(results, RATIOS):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
