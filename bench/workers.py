"""`make bench-workers` (issue 12): read throughput of `plasmatwin serve --workers N` with 1 and 2 workers.

One PostgreSQL and one Redis on 127.0.0.1 (as the tests start them) hold the demo plant and population
(bench/peer.py's seed); two servers run at once on them, `serve --workers 1` and `serve --workers 2`,
both on the Redis bus so that only the worker count differs. wrk (2 threads, 10 connections) asks each
the plant graph and equipment(code) with a QA officer's bearer token, in interleaved rounds. Per query
and worker count: req/s, p50/p99, CPU per request of the server's processes (the supervisor and its
workers) and of PostgreSQL, then one line per query `scale plant|equipment X` (2 workers' req/s over 1's).

wrk, PostgreSQL and both servers share the machine (the core count is printed): with 2 cores, a second
worker gains only what wrk and PostgreSQL leave over. BENCH_WORKERS_SECONDS per round (10),
BENCH_WORKERS_ROUNDS (2), BENCH_WORKERS_WARMUP per query and server (2 s), BENCH_WORKERS_CONNECTIONS (10),
BENCH_WORKERS_QUERIES (plant,equipment; also batch, trace, typename).
Skips (exit 0) loudly without wrk, PostgreSQL or Redis. Never part of the test suite.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench import peer, request_cost, wrk
from tests import services

HERE = Path(__file__).resolve().parents[1]
COUNTS = (1, 2)
NAMES = ("plant", "equipment")  # BENCH_WORKERS_QUERIES adds others of bench/peer.py's (batch, trace, typename)
THREADS = 2


def _children_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each direct child (the workers) of a process."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                out[int(child)] = _tree_cpu(int(child))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return out


def _split(before: dict[int, float], after: dict[int, float]) -> str:
    """Each worker's share of the CPU its server spent in a round (does the kernel spread connections?)."""
    spent = {p: after[p] - before.get(p, 0.0) for p in after}
    total = sum(spent.values()) or 1.0
    return "/".join(f"{100 * v / total:.0f}%" for v in sorted(spent.values(), reverse=True))


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (uvicorn's supervisor and its workers)."""
    total = request_cost._cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                total += _tree_cpu(int(child))
            except (FileNotFoundError, ProcessLookupError):
                pass  # a helper process that just ended
    return total


@contextmanager
def _serve(url: str, redis_port: int, workers: int, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = services.free_port()
    env = {**os.environ, "PLASMATWIN_DATABASE_URL": url, "PLASMATWIN_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "PLASMATWIN_HOST": "127.0.0.1", "PLASMATWIN_PORT": str(port), "PLASMATWIN_DATA_DIR": str(log.parent),
           "PLASMATWIN_ACCESS_LOG": "false"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--workers", str(workers)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=HERE)
    try:
        services.wait_port(port, 60)
        yield proc, port
    except services.ServiceUnavailable:
        raise RuntimeError(f"serve --workers {workers} did not start: {log.read_text()[-2000:]}") from None
    finally:
        peer._stop(proc)


def _run_wrk(port: int, script: Path, seconds: int, connections: int) -> wrk.Round:
    out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}/graphql"], capture_output=True, text=True, check=False,
                         timeout=seconds + 60)
    return wrk.parse(out.stdout + out.stderr)


def measure(pg: services.Postgres, redis_port: int, url: str, work: Path) -> dict[str, tuple[wrk.Summary, ...]]:
    seconds = int(os.environ.get("BENCH_WORKERS_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_WORKERS_ROUNDS", "2"))
    warmup = int(os.environ.get("BENCH_WORKERS_WARMUP", "2"))
    connections = int(os.environ.get("BENCH_WORKERS_CONNECTIONS", "10"))
    equipment, batch = asyncio.run(peer._seed(url))
    postmaster = peer._postmaster(pg)
    names = os.environ.get("BENCH_WORKERS_QUERIES", ",".join(NAMES)).split(",")
    cases = {name: peer.queries(equipment, batch)[name][0] for name in names}
    with ExitStack() as stack:
        servers = [stack.enter_context(_serve(url, redis_port, n, work / f"workers-{n}.log")) for n in COUNTS]
        headers = {"Authorization": "Bearer " + peer._sign_in(servers[0][1])}
        print(f"wrk -t{THREADS} -c{connections}, {rounds} interleaved rounds of {seconds} s; equipment {equipment}; "
              "a QA officer's bearer token; both servers on PostgreSQL and the Redis bus")
        scripts: dict[str, Path] = {}
        for name, query in cases.items():
            fields, size = peer._answer(servers[0][1], query, headers)
            scripts[name] = work / f"{name}.lua"
            scripts[name].write_text(wrk.lua_script({"query": query}, headers))
            print(f"  {name:<10} answer: {fields} fields, {size:,} bytes")
            for _, port in servers:
                peer._answer(port, query, headers)
                if warmup:
                    _run_wrk(port, scripts[name], warmup, connections)
        samples: dict[tuple[str, int], list[tuple[wrk.Round, float, float]]] = {
            (name, i): [] for name in cases for i in range(len(COUNTS))}
        for n in range(rounds):
            for name in cases:
                for i, (proc, port) in enumerate(servers):
                    shares = _children_cpu(proc.pid)
                    cpu, db = _tree_cpu(proc.pid), peer.postgres_cpu(postmaster)
                    r = _run_wrk(port, scripts[name], seconds, connections)
                    cpu, db = _tree_cpu(proc.pid) - cpu, max(0.0, peer.postgres_cpu(postmaster) - db)
                    split = _split(shares, _children_cpu(proc.pid))
                    samples[name, i].append((r, cpu, db))
                    per = 1000 / max(r.requests, 1)
                    print(f"  round {n + 1} {name:<10} {COUNTS[i]} worker(s) {r.req_per_s:>8,.0f} req/s  p50 "
                          f"{r.p50_ms:.2f} ms  p99 {r.p99_ms:.2f} ms  CPU {cpu * per:.3f} ms/req  db {db * per:.3f}  "
                          f"workers' CPU {split}",
                          flush=True)
        for query in cases.values():  # the answers are still right after the load
            for _, port in servers:
                peer._answer(port, query, headers)
    return {name: tuple(wrk.summarize(samples[name, i]) for i in range(len(COUNTS))) for name in cases}


def main() -> int:
    try:
        subprocess.run(["wrk", "--version"], capture_output=True, check=False, timeout=30)
    except FileNotFoundError:
        return peer.skip("wrk is not installed (apt-get install wrk)")
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        return peer.skip(f"PostgreSQL cannot be started: {e}")
    try:
        redis = services.start_redis()
    except services.ServiceUnavailable as e:
        pg.stop()
        return peer.skip(f"Redis cannot be started: {e}")
    print(f"{os.cpu_count()} cores shared by wrk, PostgreSQL, Redis and both servers; "
          f"load average {os.getloadavg()[0]:.1f} at start")
    try:
        with tempfile.TemporaryDirectory() as d:
            results = measure(pg, redis.port, pg.create_database("workers"), Path(d))
    finally:
        redis.stop()
        pg.stop()
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end; p50/p99: median over rounds; "
          "CPU: the server's processes, db: PostgreSQL, per request")
    labels = tuple(f"{n} worker{'s' if n > 1 else ''}" for n in COUNTS)
    for line in wrk.table({name: (pair[0], pair[1]) for name, pair in results.items()}, (labels[0], labels[1])):
        print(line)
    for name, pair in results.items():
        print(f"scale {name} {wrk.ratio(pair[1], pair[0]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
