"""Trace graphs and plasma reads on a synthetic population, for plant users and through scoped tokens.

A scoped token sees only its scope through every path: direct queries, trace traversal,
connections and error messages (an unknown code and a forbidden one answer alike).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from demo import population
from demo.seed import seed_stations
from records.genealogy import PackagingUnit
from records.plasma import Batch, Donor, PlasmaUnit
from tests.conftest import GQL
from tests.signing_env import issue_token

POP = population.Population(donors=300, units=1200, pools=6, lots_per_batch=2, cases_per_lot=2,
                            cartons_per_case=2, units_per_carton=3, distributors=2)
ALBUMIN = "Human Albumin 20%"
BACK = """query($c:String!){traceBackward(code:$c){nodes{id kind code} edges{source target kind}
          summary{kind count} truncated}}"""
FWD = BACK.replace("traceBackward", "traceForward")


@pytest_asyncio.fixture
async def world(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    await population.generate(db, POP)
    async with db.read() as s:
        albumin = (await s.execute(select(Batch.batch_number).where(Batch.product == ALBUMIN)
                                   .order_by(Batch.id))).scalars().first()
        other = (await s.execute(select(Batch.batch_number).where(Batch.product != ALBUMIN)
                                 .order_by(Batch.id))).scalars().first()
        unit_code = (await s.execute(select(PackagingUnit.code).where(PackagingUnit.level == "UNIT")
                                     .order_by(PackagingUnit.id))).scalars().first()
        donor = (await s.execute(select(Donor.card_number).where(Donor.status == "DEFERRED"))).scalars().first()
        n1_unit = (await s.execute(select(PlasmaUnit.donation_number).join(PlasmaUnit.station)
                                   .where(PlasmaUnit.pool_id.is_(None)).order_by(PlasmaUnit.id))).scalars().all()
    return {"gql": gql, "signers": signers, "db": db, "albumin": albumin, "other": other, "unit_code": unit_code,
            "donor": donor, "free_units": n1_unit}


async def _token(w: dict[str, Any], holder: str, **scope: Any) -> GQL:
    token: GQL = await issue_token(w["gql"], w["signers"], holder, **scope)
    return token


def _kinds(graph: dict[str, Any]) -> dict[str, int]:
    return {c["kind"]: c["count"] for c in graph["summary"]}


@pytest.mark.req("PR-36", "PL-02")
async def test_backward_from_a_packaging_code_reaches_every_donor(world: dict[str, Any]) -> None:
    qa = await world["gql"].sign_in("qa.one")
    g = (await qa(BACK, {"c": world["unit_code"]}))["data"]["traceBackward"]
    kinds = _kinds(g)
    assert kinds["PACKAGING_UNIT"] == 1 and kinds["FINAL_LOT"] == 1 and kinds["BATCH"] == 1
    assert kinds["POOL"] == 1 and kinds["PLASMA_UNIT"] == 150 and kinds["DONOR"] >= 100 and kinds["STATION"] == 5
    ids = {n["id"] for n in g["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in g["edges"])
    assert {e["kind"] for e in g["edges"]} == {"PACKED", "FILLED", "MADE", "CHARGED", "POOLED", "DONATED",
                                                "COLLECTED"}
    assert g["truncated"] is False


@pytest.mark.req("PR-36", "PR-30")
async def test_forward_from_a_donor_reaches_lots_and_packaging_codes(world: dict[str, Any]) -> None:
    qa = await world["gql"].sign_in("qa.one")
    g = (await qa(FWD, {"c": world["donor"]}))["data"]["traceForward"]
    kinds = _kinds(g)
    assert kinds["DONOR"] == 1 and kinds["PLASMA_UNIT"] == 4
    assert kinds["BATCH"] >= 2 and kinds["FINAL_LOT"] >= 4 and kinds["PACKAGING_UNIT"] > 0
    assert "AGGREGATED" in {e["kind"] for e in g["edges"]}


@pytest.mark.req("PL-03")
async def test_lookback_is_at_least_60_days_inclusive(world: dict[str, Any]) -> None:
    qa = await world["gql"].sign_in("qa.one")
    q = "query($c:String!,$d:Int!){donor(cardNumber:$c){units{collectedOn} lookback(days:$d){collectedOn}}}"
    d = (await qa(q, {"c": world["donor"], "d": 60}))["data"]["donor"]
    days = [datetime.fromisoformat(u["collectedOn"]) for u in d["units"]]
    last = days[-1]
    expected = [x for x in days if (last - x).days <= 60]
    assert [datetime.fromisoformat(u["collectedOn"]) for u in d["lookback"]] == expected
    short = await qa(q, {"c": world["donor"], "d": 30})
    assert short["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


@pytest.mark.req("IT-55")
async def test_regulator_scoped_to_a_product_sees_its_genealogy_and_nothing_else(world: dict[str, Any]) -> None:
    reg = await _token(world, "reg.one", products=[ALBUMIN])
    g = (await reg(BACK, {"c": world["albumin"]}))["data"]["traceBackward"]
    assert _kinds(g)["DONOR"] > 0
    for query, var in ((BACK, world["other"]), (BACK, "NO-SUCH-CODE"), ("query($c:String!){batch(batchNumber:$c)"
                                                                         "{product}}", world["other"])):
        body = await reg(query, {"c": var})
        assert body["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE", (query, var)
        assert world["other"] not in body["errors"][0]["message"]
    listed = (await reg("{batches{edges{node{batchNumber product}}}}"))["data"]["batches"]["edges"]
    assert listed and {e["node"]["product"] for e in listed} == {ALBUMIN}
    # A donor whose units went into albumin and other products: forward shows only the albumin side.
    fwd = await reg(FWD, {"c": world["donor"]})
    assert fwd["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"


async def test_station_partner_sees_its_own_units_not_the_plant(world: dict[str, Any]) -> None:
    qa = await world["gql"].sign_in("qa.one")
    unit = (await qa("query($d:String!){plasmaUnit(donationNumber:$d){station{code} donorCardNumber}}",
                     {"d": world["free_units"][0]}))["data"]["plasmaUnit"]
    station = unit["station"]["code"]
    partner = await _token(world, "st.one", stations=[station])
    mine = await partner("query($d:String!){plasmaUnit(donationNumber:$d){station{code}}}",
                         {"d": world["free_units"][0]})
    assert mine["data"]["plasmaUnit"]["station"]["code"] == station
    other = next(u for u in world["free_units"][1:6] if not u.startswith(world["free_units"][0][:3]))
    theirs = await partner("query($d:String!){plasmaUnit(donationNumber:$d){station{code}}}", {"d": other})
    assert theirs["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"
    g = (await partner(FWD, {"c": unit["donorCardNumber"]}))["data"]["traceForward"]
    assert set(_kinds(g)) <= {"DONOR", "PLASMA_UNIT", "STATION"}
    assert (await partner("{batches{edges{node{batchNumber}}}}"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_distributor_sees_its_shipped_codes_only(world: dict[str, Any]) -> None:
    db = world["db"]
    from records.genealogy import Distributor, Shipment

    async with db.read() as s:
        shipped_case, dist = (await s.execute(
            select(PackagingUnit.id, Distributor.code).join(Shipment, Shipment.id == PackagingUnit.shipment_id)
            .join(Distributor, Distributor.id == Shipment.distributor_id).order_by(PackagingUnit.id))).first()
        inside = (await s.execute(select(PackagingUnit.code).where(PackagingUnit.parent_id.in_(
            select(PackagingUnit.id).where(PackagingUnit.parent_id == shipped_case))))).scalars().first()
        foreign = (await s.execute(
            select(PackagingUnit.code).join(Shipment, Shipment.id == PackagingUnit.shipment_id)
            .join(Distributor, Distributor.id == Shipment.distributor_id).where(Distributor.code != dist))
        ).scalars().first()
    partner = await _token(world, "dist.one", distributors=[dist])
    body = await partner(BACK, {"c": inside})
    assert "errors" not in body, body
    g = body["data"]["traceBackward"]
    assert set(_kinds(g)) == {"PACKAGING_UNIT", "FINAL_LOT", "INTERMEDIATE"}
    body = await partner(BACK, {"c": foreign})
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"


async def test_unknown_code_for_plant_users_is_not_found(world: dict[str, Any]) -> None:
    qa = await world["gql"].sign_in("qa.one")
    body = await qa(BACK, {"c": "NOPE"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await qa(BACK, {"c": world["donor"]}))["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


@pytest.mark.req("PR-36")
async def test_forward_from_a_batch_a_lot_or_a_packaging_code_follows_it_down(world: dict[str, Any]) -> None:
    """A forward trace starts from any code the graph holds, not only a donor, unit or pool: from a batch to its
    lots and packaging, from a lot to its packaging only, from a carton to the case and pallet it went into."""
    qa = await world["gql"].sign_in("qa.one")
    batch = (await qa(FWD, {"c": world["albumin"]}))["data"]["traceForward"]
    kinds = _kinds(batch)
    assert kinds["BATCH"] == 1 and kinds["FINAL_LOT"] == 2 and kinds["PACKAGING_UNIT"] > 0
    assert not {"POOL", "PLASMA_UNIT", "DONOR"} & set(kinds)  # forward: what it became, not where it came from
    lot_code = next(n["code"] for n in batch["nodes"] if n["kind"] == "FINAL_LOT")
    lot = (await qa(FWD, {"c": lot_code}))["data"]["traceForward"]
    assert _kinds(lot)["FINAL_LOT"] == 1 and "BATCH" not in _kinds(lot)
    assert 0 < _kinds(lot)["PACKAGING_UNIT"] < kinds["PACKAGING_UNIT"]
    carton = (await qa(FWD, {"c": world["unit_code"]}))["data"]["traceForward"]
    codes = {n["kind"] for n in carton["nodes"]}
    assert codes == {"PACKAGING_UNIT"} and len(carton["nodes"]) >= 2  # the unit and what it was packed into
    assert {e["kind"] for e in carton["edges"]} == {"AGGREGATED"}
    ids = {n["id"] for n in lot["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in lot["edges"])
    # A regulator scoped to another product gets the refusal an unknown code gets.
    reg = await _token(world, "reg.one", products=[ALBUMIN])
    assert (await reg(FWD, {"c": world["albumin"]}))["data"]["traceForward"]["nodes"]
    body = await reg(FWD, {"c": world["other"]})
    refusal = body["errors"][0]
    assert refusal["extensions"]["code"] == "OUT_OF_SCOPE" and world["other"] not in refusal["message"]
