"""Server CPU per request (issue 12): `plasmatwin serve` in its own process on a fresh SQLite store,
hammered over keep-alive HTTP/1.1 connections by a minimal client in this process; the server's
CPU time (user + system, from /proc) over the requests it answered. The client's CPU is not counted.

Cases: `{ __typename }` with and without a bearer token, `equipment(code)` (4 fields) with a token,
and `{ __typename }` sent as an automatic persisted query (hash only, GET) with a token.
BENCH_REQUESTS sets the requests per case (default 4,000), BENCH_CONNECTIONS the connections (4).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from tests import services

TYPENAME = "{ __typename }"
EQUIPMENT = '{ equipment(code: "EQ-1") { code name kind status } }'


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _post(query: str, token: str | None) -> bytes:
    body = json.dumps({"query": query}).encode()
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    return (f"POST /graphql HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n{auth}"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


def _get_persisted(query: str, token: str | None) -> bytes:
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}}, separators=(",", ":"))
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    return f"GET /graphql?extensions={urllib.parse.quote(ext)} HTTP/1.1\r\nhost: bench\r\n{auth}\r\n".encode()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    body = await reader.readexactly(length)
    if status != b"200" or b'"errors"' in body:
        raise RuntimeError(f"bench request failed: {status!r} {body[:300]!r}")
    return body


async def _hammer(port: int, request: bytes, total: int, connections: int) -> float:
    """Send `request` `total` times over `connections` keep-alive connections; the wall time."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    remaining = [total]

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await _exchange(reader, writer, request)

    start = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in conns))
    wall = time.perf_counter() - start
    for _, w in conns:
        w.close()
    return wall


async def _seed(url: str) -> None:
    from api.seed import seed_roles
    from records.db import Database
    from records.migrate import upgrade
    from resolvers import identity
    from tests.conftest import add_users
    from tests.signing_env import add_tiny_plant

    identity.configure_hashing(time_cost=1, memory_kib=1024, parallelism=1)
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await seed_roles(db)
    await add_users(db)
    await add_tiny_plant(db)
    await db.dispose()


def _start(url: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = services.free_port()
    env = {**os.environ, "PLASMATWIN_DATABASE_URL": url, "PLASMATWIN_HOST": "127.0.0.1",
           "PLASMATWIN_PORT": str(port), "PLASMATWIN_DATA_DIR": str(log.parent),
           "PLASMATWIN_ACCESS_LOG": "false"}  # as PostGraphile, which logs no request (bench/peer.py)
    env.pop("PLASMATWIN_REDIS_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
    try:
        services.wait_port(port, 60)
    except services.ServiceUnavailable:
        proc.kill()
        raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}") from None
    return proc, port


async def _measure(pid: int, port: int, token: str, total: int, connections: int) -> dict[str, Any]:
    cases = {
        "typename_anonymous": _post(TYPENAME, None),
        "typename_bearer": _post(TYPENAME, token),
        "equipment_bearer": _post(EQUIPMENT, token),
        "typename_bearer_apq_get": _get_persisted(TYPENAME, token),
    }
    # Register the persisted query once (hash and text), as an APQ client does after a miss.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    digest = hashlib.sha256(TYPENAME.encode()).hexdigest()
    body = json.dumps({"query": TYPENAME, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})
    register = (f"POST /graphql HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
                f"authorization: Bearer {token}\r\ncontent-length: {len(body)}\r\n\r\n{body}").encode()
    try:
        await _exchange(reader, writer, register)
        await _exchange(reader, writer, cases["typename_bearer_apq_get"])
    except RuntimeError:  # a server without persisted queries: that case is left out
        cases.pop("typename_bearer_apq_get")
    writer.close()
    out: dict[str, Any] = {}
    for name, request in cases.items():
        await _hammer(port, request, max(200, total // 10), connections)  # warm: caches, pools, JIT-free paths
        before = _cpu_seconds(pid)
        wall = await _hammer(port, request, total, connections)
        cpu = _cpu_seconds(pid) - before
        out[name] = {"cpu_ms_per_request": round(cpu * 1000 / total, 3), "req_per_s": round(total / wall)}
    return out


async def _sign_in(port: int) -> str:
    from tests.conftest import token_at

    return await token_at(f"http://127.0.0.1:{port}", "op.one")


def run_store(url: str, total: int | None = None, connections: int | None = None) -> dict[str, Any]:
    """The cases against one store (a fresh database URL: SQLite file or PostgreSQL)."""
    total = total or int(os.environ.get("BENCH_REQUESTS", "4000"))
    connections = connections or int(os.environ.get("BENCH_CONNECTIONS", "4"))
    asyncio.run(_seed(url))
    with tempfile.TemporaryDirectory() as d:
        proc, port = _start(url, Path(d) / "server.log")
        try:
            token = asyncio.run(_sign_in(port))
            result = asyncio.run(_measure(proc.pid, port, token, total, connections))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"database": url.split(":", 1)[0].split("+", 1)[0], "requests": total, "connections": connections,
            **result}


def run() -> list[dict[str, Any]]:
    """SQLite, and PostgreSQL when one can be started here."""
    results = []
    with tempfile.TemporaryDirectory() as d:
        results.append(run_store(f"sqlite+aiosqlite:///{d}/cost.db"))
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        print(f"  PostgreSQL request cost skipped: {e}")
    else:
        try:
            results.append(run_store(pg.create_database("cost")))
        finally:
            pg.stop()
    return results


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
