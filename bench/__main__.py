"""`python -m bench`: run every benchmark on SQLite and, when it can be started, PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import tempfile

from bench import audit, compiled, ingest, request_cost, review, signatures, trace
from tests import services


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as d:
        results.append(asyncio.run(audit.run_store(f"sqlite+aiosqlite:///{d}/bench.db")))
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        print(f"PostgreSQL benchmarks skipped: {e}")
    else:
        try:
            results.append(asyncio.run(audit.run_store(pg.create_database("bench"))))
        finally:
            pg.stop()
    print("audit trail")
    for r in results:
        print("  " + json.dumps(r))
    print("signature verifications per second (one core):")
    print("  " + json.dumps(signatures.verify_rates()))
    print("signed mutation vs authenticated read (in-process ASGI, SQLite, p50):")
    print("  " + json.dumps(asyncio.run(signatures.mutation_overhead())))
    print("review by exception and exports of one batch (200 exceptions, 5,000 audit events; SQLite):")
    print("  " + json.dumps(asyncio.run(review.run())))
    units = trace.units_from_env()
    print(f"trace and lookback, {units} plasma units (BENCH_UNITS to change), p50/p95 over 50 random starts:")
    with tempfile.TemporaryDirectory() as d:
        print("  " + json.dumps(asyncio.run(trace.run_store(f"sqlite+aiosqlite:///{d}/trace.db", units))))
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        print(f"  PostgreSQL trace benchmark skipped: {e}")
    else:
        try:
            print("  " + json.dumps(asyncio.run(trace.run_store(pg.create_database("trace"), units))))
        finally:
            pg.stop()
    print("server CPU per request, `plasmatwin serve` in its own process (BENCH_REQUESTS, BENCH_CONNECTIONS):")
    for r in request_cost.run():
        print("  " + json.dumps(r))
    compiled.main()  # reads compiled to SQL vs the normal path, SQLite and PostgreSQL
    print("live path: MQTT -> bridge -> /ingest -> core -> WebSocket subscribers (BENCH_INGEST_* to change):")
    try:
        print("  " + json.dumps(ingest.run()))
    except services.ServiceUnavailable as e:
        print(f"  skipped: {e}")


if __name__ == "__main__":
    main()
