"""Signature verification throughput per algorithm, and what a signed mutation adds over a read."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from demo import ca as demo_ca
from policies import pki


def verify_rates(seconds: float = 1.0) -> dict[str, int]:
    ca_key, ca_cert = demo_ca.create_ca()
    data = b'{"operation":"setEquipmentStatus","input":{"code":"EQ-1"}}'
    out = {}
    for alg in pki.ALGORITHMS:
        key = demo_ca.issue_user(ca_key, ca_cert, "bench", "Bench", alg)
        sig = pki.sign_bytes(key.key_pem, alg, data)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            assert pki.verify_bytes(key.cert_pem, alg, data, sig)
            n += 1
        out[alg] = round(n / (time.perf_counter() - t0))
    return out


async def mutation_overhead(rounds: int = 60) -> dict[str, Any]:
    """p50 of an authenticated read vs a signed setEquipmentStatus, in-process over ASGI (SQLite)."""
    from api.app import build_services, create_app
    from api.settings import Settings
    from records.db import Database
    from records.migrate import upgrade
    from tests.conftest import PASSWORD, add_users
    from tests.signing_env import add_signers, add_tiny_plant, make_signers

    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite+aiosqlite:///{d}/bench.db"
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        from api.seed import seed_roles

        await seed_roles(db)
        signers = make_signers(Path(d) / "pki", Path(d) / "crl.pem")
        await add_signers(db, signers, PASSWORD)
        await add_users(db)
        await add_tiny_plant(db)
        settings = replace(Settings(), database_url=url, trust_anchors=signers.ca)
        app = create_app(settings, build_services(settings, db))
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            sign_in = "mutation($p:String!){signIn(username:\"op.one\",password:$p){token}}"
            r = await c.post("/graphql", json={"query": sign_in, "variables": {"p": PASSWORD}})
            h = {"authorization": "Bearer " + r.json()["data"]["signIn"]["token"]}
            reads, writes = [], []
            q = "mutation($input:SetEquipmentStatusInput!,$sig:SignatureInput!){setEquipmentStatus(" \
                "input:$input,signature:$sig){equipment{status}}}"
            for i in range(rounds):
                t0 = time.perf_counter()
                await c.post("/graphql", json={"query": "{equipment(code:\"EQ-1\"){code status}}"}, headers=h)
                reads.append(time.perf_counter() - t0)
                inp = {"code": "EQ-1", "status": "MAINTENANCE" if i % 2 == 0 else "IDLE", "reason": "bench"}
                sig = signers.sign("op.one", "setEquipmentStatus", inp)
                t0 = time.perf_counter()
                body = (await c.post("/graphql", json={"query": q, "variables": {"input": inp, "sig": sig}},
                                     headers=h)).json()
                writes.append(time.perf_counter() - t0)
                assert "errors" not in body, body
        await db.dispose()
    read_ms, write_ms = statistics.median(reads) * 1000, statistics.median(writes) * 1000
    return {"read_p50_ms": round(read_ms, 2), "signed_mutation_p50_ms": round(write_ms, 2),
            "added_ms": round(write_ms - read_ms, 2), "ratio": round(write_ms / read_ms, 1)}
