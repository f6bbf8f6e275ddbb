"""The live path end to end, each part in its own process as in production:
MQTT publisher -> Mosquitto -> device bridge -> HTTP /ingest -> core (twin, storage, bus) -> WebSocket
subscribers. Prints sustained readings per second offered, ingested and stored, reading-to-subscriber
latency (publisher clock to client clock, one machine), CPU and resident memory of core and bridge.

Per stage (bench/ingest_stages.py stamps the bridge and the core in their own processes): how long
after its source time a reading reached each stage, p50/p99, and the raw ceiling beside it: a minimal
`websockets` server (bench/ingest_ceiling.py) sending frames of the same shape, rate and fan-out to
the same number of the same clients, measured right after on the same machine.

Knobs (environment): BENCH_INGEST_SECONDS (default 30; 600 for the 10-minute memory run),
BENCH_INGEST_RATE (readings/s offered, default 20000), BENCH_INGEST_SUBSCRIBERS (default 500),
BENCH_INGEST_MODE (`tag`: each client follows one tag with sensorUpdates; `plant`: plantState),
BENCH_INGEST_WINDOW (the bridge's batches in flight, default 4; 1 = one at a time),
BENCH_INGEST_BATCH (the bridge's batch_max, default 2000),
BENCH_INGEST_CEILING=0 skips the raw ceiling,
BENCH_INGEST_WARMUP (seconds after the first reading before latency counts, default 1; the same for the
ceiling; 0 counts everything).

Each publisher batch is stamped as it is published (a device stamps its reading as it sends it): the
bench's one MQTT client publishing every device's batch in turn is not part of the path measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests import services

HERE = Path(__file__).resolve().parents[1]


ALARMS = "plasmatwin_alarms_raised_total"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


async def _prepare(url: str, password: str) -> dict[str, float]:
    """The demo plant in a new store, and each sensor's MQTT topic with the value it reads in steady state."""
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
    return {f"{DEMO_PLANT.site_code}/A/{r.code}/_/{s.tag}": s.nominal for r, _, s in all_sensors(DEMO_PLANT)}


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


def _machine_busy() -> tuple[float, float]:
    """Busy and total jiffies of all cores so far (Linux /proc/stat): idle and iowait are not busy."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def _metric(text: str, name: str) -> float:
    return next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")), 0.0)


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, cwd=HERE)


def _pct(values: list[float]) -> tuple[float, float]:
    if len(values) < 100:
        return (round(statistics.median(values), 1), round(max(values), 1)) if values else (0.0, 0.0)
    q = statistics.quantiles(values, n=100)
    return round(q[49], 1), round(q[98], 1)


def _stages(*files: Path) -> dict[str, tuple[float, float]]:
    """Stage -> (p50, p99) ms after the reading's source time, in the order a reading passes them."""
    out: dict[str, tuple[float, float]] = {}
    for f in files:
        if f.exists():  # a stage with no sample (no full collection in the run) is left out
            out.update({k: _pct(v) for k, v in json.loads(f.read_text()).items() if v})
    return dict(sorted(out.items(), key=lambda kv: kv[1][0]))


def table(result: dict[str, Any]) -> str:
    """The per-stage table, ending with the client and the raw ceiling."""
    rows = [f"{'stage (ms after the reading was published)':<50} {'p50':>8} {'p99':>8}"]
    rows += [f"{k:<50} {v[0]:>8} {v[1]:>8}" for k, v in result["stages"].items()]
    rows.append(f"{'client: received (end to end)':<50} {result['latency_ms_p50']:>8} {result['latency_ms_p99']:>8}")
    c = result.get("ceiling")
    if c:
        rows.append(f"{'raw ceiling: websockets broadcast, same frames':<50} {c['p50_ms']:>8} {c['p99_ms']:>8}")
        rows.append(f"ratio p99 PlasmaTwin / ceiling: {result['ratio_p99']}  (deliveries/s {result['deliveries_per_s']}"
                    f" vs ceiling {c['deliveries_per_s']})")
    rows.append("CPU, % of one core: core {core_cpu_pct}, bridge {bridge_cpu_pct}, publisher {publisher_cpu_pct}, "
                "mosquitto {mosquitto_cpu_pct}, clients {clients_cpu_pct}; whole machine {machine_busy_pct} of "
                "{machine_cores}00".format(**result))
    return "\n".join(rows)


def ceiling(rate: int, seconds: int, subscribers: int, mode: str, tags: list[str], token: str, tmp: Path,
            interval: float) -> dict[str, Any]:
    """The same clients against a minimal websockets broadcast of the same frames (bench/ingest_ceiling.py)."""
    port = services.free_port()
    wait = min(20, 2 + subscribers / 100)
    server = _spawn(["-m", "bench.ingest_ceiling", "--port", str(port), "--rate", str(rate), "--seconds",
                     str(seconds), "--wait", str(wait), "--interval", str(interval), "--tags", ",".join(tags)],
                    tmp / "ceiling.log", {})
    try:
        services.wait_port(port, 30)
        clients = _spawn(["-m", "bench.ingest_clients", "--url", f"ws://127.0.0.1:{port}/", "--token", token,
                          "--n", str(subscribers), "--mode", mode, "--tags", ",".join(tags),
                          "--seconds", str(seconds + wait), "--out", str(tmp / "ceiling.json"),
                          "--warmup", os.environ.get("BENCH_INGEST_WARMUP", "1")],
                         tmp / "ceiling-clients.log", {})
        clients.wait(timeout=120 + seconds + subscribers / 10)
        seen: dict[str, Any] = json.loads((tmp / "ceiling.json").read_text())
    finally:
        server.terminate()
        server.wait(15)
    seen["deliveries_per_s"] = round(seen["deliveries"] / seconds, 0)
    return seen


def run(at_rate: int | None = None, to_subscribers: int | None = None) -> dict[str, Any]:
    """One run at `at_rate` readings/s to `to_subscribers` clients (BENCH_INGEST_RATE, _SUBSCRIBERS when not given)."""
    seconds = env_int("BENCH_INGEST_SECONDS", 30)
    rate = at_rate or env_int("BENCH_INGEST_RATE", 20_000)
    subscribers = to_subscribers or env_int("BENCH_INGEST_SUBSCRIBERS", 500)
    mode = os.environ.get("BENCH_INGEST_MODE", "tag")
    window = env_int("BENCH_INGEST_WINDOW", 4)
    batch = env_int("BENCH_INGEST_BATCH", 2000)
    flood = os.environ.get("BENCH_INGEST_FLOOD", "0") == "1"  # an alarm flood ten seconds in
    warmup = float(os.environ.get("BENCH_INGEST_WARMUP", "1"))
    password = secrets.token_urlsafe(12)
    procs: list[subprocess.Popen[bytes]] = []
    broker = services.start_mosquitto()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url = f"sqlite+aiosqlite:///{tmp / 'core.db'}"
        nominal = asyncio.run(_prepare(url, password))
        topics = list(nominal)
        (tmp / "nominal.json").write_text(json.dumps(nominal))
        port = services.free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            core = _spawn(["-m", "bench.ingest_stages", "core"], tmp / "core.log", {
                "BENCH_STAGES_OUT": str(tmp / "core-stages.json"), "PLASMATWIN_DATABASE_URL": url,
                "PLASMATWIN_HOST": "127.0.0.1", "PLASMATWIN_PORT": str(port)})
            procs.append(core)
            services.wait_port(port, 60)
            (tmp / "bridge.toml").write_text(
                f'[bridge]\nname = "bench"\nbuffer = "buffer.db"\nbatch_max = {batch}\nwindow = {window}\n'
                f'[core]\nurl = "{base}"\ntoken_env = "BENCH_TOKEN"\n'
                f'[[mqtt]]\nurl = "mqtt://127.0.0.1:{broker.port}"\ntopic = "SITE-01/#"\nclient_id = "bench-bridge"\n')
            bridge = _spawn(["-m", "bench.ingest_stages", "bridge", "--config", str(tmp / "bridge.toml"),
                             "--log-level", "WARNING"], tmp / "bridge.log",
                            {"BENCH_TOKEN": _token(base, "bench.bridge", password),
                             "BENCH_STAGES_OUT": str(tmp / "bridge-stages.json")})
            procs.append(bridge)
            time.sleep(2)
            clients = _spawn(["-m", "bench.ingest_clients", "--url", base.replace("http", "ws") + "/graphql",
                              "--token", _token(base, "bench.viewer", password), "--n", str(subscribers),
                              "--mode", mode, "--tags", ",".join(t.rsplit("/", 1)[1] for t in topics),
                              "--seconds", str(seconds + 8), "--out", str(tmp / "clients.json"),
                              "--warmup", str(warmup)],
                             tmp / "clients.log", {})
            procs.append(clients)
            time.sleep(min(20, 2 + subscribers / 100))  # connections established
            c0, _ = _proc_stats(core.pid)
            b0, _ = _proc_stats(bridge.pid)
            m0, _ = _proc_stats(broker.proc.pid)
            busy0 = _machine_busy()
            _, rss0 = _proc_stats(core.pid)
            publisher = _spawn(["-m", "bench.ingest_publisher", "--port", str(broker.port), "--rate", str(rate),
                                "--seconds", str(seconds), "--nominal", str(tmp / "nominal.json"),
                                *(["--flood"] if flood else [])], tmp / "publisher.log", {})
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
            m1, _ = _proc_stats(broker.proc.pid)
            busy1 = _machine_busy()
            published = json.loads((tmp / "publisher.log").read_text().strip().splitlines()[-1])
            time.sleep(5)  # backlog drains
            drained = httpx.get(f"{base}/metrics", timeout=30).text
            clients.wait(timeout=60 + subscribers / 10)
            if not (tmp / "clients.json").exists():
                raise RuntimeError("the subscriber process ended without its results: "
                                   + (tmp / "clients.log").read_text()[-1500:])
            seen = json.loads((tmp / "clients.json").read_text())
            for p in (core, bridge):
                p.send_signal(signal.SIGUSR1)  # write the stage stamps (bench/ingest_stages.py)
            time.sleep(3)
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
        stages = _stages(tmp / "bridge-stages.json", tmp / "core-stages.json")
        tags = [t.rsplit("/", 1)[1] for t in topics]
        interval = env_int("PLASMATWIN_PLANT_STATE_INTERVAL_MS", 250) / 1000
        roof = ceiling(rate, seconds, subscribers, mode, tags, "-", tmp, interval) \
            if os.environ.get("BENCH_INGEST_CEILING", "1") != "0" else None

    span = published["seconds"]  # readings flow while the publisher runs

    def per_s(name: str) -> float:
        return round((_metric(last, name) - _metric(first, name)) / span, 0)

    return {
        "mode": mode, "flood": flood, "window": window, "batch_max": batch, "seconds": round(elapsed, 1),
        "subscribers": seen["connected"],
        "offered_per_s": round(published["sent"] / span, 0),
        "ingested_per_s": per_s("plasmatwin_readings_ingested_total"),
        "stored_per_s": per_s("plasmatwin_readings_stored_total"),
        "stored_total_after_drain": _metric(drained, "plasmatwin_readings_stored_total"),
        # Steady state, every value near its sensor's nominal: 0 (unless BENCH_INGEST_FLOOD)
        "alarms_raised": _metric(drained, ALARMS) - _metric(first, ALARMS),
        "published_total": published["sent"],
        "deliveries_per_s": round(seen["deliveries"] / span, 0),
        "latency_ms_p50": seen["p50_ms"], "latency_ms_p99": seen["p99_ms"], "stages": stages, "ceiling": roof,
        "ratio_p99": round(seen["p99_ms"] / roof["p99_ms"], 1) if roof and roof["p99_ms"] else None,
        "core_cpu_pct": round(100 * (c1 - c0) / span, 0), "bridge_cpu_pct": round(100 * (b1 - b0) / span, 0),
        # Everything else on the machine during the run, in % of one core: the load generators compete
        # with the core and the bridge for the same cores.
        "publisher_cpu_pct": round(100 * published.get("cpu_s", 0) / span, 0),
        "mosquitto_cpu_pct": round(100 * (m1 - m0) / span, 0),
        "clients_cpu_pct": round(100 * seen.get("cpu_s", 0) / span, 0),
        "machine_busy_pct": round(100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) * os.cpu_count(), 0)
        if busy1[1] > busy0[1] else None, "machine_cores": os.cpu_count(),
        "core_rss_mib_start": round(rss0, 1), "core_rss_mib_end": round(rss1, 1), "core_rss_mib_samples": rss_samples,
    }


if __name__ == "__main__":
    out = run()
    print(table(out))
    print(json.dumps(out))
