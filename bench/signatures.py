"""Signature verification throughput per algorithm, and what a signed mutation adds over a read."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.app import in_process
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
    async with in_process() as bench:
        c, h = bench.client, await bench.token("op.one")
        reads, writes = [], []
        q = "mutation($input:SetEquipmentStatusInput!,$sig:SignatureInput!){setEquipmentStatus(" \
            "input:$input,signature:$sig){equipment{status}}}"
        for i in range(rounds):
            t0 = time.perf_counter()
            await c.post("/graphql", json={"query": "{equipment(code:\"EQ-1\"){code status}}"}, headers=h)
            reads.append(time.perf_counter() - t0)
            inp = {"code": "EQ-1", "status": "MAINTENANCE" if i % 2 == 0 else "IDLE", "reason": "bench"}
            sig = bench.signers.sign("op.one", "setEquipmentStatus", inp)
            t0 = time.perf_counter()
            body = (await c.post("/graphql", json={"query": q, "variables": {"input": inp, "sig": sig}},
                                 headers=h)).json()
            writes.append(time.perf_counter() - t0)
            assert "errors" not in body, body
    read_ms, write_ms = statistics.median(reads) * 1000, statistics.median(writes) * 1000
    return {"read_p50_ms": round(read_ms, 2), "signed_mutation_p50_ms": round(write_ms, 2),
            "added_ms": round(write_ms - read_ms, 2), "ratio": round(write_ms / read_ms, 1)}
