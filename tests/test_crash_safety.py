"""Crash safety (issue 14): the server is SIGKILLed while signed writes and sensor readings are in flight,
then restarted on the same store. Every write it acknowledged is there with its e-signature and its audit
events, no record exists without them, every acknowledged reading is stored, and the audit chain and every
audited row verify. PLASMATWIN_CRASH_CYCLES sets how many kills (`make soak` runs more and prints counts)."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.seed import seed_roles
from records.audit import AuditContext, AuditEvent
from records.audit_state import verify_store
from records.db import Database
from records.migrate import upgrade
from records.plant import Room, Sensor
from records.quality import Deviation
from records.readings import SensorReading
from records.signature import ESignature
from tests import services
from tests.conftest import PASSWORD, add_users, token_at
from tests.signing_env import add_signers, add_tiny_plant, make_signers

ROOT = Path(__file__).resolve().parents[1]
CYCLES = int(os.environ.get("PLASMATWIN_CRASH_CYCLES", "2"))
RAISE = """mutation($input: RaiseDeviationInput!, $sig: SignatureInput!) {
  raiseDeviation(input: $input, signature: $sig) { number title } }"""
T0 = datetime(2026, 12, 1, tzinfo=UTC)


async def _seed(url: str, signers: Any) -> None:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await seed_roles(db)
    await add_signers(db, signers, PASSWORD)
    await add_users(db)
    await add_tiny_plant(db)
    async with db.write(AuditContext("system", reason="test sensor")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="R1-TT-101", name="Room temperature", kind="temperature", unit="°C", room_id=room.id,
                     high_limit=99.0, low_limit=-99.0, alarm_priority="LOW"))
    await db.dispose()


def _serve(url: str, signers: Any, tmp: Path, log: Path,
           file_limit: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`plasmatwin serve` on the store; `file_limit`: no file it writes may grow beyond so many bytes (RLIMIT_FSIZE:
    a full disk as the process meets it, without a filesystem of its own)."""
    port = services.free_port()
    env = {**os.environ, "PLASMATWIN_DATABASE_URL": url, "PLASMATWIN_HOST": "127.0.0.1", "PLASMATWIN_PORT": str(port),
           "PLASMATWIN_TRUST_ANCHORS": str(signers.ca),
           "PLASMATWIN_THIRD_PARTY_ANCHORS": str(signers.third_party_ca), "PLASMATWIN_CRL_FILES": str(signers.crl),
           "PLASMATWIN_DATA_DIR": str(tmp / "var"), "PLASMATWIN_ACCESS_LOG": "false"}
    env.pop("PLASMATWIN_REDIS_URL", None)
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT,
                                preexec_fn=None if file_limit is None else _limit_files(file_limit))
    try:
        services.wait_port(port, 60)
    except services.ServiceUnavailable:
        proc.kill()
        raise AssertionError(f"server did not start: {log.read_text()[-2000:]}") from None
    return proc, f"http://127.0.0.1:{port}"


def _limit_files(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: writes get EFBIG
    return apply


async def _storm(base: str, signers: Any, crash: Callable[[], None], cycle: int) -> dict[str, Any]:
    """Signed deviations and reading batches at once; `crash` once some are answered. What was acknowledged."""
    op, bridge = await token_at(base, "op.one"), await token_at(base, "bridge.one")
    acked_titles: set[str] = set()
    acked_times: set[datetime] = set()
    lost = 0
    refused: Counter[str] = Counter()
    messages: set[str] = set()
    gate = asyncio.Semaphore(8)
    answered = asyncio.Event()

    async def deviation(c: httpx.AsyncClient, i: int) -> None:
        nonlocal lost
        inp = {"title": f"crash {cycle}-{i}", "description": "written while the server is killed"}
        async with gate:
            try:
                r = await c.post("/graphql", json={"query": RAISE, "variables": {
                    "input": inp, "sig": signers.sign("op.one", "raiseDeviation", inp, "PERFORMED")}},
                                 headers={"authorization": f"Bearer {op}"})
                answer = r.json()
                data = answer.get("data") or {}
                first = (answer.get("errors") or [{}])[0]
                refused[first.get("extensions", {}).get("code", "ok")] += 1
                if first.get("message"):
                    messages.add(first["message"][:120])
                if r.status_code == 200 and (data.get("raiseDeviation") or {}).get("title") == inp["title"]:
                    acked_titles.add(inp["title"])
                    if len(acked_titles) >= 20 and len(acked_times) >= 250:
                        answered.set()
            except httpx.HTTPError:
                lost += 1

    async def readings(c: httpx.AsyncClient, j: int) -> None:
        nonlocal lost
        times = [T0 + timedelta(days=cycle, seconds=j * 50 + k) for k in range(50)]
        body = {"bridge": "crash", "readings": [{"tag": "R1-TT-101", "value": 20.0 + k / 100, "quality": "GOOD",
                                                 "sourceTime": t.isoformat()} for k, t in enumerate(times)]}
        async with gate:
            try:
                r = await c.post("/ingest", json=body, headers={"authorization": f"Bearer {bridge}"})
                if r.status_code == 200 and r.json().get("accepted") == len(times):
                    acked_times.update(times)
            except httpx.HTTPError:
                lost += 1

    async def kill() -> None:
        await asyncio.wait_for(answered.wait(), 60)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(crash)

    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        work = [w for i in range(1500) for w in ((deviation(c, i), readings(c, i)) if i < 300 else (deviation(c, i),))]
        await asyncio.gather(kill(), *work)
    return {"titles": acked_titles, "times": acked_times, "lost": lost, "answers": dict(refused), "messages": messages}


async def _check(url: str, acked: dict[str, Any]) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.read() as s:
            rows = {d.title: d.id for d in (await s.execute(select(Deviation))).scalars()}
            signed = set((await s.execute(select(ESignature.entity_id).where(ESignature.entity == "deviation")
                                          )).scalars())
            created = set((await s.execute(select(AuditEvent.entity_id).where(
                AuditEvent.entity == "deviation", AuditEvent.action == "CREATE"))).scalars())
            sealed = set((await s.execute(select(AuditEvent.entity_id).where(
                AuditEvent.entity == "deviation", AuditEvent.action == "SIGN"))).scalars())
            stored = set((await s.execute(select(SensorReading.source_time))).scalars())
            readings = (await s.execute(select(func.count()).select_from(SensorReading))).scalar_one()
        report = await verify_store(db)
    finally:
        await db.dispose()
    missing = acked["titles"] - rows.keys()
    assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
    ids = {str(i) for i in rows.values()}
    assert ids <= signed and ids <= created and ids <= sealed, "a deviation without its signature or audit events"
    assert acked["times"] <= {t.astimezone(UTC) for t in stored}, "acknowledged readings lost"
    assert report.ok, report.problem
    return {"acknowledged writes": len(acked["titles"]), "stored writes": len(rows),
            "acknowledged readings": len(acked["times"]), "stored readings": readings, "cut off": acked["lost"],
            "answers": acked["answers"], "messages": sorted(acked["messages"])[:5]}


async def _write_after(base: str, signers: Any, title: str, within: float = 30.0) -> dict[str, Any]:
    """One signed write, retried while the answer is UNAVAILABLE (the store coming back); the deviation."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    inp = {"title": title, "description": "the plant goes on"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        while True:
            try:
                token = await token_at(base, "op.one")
                r = await c.post("/graphql", json={"query": RAISE, "variables": {
                    "input": inp, "sig": signers.sign("op.one", "raiseDeviation", inp, "PERFORMED")}},
                                 headers={"authorization": f"Bearer {token}"})
                body = r.json()
            except (httpx.HTTPError, KeyError, TypeError) as exc:
                body = {"errors": [{"message": repr(exc), "extensions": {"code": "UNAVAILABLE"}}]}
            if "errors" not in body or body["errors"][0]["extensions"]["code"] != "UNAVAILABLE" \
                    or loop.time() > deadline:
                assert "errors" not in body, body
                return dict(body["data"]["raiseDeviation"])
            await asyncio.sleep(0.5)


def test_every_acknowledged_write_survives_a_kill(tmp_path: Path, pki_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    signers = make_signers(pki_dir, tmp_path / "crl.pem")
    asyncio.run(_seed(url, signers))
    log = tmp_path / "server.log"
    counts = []
    for cycle in range(CYCLES):
        proc, base = _serve(url, signers, tmp_path, log)
        try:
            acked = asyncio.run(_storm(base, signers, lambda p=proc: p.send_signal(signal.SIGKILL), cycle))
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        counts.append(asyncio.run(_check(url, acked)))
    # After the last kill the server starts again and takes new signed writes.
    proc, base = _serve(url, signers, tmp_path, log)
    try:
        assert asyncio.run(_write_after(base, signers, "after the crash"))["title"] == "after the crash"
    finally:
        proc.terminate()
        proc.wait(20)
    for n, c in enumerate(counts):
        print(f"cycle {n + 1}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
    assert all(c["acknowledged writes"] >= 20 for c in counts)


@pytest.mark.parametrize("outage", ["crash", "cut"])
def test_postgresql_crashing_or_cutting_the_connections_loses_nothing_acknowledged(
        outage: str, tmp_path: Path, pki_dir: Path) -> None:
    """PostgreSQL stopped as a crash stops it (immediate mode, crash recovery at the next start) or every
    connection of the server cut, while signed writes and readings are in flight: the server answers
    UNAVAILABLE meanwhile, takes writes again once the database is back, and everything it acknowledged is there
    with its signature and audit events."""
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        if services.REQUIRE:
            pytest.fail(f"required service missing (PLASMATWIN_REQUIRE_SERVICES=1): {e}")
        pytest.skip(f"SKIPPED LOUDLY: {e}")
    try:
        url = pg.create_database("crash")
        signers = make_signers(pki_dir, tmp_path / "crl.pem")
        asyncio.run(_seed(url, signers))
        proc, base = _serve(url, signers, tmp_path, tmp_path / "server.log")
        cut: list[int] = []

        def crash() -> None:
            if outage == "crash":
                pg.crash()
                time.sleep(1.0)  # requests meet a database that is gone
                pg.start_again()
            else:
                cut.append(pg.cut_connections("crash"))

        try:
            acked = asyncio.run(_storm(base, signers, crash, 0))
            after = asyncio.run(_write_after(base, signers, f"after the {outage}"))
            assert after["title"] == f"after the {outage}" and proc.poll() is None
        finally:
            proc.terminate()
            proc.wait(20)
        counts = asyncio.run(_check(url, acked))
        assert counts["acknowledged writes"] >= 20 and (outage == "crash" or cut[0] > 0)
        print(f"postgresql {outage}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    finally:
        pg.stop()


def test_a_full_disk_refuses_writes_cleanly_and_loses_nothing(tmp_path: Path, pki_dir: Path) -> None:
    """SQLite's files cannot grow (the disk is full): signed writes are refused UNAVAILABLE (retry later) with
    nothing half-written; once there is room again, everything acknowledged is there and writes go on."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'full.db'}"
    signers = make_signers(pki_dir, tmp_path / "crl.pem")
    asyncio.run(_seed(url, signers))
    log = tmp_path / "server.log"
    limit = (tmp_path / "full.db").stat().st_size + 256 * 1024
    proc, base = _serve(url, signers, tmp_path, log, file_limit=limit)
    try:
        acked = asyncio.run(_fill(base, signers))
    finally:
        proc.terminate()
        proc.wait(20)
    assert acked["answers"].get("UNAVAILABLE", 0) >= 20, acked["answers"]
    assert set(acked["answers"]) <= {"ok", "UNAVAILABLE"}, acked["answers"]
    counts = asyncio.run(_check(url, acked))
    proc, base = _serve(url, signers, tmp_path, log)
    try:
        assert asyncio.run(_write_after(base, signers, "room again"))["title"] == "room again"
    finally:
        proc.terminate()
        proc.wait(20)
    print("full disk: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


async def _fill(base: str, signers: Any) -> dict[str, Any]:
    """Signed deviations with long descriptions until the store refuses 20 of them; what was acknowledged."""
    token = await token_at(base, "op.one")
    answers: Counter[str] = Counter()
    titles: set[str] = set()
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        for i in range(5000):
            inp = {"title": f"full {i}", "description": "x" * 2000}
            r = await c.post("/graphql", json={"query": RAISE, "variables": {
                "input": inp, "sig": signers.sign("op.one", "raiseDeviation", inp, "PERFORMED")}},
                             headers={"authorization": f"Bearer {token}"})
            body = r.json()
            code = body["errors"][0]["extensions"]["code"] if "errors" in body else "ok"
            answers[code] += 1
            if code == "ok":
                titles.add(inp["title"])
            if answers["UNAVAILABLE"] >= 20:
                break
    return {"titles": titles, "times": set(), "lost": 0, "answers": dict(answers), "messages": set()}
