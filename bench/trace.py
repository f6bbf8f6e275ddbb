"""Trace and lookback on a synthetic population of a million units (issue: plasma and trace).

For each store: backward trace of a packaging code to all donors, forward trace of a donor to all
packaging codes, and the 60-day lookback, as p50/p95 over random starts, through GraphQL (in-process
ASGI) and as the same traversal in one raw SQL statement; the ratio is GraphQL / raw SQL.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from dataclasses import replace
from typing import Any

import httpx
from graphql import parse
from sqlalchemy import func, select, text

from api.seed import NewUser, seed_roles, seed_users
from api.settings import Settings
from demo.population import Population, generate
from demo.seed import seed_stations
from records.db import Database
from records.genealogy import PackagingUnit
from records.migrate import upgrade
from records.plasma import Donor
from resolvers import trace_sql

RAW_BACKWARD = """
WITH lot AS (SELECT final_lot_id AS id FROM packaging_unit WHERE code = :code),
     inter AS (SELECT intermediate_id AS id FROM final_lot WHERE id IN (SELECT id FROM lot)),
     b AS (SELECT batch_id AS id FROM intermediate WHERE id IN (SELECT id FROM inter)),
     p AS (SELECT pool_id AS id FROM batch_pool WHERE batch_id IN (SELECT id FROM b))
SELECT u.id, u.donation_number, u.status, d.id, d.card_number, d.status, s.id, s.code, s.name
FROM plasma_unit u JOIN donor d ON d.id = u.donor_id JOIN plasma_station s ON s.id = u.station_id
WHERE u.pool_id IN (SELECT id FROM p)"""
RAW_FORWARD = """
WITH u AS (SELECT id, pool_id FROM plasma_unit WHERE donor_id = (SELECT id FROM donor WHERE card_number = :code)),
     b AS (SELECT batch_id AS id FROM batch_pool WHERE pool_id IN (SELECT pool_id FROM u)),
     i AS (SELECT id FROM intermediate WHERE batch_id IN (SELECT id FROM b)),
     l AS (SELECT id FROM final_lot WHERE intermediate_id IN (SELECT id FROM i))
SELECT id, code, level, parent_id, final_lot_id FROM packaging_unit WHERE final_lot_id IN (SELECT id FROM l)"""
_DONOR = "(SELECT id FROM donor WHERE card_number = :code)"
_LAST = f"(SELECT max(collected_on) FROM plasma_unit WHERE donor_id = {_DONOR})"
RAW_LOOKBACK = {
    "postgresql": f"SELECT id, donation_number, collected_on FROM plasma_unit WHERE donor_id = {_DONOR} "
                  f"AND collected_on >= {_LAST} - 60",
    "sqlite": f"SELECT id, donation_number, collected_on FROM plasma_unit WHERE donor_id = {_DONOR} "
              f"AND collected_on >= date({_LAST}, '-60 days')",
}

BACK_Q = "query($c:String!){traceBackward(code:$c, maxNodes:50000){summary{kind count} nodes{id kind code} " \
         "edges{source target kind}}}"
FWD_Q = BACK_Q.replace("traceBackward", "traceForward")
_FWD_ROOT = parse(FWD_Q).definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
GRAPH_SELECTION = trace_sql.selection(_FWD_ROOT)
assert GRAPH_SELECTION is not None
LOOK_Q = "query($c:String!){donor(cardNumber:$c){lookback(days:60){donationNumber collectedOn}}}"


def population(units: int) -> Population:
    scale = units / 1_000_000
    return Population(donors=max(100, int(100_000 * scale)), units=units, pools=max(4, int(2000 * scale)),
                      lots_per_batch=10, cases_per_lot=1, cartons_per_case=9, units_per_carton=10,
                      distributors=20)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def run_store(url: str, units: int, starts: int = 50) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        await seed_roles(db)
        await seed_stations(db)
        t0 = time.perf_counter()
        await generate(db, population(units))
        gen_s = time.perf_counter() - t0
        await seed_users(db, [NewUser("bench.qa", "Bench QA", ("qa_officer",), "bench password 1")])
        if db.engine.dialect.name == "postgresql":
            async with db.engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
        rng = random.Random(7)
        async with db.read() as s:
            n_pu = (await s.execute(select(func.max(PackagingUnit.id)))).scalar_one()
            n_d = (await s.execute(select(func.max(Donor.id)))).scalar_one()
            codes = [(await s.execute(select(PackagingUnit.code).where(PackagingUnit.id == rng.randint(1, n_pu))))
                     .scalar_one() for _ in range(starts)]
            cards = [(await s.execute(select(Donor.card_number).where(Donor.id == rng.randint(1, n_d))))
                     .scalar_one() for _ in range(starts)]
        lookback_sql = RAW_LOOKBACK[db.engine.dialect.name]
        out: dict[str, Any] = {"store": db.engine.dialect.name, "units": units, "generate_s": round(gen_s, 1)}
        from api.app import build_services, create_app

        settings = replace(Settings(), database_url=url)
        app = create_app(settings, build_services(settings, db))
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as c:
            r = await c.post("/graphql", json={"query": "mutation{signIn(username:\"bench.qa\",password:"
                                                        "\"bench password 1\"){token}}"})
            h = {"authorization": "Bearer " + r.json()["data"]["signIn"]["token"]}
            cases = (("backward", BACK_Q, RAW_BACKWARD, codes), ("forward", FWD_Q, RAW_FORWARD, cards),
                     ("lookback", LOOK_Q, lookback_sql, cards))
            for name, q, raw, starts_ in cases:
                gql_t, sql_t, graph_t, sizes = [], [], [], []
                for code in starts_:
                    t = time.perf_counter()
                    async with db.read() as s:
                        rows = (await s.execute(text(raw), {"code": code})).all()
                    sql_t.append(time.perf_counter() - t)
                    if name == "forward":
                        graph_t.append(await _graph_sql(db, code))
                    t = time.perf_counter()
                    resp = await c.post("/graphql", json={"query": q, "variables": {"c": code}}, headers=h)
                    gql_t.append(time.perf_counter() - t)  # the server's answer, before the client parses it
                    body = resp.json()
                    assert "errors" not in body, body["errors"][:1]
                    sizes.append(len(rows))
                out[name] = {"graphql_p50_ms": round(_pct(gql_t, .5), 1), "graphql_p95_ms": round(_pct(gql_t, .95), 1),
                             "sql_p50_ms": round(_pct(sql_t, .5), 1), "sql_p95_ms": round(_pct(sql_t, .95), 1),
                             "ratio_p50": round(statistics.median(gql_t) / max(statistics.median(sql_t), 1e-9), 1),
                             "rows_p50": int(statistics.median(sizes))}
                if graph_t:  # the same graph as JSON, the statement the fast path runs, without HTTP or GraphQL
                    out[name] |= {"graph_sql_p50_ms": round(_pct(graph_t, .5), 1),
                                  "graph_sql_p95_ms": round(_pct(graph_t, .95), 1),
                                  "ratio_to_graph_sql_p50": round(statistics.median(gql_t) / statistics.median(graph_t),
                                                                  1)}
        return out
    finally:
        await db.dispose()


async def _graph_sql(db: Database, card: str) -> float:
    async with db.read() as s:
        key = (await s.execute(select(Donor.id).where(Donor.card_number == card))).scalar_one()
        assert GRAPH_SELECTION is not None
        t = time.perf_counter()
        await trace_sql.forward_json(s, "DONOR", key, GRAPH_SELECTION, 50_000)
        return time.perf_counter() - t


def units_from_env() -> int:
    return int(os.environ.get("BENCH_UNITS", "1000000"))
