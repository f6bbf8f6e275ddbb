"""Packaging aggregation (PR-30): scanning a case lists its cartons; one parent per code; bad codes refused."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from demo import population
from demo.seed import seed_stations
from records.audit import AuditContext
from records.genealogy import PackagingUnit

AGG = """mutation($input: AggregatePackagingInput!, $sig: SignatureInput!){
  aggregatePackaging(input:$input, signature:$sig){ code level children } }"""
LOOK = "query($c:String!){packagingUnit(code:$c){code level lotNumber parent children}}"


@pytest_asyncio.fixture
async def pk(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    await population.generate(db, population.Population(donors=20, units=80, pools=2, cases_per_lot=1,
                                                        cartons_per_case=2, units_per_carton=2))
    async with db.read() as s:
        case = (await s.execute(select(PackagingUnit).where(PackagingUnit.level == "CASE")
                                .order_by(PackagingUnit.id))).scalars().first()
        assert case is not None
        cartons = (await s.execute(select(PackagingUnit).where(PackagingUnit.parent_id == case.id)
                                   .order_by(PackagingUnit.id))).scalars().all()
        unit = (await s.execute(select(PackagingUnit).where(PackagingUnit.parent_id == cartons[0].id))
                ).scalars().first()
        assert unit is not None
    async with db.write(AuditContext("system", reason="test: a unit code not yet packed")) as s:
        s.add(PackagingUnit(code="86123459999999999999", level="UNIT", final_lot_id=case.final_lot_id))
    return {"gql": gql, "signers": signers, "case": case.code, "cartons": [c.code for c in cartons],
            "packed": unit.code}


async def _agg(pk: dict[str, Any], parent: str, children: list[str]) -> Any:
    me = await pk["gql"].sign_in("op.one")
    inp = {"parentCode": parent, "childCodes": children}
    return await me(AGG, {"input": inp, "sig": pk["signers"].sign("op.one", "aggregatePackaging", inp)})


@pytest.mark.req("PR-30")
async def test_scanning_a_case_lists_its_cartons(pk: dict[str, Any]) -> None:
    me = await pk["gql"].sign_in("qa.one")
    case = (await me(LOOK, {"c": pk["case"]}))["data"]["packagingUnit"]
    assert case["level"] == "CASE" and case["children"] == sorted(pk["cartons"]) and case["parent"] is None


@pytest.mark.req("PR-30")
async def test_aggregation_rules(pk: dict[str, Any]) -> None:
    ok = (await _agg(pk, pk["cartons"][1], ["86123459999999999999"]))["data"]["aggregatePackaging"]
    assert "86123459999999999999" in ok["children"]
    cases = [
        (pk["cartons"][1], [pk["packed"]], "CONFLICT"),               # already in another carton
        (pk["cartons"][1], ["12345"], "VALIDATION_FAILED"),          # malformed code
        (pk["cartons"][1], [pk["cartons"][0]], "VALIDATION_FAILED"),  # a carton into a carton
        ("00000000000000000000", [pk["packed"]], "NOT_FOUND"),
    ]
    for parent, children, code in cases:
        body = await _agg(pk, parent, children)
        assert body["errors"][0]["extensions"]["code"] == code, (parent, children)
