"""`plasmatwin serve --workers N`: several processes on one host behind one port, sharing PostgreSQL and
the Redis bus. Both workers answer, a sign-out on one is honoured by the other within a second, one
excursion raises one alarm (the rules run in one process only), another worker takes the rules over when
that one dies and the supervisor replaces it, and SIGTERM stops them all cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api import cli
from api.settings import Settings
from records.db import Database
from records.leader import Leadership
from records.migrate import upgrade
from tests import services
from tests.test_two_nodes import _seed

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql+asyncpg://u@127.0.0.1/db"


def test_more_than_one_worker_is_refused_without_redis_postgresql_or_with_an_in_process_bridge() -> None:
    assert cli.workers_refusal(Settings(database_url=PG), 1) is None
    assert "at least 1" in (cli.workers_refusal(Settings(), 0) or "")
    assert "PLASMATWIN_REDIS_URL" in (cli.workers_refusal(Settings(database_url=PG), 2) or "")
    assert "PostgreSQL" in (cli.workers_refusal(Settings(redis_url="redis://x"), 2) or "")
    bridged = Settings(database_url=PG, redis_url="redis://x", bridge_config=Path("b.toml"))
    assert "plasmatwin bridge" in (cli.workers_refusal(bridged, 2) or "")
    assert cli.workers_refusal(Settings(database_url=PG, redis_url="redis://x"), 2) is None


def test_the_command_exits_with_the_reason(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLASMATWIN_REDIS_URL", raising=False)
    assert cli.main(["serve", "--workers", "2"]) == 2
    assert "in-process bus cannot carry" in capsys.readouterr().err


def test_a_worker_that_cannot_start_stops_the_command(tmp_path: Path) -> None:
    port = services.free_port()
    env = {**os.environ, "PLASMATWIN_DATABASE_URL": f"postgresql+asyncpg://u@127.0.0.1:{services.free_port()}/db",
           "PLASMATWIN_REDIS_URL": f"redis://127.0.0.1:{services.free_port()}/0", "PLASMATWIN_HOST": "127.0.0.1",
           "PLASMATWIN_PORT": str(port)}  # nothing listens on the database's port
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--workers", "2"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "failed to start: stopping" in done.stderr


@pytest.mark.postgres
async def test_one_holder_at_a_time_and_the_next_takes_over_when_it_stops(pg_url: str) -> None:
    dbs = [Database(pg_url), Database(pg_url)]
    events: list[str] = []

    def leader(name: str, db: Database) -> Leadership:
        async def gain() -> None:
            events.append(f"{name} leads")
        return Leadership(db, "t", gain, lambda: events.append(f"{name} follows"), every=0.05)

    a, b = leader("a", dbs[0]), leader("b", dbs[1])
    try:
        await a.start()
        await b.start()
        await asyncio.sleep(0.3)  # b asks a few times, a checks its session
        assert (a.held, b.held) == (True, False)
        await a.stop()  # the session ends with the lock: b leads at its next attempt
        await asyncio.sleep(0.3)
        assert (a.held, b.held) == (False, True)
        assert events == ["a leads", "a follows", "b leads"]
    finally:
        await b.stop()
        for db in dbs:
            await db.dispose()


@pytest.fixture
def workers(pg_url: str, redis_server: services.Process, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    upgrade(pg_url)
    asyncio.run(_seed(pg_url))
    port = services.free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PLASMATWIN_DATABASE_URL": pg_url, "PLASMATWIN_REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
           "PLASMATWIN_HOST": "127.0.0.1", "PLASMATWIN_PORT": str(port),
           "PLASMATWIN_TOKEN_CACHE_SECONDS": "60"}  # a refusal within a second can only come over the bus
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--workers", "2"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        services.wait_port(port, 60)
        yield f"http://127.0.0.1:{port}", proc, log
    except services.ServiceUnavailable:
        raise AssertionError(f"serve --workers 2 did not start: {log.read_text()[-2000:]}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _worker(c: httpx.AsyncClient) -> tuple[int, bool]:
    """The answering worker's process id, and whether the alarm rules run in it (from /metrics, loopback)."""
    lines = dict(line.rsplit(" ", 1) for line in (await c.get("/metrics")).text.splitlines()
                 if line and not line.startswith("#"))
    return int(float(lines["plasmatwin_worker_pid"])), lines["plasmatwin_alarm_rules_here"] == "1.0"


async def _one_client_per_worker(base: str) -> dict[int, httpx.AsyncClient]:
    """Kept-alive connections stay with the worker that accepted them: open them until both answered."""
    found: dict[int, httpx.AsyncClient] = {}
    spare: list[httpx.AsyncClient] = []
    for _ in range(40):
        batch = [httpx.AsyncClient(base_url=base) for _ in range(8)]
        for c, (pid, _rules) in zip(batch, await asyncio.gather(*(_worker(c) for c in batch)), strict=True):
            if pid in found:
                spare.append(c)
            else:
                found[pid] = c
        if len(found) == 2:
            break
    for c in spare:
        await c.aclose()
    return found


async def _metric_sum(clients: dict[int, httpx.AsyncClient], name: str) -> float:
    total = 0.0
    for c in clients.values():
        text = (await c.get("/metrics")).text
        total += next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))
    return total


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_workers_answer_share_sign_outs_and_raise_one_alarm_per_excursion(
        workers: tuple[str, subprocess.Popen[bytes], Path]) -> None:
    base, proc, log = workers
    from tests.conftest import token_at

    clients = await _one_client_per_worker(base)
    try:
        assert len(clients) == 2, f"one worker answered every connection: {log.read_text()[-2000:]}"
        (pid_a, a), (pid_b, b) = clients.items()
        roles = [(await _worker(c))[1] for c in (a, b)]
        assert sorted(roles) == [False, True]  # the alarm rules run in one worker only
        assert {(await _worker(a))[0], (await _worker(b))[0]} == {pid_a, pid_b}  # connections stay put

        # A sign-out on worker A is honoured by worker B (which keeps verified tokens a minute) within 1 s.
        token = await token_at(base, "op.one")
        auth = {"authorization": f"Bearer {token}"}
        viewer = {"query": "{viewer{username}}"}
        for _ in range(3):
            seen = (await b.post("/graphql", json=viewer, headers=auth)).json()
            assert seen["data"]["viewer"]["username"] == "op.one"
        assert (await a.post("/graphql", json={"query": "mutation{signOut}"}, headers=auth)).json()["data"] == \
            {"signOut": True}
        signed_out = asyncio.get_running_loop().time()
        while (r := await b.post("/graphql", json=viewer, headers=auth)).status_code != 401:
            assert asyncio.get_running_loop().time() - signed_out < 1.0, f"worker B still accepts it: {r.text}"
            await asyncio.sleep(0.02)

        # One excursion whose readings arrive at both workers: one alarm, not one per worker.
        bridge = {"authorization": f"Bearer {await token_at(base, 'bridge.one')}"}
        now = datetime.now(UTC)
        for c, value, ago in ((a, 21.0, 3), (b, 26.5, 2), (a, 27.0, 1), (b, 26.8, 0)):
            r = await c.post("/ingest", headers=bridge, json={"readings": [
                {"tag": "R1-TT-101", "value": value, "sourceTime": (now - timedelta(seconds=ago)).isoformat()}]})
            assert r.json()["accepted"] == 1, r.text
        viewer_auth = {"authorization": f"Bearer {await token_at(base, 'op.one')}"}
        count = {"query": "{alarms(active:true){totalCount}}"}
        for _ in range(100):
            if (await a.post("/graphql", json=count, headers=viewer_auth)).json()["data"]["alarms"]["totalCount"]:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # time for a second alarm, were the rules run in both workers
        assert (await b.post("/graphql", json=count, headers=viewer_auth)).json()["data"]["alarms"]["totalCount"] == 1
        assert await _metric_sum(clients, "plasmatwin_alarms_raised_total") == 1

        # The evaluating worker dies: its database session ends with the lock, the other worker takes the
        # alarm rules over within a second or two, and the supervisor starts a worker in its place.
        leader, other = (pid_a, pid_b) if roles[0] else (pid_b, pid_a)
        os.kill(leader, signal.SIGKILL)
        killed = asyncio.get_running_loop().time()
        while not (await _worker(clients[other]))[1]:
            assert asyncio.get_running_loop().time() - killed < 5.0, "no worker took the alarm rules over"
            await asyncio.sleep(0.2)
        await clients.pop(leader).aclose()
        for _ in range(50):
            again = await _one_client_per_worker(base)
            pids = set(again)
            for c in again.values():
                await c.aclose()
            if len(pids) == 2:
                break
            await asyncio.sleep(0.2)
        assert other in pids and leader not in pids and len(pids) == 2, pids
    finally:
        for c in clients.values():
            await c.aclose()

    # SIGTERM to the supervisor: every worker shuts down (lifespan included) and the command exits.
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    text = log.read_text()
    assert text.count("Application shutdown complete") == 2, text[-3000:]  # the killed one had none
