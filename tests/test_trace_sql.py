"""The forward trace built as JSON by the database answers exactly what the object path answers:
same nodes, edges, order, summary, truncation and aliases, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from api.app import build_services, create_app
from demo import population
from demo.seed import seed_stations
from records.db import Database
from records.genealogy import FinalLot, PackagingUnit
from records.plasma import Batch, Donor, PlasmaUnit, Pool
from resolvers import trace_sql
from tests.conftest import GQL, add_users, make_settings

FULL = "traceForward(code:$c, maxNodes:$m){summary{kind count} nodes{id kind code label status} " \
       "edges{source target kind} truncated}"


@pytest_asyncio.fixture
async def client(db: Database) -> AsyncIterator[tuple[GQL, Database]]:
    await add_users(db)
    await seed_stations(db)
    await population.generate(db, population.Population(donors=30, units=240, pools=3, lots_per_batch=2,
                                                        cases_per_lot=1, cartons_per_case=2, units_per_carton=3))
    settings = make_settings(db.url)
    app = create_app(settings, build_services(settings, db))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 1)),
                                 base_url="http://t") as c:
        yield await GQL(c).sign_in("qa.one"), db


async def _both(me: GQL, selection: str, code: str, max_nodes: int = 10_000) -> tuple[Any, Any]:
    q = "query($c:String!,$m:Int!){" + selection + "}"
    fast = await me.post(q, {"c": code, "m": max_nodes})
    slow = await me(q.replace("(code:$c, maxNodes:$m){", "(code:$c, maxNodes:$m){__typename "),
                    {"c": code, "m": max_nodes})
    for body in (slow["data"] or {}).values():
        if body is not None:
            body.pop("__typename")
    return json.loads(fast.content), slow


def _count_sql_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directions of the traces answered by the database's JSON (not handed to the object path)."""
    calls: list[str] = []
    real = trace_sql.document

    async def counted(*args: Any) -> str | None:
        doc = await real(*args)
        if doc is not None:
            calls.append(args[1])
        return doc

    monkeypatch.setattr(trace_sql, "document", counted)
    return calls


@pytest.mark.req("PR-36")
async def test_sql_json_matches_the_object_path(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    me, db = client
    calls = _count_sql_answers(monkeypatch)
    async with db.read() as s:
        donors = (await s.execute(select(Donor.card_number).order_by(Donor.id).limit(6))).scalars().all()
        units = (await s.execute(select(PlasmaUnit.donation_number).order_by(PlasmaUnit.id.desc()).limit(2))
                 ).scalars().all()
        pools = (await s.execute(select(Pool.code))).scalars().all()
    for code in [*donors, *units, *pools]:
        fast, slow = await _both(me, FULL, code)
        assert fast == slow, code
        assert fast["data"]["traceForward"]["nodes"], code
    assert len(calls) == len(donors) + len(units) + len(pools)  # every fast answer came from the database
    fast, slow = await _both(me, FULL, donors[0], max_nodes=5)
    assert fast == slow and fast["data"]["traceForward"]["truncated"] is True
    assert len(fast["data"]["traceForward"]["nodes"]) == 5
    aliased = "t: traceForward(code:$c, maxNodes:$m){cut: truncated n: nodes{c: code k: kind} s: summary{count}}"
    fast, slow = await _both(me, aliased, donors[1])
    assert fast == slow and list(fast["data"]["t"]) == ["cut", "n", "s"]
    # Without the driver's own connections (an in-memory store) SQLAlchemy's session runs the same statements.
    answered = len(calls)
    monkeypatch.setattr(trace_sql, "reader", lambda _db: None)
    for direction, code in (("traceForward", donors[0]), ("traceBackward", pools[0])):
        fast, slow = await _both(me, FULL.replace("traceForward", direction), code)
        assert fast == slow and fast["data"][direction]["nodes"], code
    assert len(calls) == answered + 2


async def test_refusals_are_the_same_as_the_object_path(client: Any) -> None:
    me, db = client
    async with db.read() as s:
        batch = (await s.execute(select(Batch.batch_number))).scalars().first()
    fast, slow = await _both(me, FULL, "NO-SUCH-CODE")
    assert fast == slow and fast["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # A batch number is a forward start too (what the batch became), answered alike on both paths.
    fast, slow = await _both(me, FULL, batch)
    assert fast == slow and "errors" not in fast and fast["data"]["traceForward"]["nodes"]


@pytest.mark.req("PR-36")
async def test_backward_sql_json_matches_the_object_path(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    me, db = client
    calls = _count_sql_answers(monkeypatch)
    back = FULL.replace("traceForward", "traceBackward")
    async with db.read() as s:
        codes = [*(await s.execute(select(PackagingUnit.code).order_by(PackagingUnit.id).limit(3))).scalars(),
                 *(await s.execute(select(FinalLot.lot_number).limit(2))).scalars(),
                 *(await s.execute(select(Batch.batch_number).limit(2))).scalars(),
                 *(await s.execute(select(Pool.code).limit(2))).scalars(),
                 *(await s.execute(select(PlasmaUnit.donation_number).limit(2))).scalars()]
        donor = (await s.execute(select(Donor.card_number))).scalars().first()
    for code in codes:
        fast, slow = await _both(me, back, code)
        assert fast == slow, code
        assert fast["data"]["traceBackward"]["nodes"], code
    assert calls == ["backward"] * len(codes)
    fast, slow = await _both(me, back, codes[0], max_nodes=3)
    assert fast == slow and fast["data"]["traceBackward"]["truncated"] is True
    fast, slow = await _both(me, back, donor)
    assert fast == slow and fast["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
