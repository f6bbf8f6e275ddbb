"""The projection fast path answers exactly what the executor answers, and refuses the same way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import build_services, create_app
from api.engine import fast_path
from demo import population
from demo.seed import seed_stations
from tests.conftest import GQL, make_settings

QUERIES = [
    "query($c:String!){traceBackward(code:$c){nodes{id kind code label status} edges{source target kind} "
    "summary{kind count} truncated}}",
    "query($c:String!){t: traceBackward(code:$c, maxNodes:5){__typename truncated nodes{__typename k: kind id}}}",
    "query($c:String!){traceForward(code:$c){summary{count kind} nodes{code}}}",
]


@pytest_asyncio.fixture
async def both(env: Any) -> Any:
    gql, _, db = env
    await seed_stations(db)
    await population.generate(db, population.Population(donors=60, units=240, pools=3, cases_per_lot=1,
                                                        cartons_per_case=2, units_per_carton=2))
    slow_settings = make_settings(db.url)
    slow_app = create_app(slow_settings, build_services(slow_settings, db))
    slow_app.router.routes[0].app.http.engine.fast_fields = {}  # the same app with the fast path switched off
    transport = httpx.ASGITransport(app=slow_app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://slow") as client:
        yield gql, GQL(client), db


async def _codes(db: Any) -> tuple[str, str]:
    from sqlalchemy import select

    from records.genealogy import PackagingUnit
    from records.plasma import Donor

    async with db.read() as s:
        pu = (await s.execute(select(PackagingUnit.code).order_by(PackagingUnit.id.desc()))).scalars().first()
        donor = (await s.execute(select(Donor.card_number).order_by(Donor.id))).scalars().first()
    return pu, donor


@pytest.mark.parametrize("query", QUERIES)
async def test_projection_equals_execution(both: Any, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow, db = both
    pu, donor = await _codes(db)
    code = donor if "traceForward" in query else pu
    projected = []
    real = fast_path.execute

    async def counting(*args: Any) -> Any:
        projected.append(1)
        return await real(*args)

    monkeypatch.setattr(fast_path, "execute", counting)
    a = await (await fast.sign_in("qa.one"))(query, {"c": code})
    assert projected == [1]
    b = await (await GQL(slow.client).sign_in("qa.one"))(query, {"c": code})
    assert projected == [1]
    assert a == b and "errors" not in a


async def test_refusals_are_the_same(both: Any) -> None:
    fast, slow, _ = both
    q = QUERIES[0]
    for who in ("op.one", "qa.one"):
        a = await (await fast.sign_in(who))(q, {"c": "NO-SUCH-CODE"})
        b = await (await GQL(slow.client).sign_in(who))(q, {"c": "NO-SUCH-CODE"})
        assert a == b and a["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")


def test_only_plain_single_root_queries_are_planned() -> None:
    from graphql import get_operation_ast, parse

    from schema.root import build_schema

    schema = build_schema()._schema
    reg = {"traceBackward": fast_path.FastField("trace:graph", "read", None),  # type: ignore[arg-type]
           "plants": fast_path.FastField("plant:layout", "read", None)}  # type: ignore[arg-type]
    for text, planned in [("{traceBackward(code:\"x\"){truncated}}", True),
                          ("{traceBackward(code:\"x\"){truncated} viewer{username}}", False),
                          ("{traceBackward(code:\"x\"){...F}} fragment F on TraceGraph{truncated}", False),
                          ("{traceBackward(code:\"x\") @include(if:true){truncated}}", False),
                          ("{viewer{username}}", False),
                          ("{plants{rooms{sensors{tag}}}}", True),
                          ("{plants{rooms{sensors{tag value}}}}", False)]:  # value has a resolver
        doc = parse(text)
        op = get_operation_ast(doc)
        assert op is not None
        assert (fast_path.plan(schema, doc, op, reg) is not None) == planned, text
