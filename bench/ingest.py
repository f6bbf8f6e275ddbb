"""The live path end to end, each part in its own process as in production:
MQTT publisher -> Mosquitto -> device bridge -> HTTP /ingest -> core (twin, storage, bus) -> WebSocket
subscribers. Prints sustained readings per second offered, ingested and stored, reading-to-subscriber
latency (publisher clock to client clock, one machine), CPU and resident memory of core and bridge.

Knobs (environment): BENCH_INGEST_SECONDS (default 30; 600 for the 10-minute memory run),
BENCH_INGEST_RATE (readings/s offered, default 20000), BENCH_INGEST_SUBSCRIBERS (default 500),
BENCH_INGEST_MODE (`tag`: each client follows one tag with sensorUpdates; `plant`: plantState).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests import services

HERE = Path(__file__).resolve().parents[1]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


async def _prepare(url: str, password: str) -> list[str]:
    from api.seed import NewUser, seed_roles, seed_users
    from demo.plant import DEMO_PLANT, all_sensors
    from demo.seed import seed_plant
    from records.db import Database
    from records.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await seed_roles(db)
    await seed_plant(db, DEMO_PLANT)
    await seed_users(db, [NewUser("bench.bridge", "Bench bridge", ("device_bridge",), password),
                          NewUser("bench.viewer", "Bench viewer", ("operator",), password)])
    await db.dispose()
    return [f"{DEMO_PLANT.site_code}/A/{r.code}/_/{s.tag}" for r, _, s in all_sensors(DEMO_PLANT)]


def _token(base: str, user: str, password: str) -> str:
    r = httpx.post(f"{base}/graphql", json={
        "query": "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}",
        "variables": {"u": user, "p": password}}, timeout=30)
    return str(r.json()["data"]["signIn"]["token"])


def _proc_stats(pid: int) -> tuple[float, float]:
    """CPU seconds used so far and resident MiB of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:")) / 1024
    return cpu, rss


def _metric(text: str, name: str) -> float:
    return next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")), 0.0)


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, cwd=HERE)


def run() -> dict[str, Any]:
    seconds = _env_int("BENCH_INGEST_SECONDS", 30)
    rate = _env_int("BENCH_INGEST_RATE", 20_000)
    subscribers = _env_int("BENCH_INGEST_SUBSCRIBERS", 500)
    mode = os.environ.get("BENCH_INGEST_MODE", "tag")
    password = secrets.token_urlsafe(12)
    procs: list[subprocess.Popen[bytes]] = []
    broker = services.start_mosquitto()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url = f"sqlite+aiosqlite:///{tmp / 'core.db'}"
        topics = asyncio.run(_prepare(url, password))
        port = services.free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            core = _spawn(["-m", "api.cli", "serve"], tmp / "core.log", {
                "PLASMATWIN_DATABASE_URL": url, "PLASMATWIN_HOST": "127.0.0.1", "PLASMATWIN_PORT": str(port)})
            procs.append(core)
            services.wait_port(port, 60)
            (tmp / "bridge.toml").write_text(
                f'[bridge]\nname = "bench"\nbuffer = "buffer.db"\nbatch_max = 2000\n'
                f'[core]\nurl = "{base}"\ntoken_env = "BENCH_TOKEN"\n'
                f'[[mqtt]]\nurl = "mqtt://127.0.0.1:{broker.port}"\ntopic = "SITE-01/#"\nclient_id = "bench-bridge"\n')
            bridge = _spawn(["-m", "api.cli", "bridge", "--config", str(tmp / "bridge.toml"), "--log-level",
                             "WARNING"], tmp / "bridge.log", {"BENCH_TOKEN": _token(base, "bench.bridge", password)})
            procs.append(bridge)
            time.sleep(2)
            clients = _spawn(["-m", "bench.ingest_clients", "--url", base.replace("http", "ws") + "/graphql",
                              "--token", _token(base, "bench.viewer", password), "--n", str(subscribers),
                              "--mode", mode, "--tags", ",".join(t.rsplit("/", 1)[1] for t in topics),
                              "--seconds", str(seconds + 8), "--out", str(tmp / "clients.json")],
                             tmp / "clients.log", {})
            procs.append(clients)
            time.sleep(min(20, 2 + subscribers / 100))  # connections established
            c0, _ = _proc_stats(core.pid)
            b0, _ = _proc_stats(bridge.pid)
            _, rss0 = _proc_stats(core.pid)
            publisher = _spawn(["-m", "bench.ingest_publisher", "--port", str(broker.port), "--rate", str(rate),
                                "--seconds", str(seconds), "--topics", ",".join(topics)], tmp / "publisher.log", {})
            procs.append(publisher)
            start = time.monotonic()
            first = httpx.get(f"{base}/metrics", timeout=30).text
            rss_samples = []
            while publisher.poll() is None:
                time.sleep(5)
                rss_samples.append(round(_proc_stats(core.pid)[1], 1))
            elapsed = time.monotonic() - start
            last = httpx.get(f"{base}/metrics", timeout=30).text
            c1, rss1 = _proc_stats(core.pid)
            b1, _ = _proc_stats(bridge.pid)
            published = json.loads((tmp / "publisher.log").read_text().strip().splitlines()[-1])
            time.sleep(5)  # backlog drains
            drained = httpx.get(f"{base}/metrics", timeout=30).text
            clients.wait(timeout=60 + subscribers / 10)
            seen = json.loads((tmp / "clients.json").read_text())
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
            broker.stop()

    window = published["seconds"]  # readings flow while the publisher runs

    def per_s(name: str) -> float:
        return round((_metric(last, name) - _metric(first, name)) / window, 0)

    return {
        "mode": mode, "seconds": round(elapsed, 1), "subscribers": seen["connected"],
        "offered_per_s": round(published["sent"] / window, 0),
        "ingested_per_s": per_s("plasmatwin_readings_ingested_total"),
        "stored_per_s": per_s("plasmatwin_readings_stored_total"),
        "stored_total_after_drain": _metric(drained, "plasmatwin_readings_stored_total"),
        "published_total": published["sent"],
        "deliveries_per_s": round(seen["deliveries"] / window, 0),
        "latency_ms_p50": seen["p50_ms"], "latency_ms_p99": seen["p99_ms"],
        "core_cpu_pct": round(100 * (c1 - c0) / window, 0), "bridge_cpu_pct": round(100 * (b1 - b0) / window, 0),
        "core_rss_mib_start": round(rss0, 1), "core_rss_mib_end": round(rss1, 1), "core_rss_mib_samples": rss_samples,
    }


if __name__ == "__main__":
    print(json.dumps(run()))
