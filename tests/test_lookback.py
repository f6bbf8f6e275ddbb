"""Deferring a donor blocks the lookback units still in the plant, reports what the used ones reached,
and notifies the station, which acknowledges through its own token."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from demo import population
from demo.seed import seed_stations
from records.plasma import Donor, PlasmaStation, PlasmaUnit
from tests.signing_env import issue_token

POP = population.Population(donors=300, units=1200, pools=6, cases_per_lot=1, cartons_per_case=2,
                            units_per_carton=2)
DEFER = """mutation($input: DeferDonorInput!, $sig: SignatureInput!){ deferDonor(input:$input, signature:$sig){
  windowUnits blockedUnits pools batches finalLots packagingUnits } }"""


@pytest_asyncio.fixture
async def lb(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    await population.generate(db, POP)
    async with db.read() as s:
        card, station = (await s.execute(select(Donor.card_number, PlasmaStation.code).join(Donor.station)
                                         .where(Donor.id == 9))).one()
    return {"gql": gql, "signers": signers, "db": db, "card": card, "station": station}


@pytest.mark.req("PL-03", "PL-04", "PL-19")
async def test_deferral_blocks_unused_units_and_reports_the_impact(lb: dict[str, Any]) -> None:
    qa = await lb["gql"].sign_in("qa.sig")
    inp = {"cardNumber": lb["card"], "status": "DEFERRED", "reason": "anti-HCV reactive at a later donation"}
    out = (await qa(DEFER, {"input": inp, "sig": lb["signers"].sign("qa.sig", "deferDonor", inp, "APPROVED")}))[
        "data"]["deferDonor"]
    assert len(out["windowUnits"]) == 2 and len(out["blockedUnits"]) == 1
    assert out["pools"] and out["batches"] and out["finalLots"] and out["packagingUnits"] > 0
    async with lb["db"].read() as s:
        statuses = dict((await s.execute(select(PlasmaUnit.donation_number, PlasmaUnit.status)
                                         .where(PlasmaUnit.donation_number.in_(out["windowUnits"])))).all())
        donor = (await s.execute(select(Donor.status).where(Donor.card_number == lb["card"]))).scalar_one()
    assert statuses[out["blockedUnits"][0]] == "BLOCKED" and donor == "DEFERRED"
    again = await qa(DEFER, {"input": inp, "sig": lb["signers"].sign("qa.sig", "deferDonor", inp, "APPROVED")})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_station_reads_and_acknowledges_its_notice(lb: dict[str, Any]) -> None:
    gql, signers = lb["gql"], lb["signers"]
    qa = await gql.sign_in("qa.sig")
    inp = {"cardNumber": lb["card"], "status": "DEFERRED", "reason": "HBsAg reactive"}
    await qa(DEFER, {"input": inp, "sig": signers.sign("qa.sig", "deferDonor", inp, "APPROVED")})
    station = await issue_token(gql, signers, "st.sig", readOnly=False, stations=[lb["station"]])
    notices = (await station("{stationNotices{id kind donorCardNumber reason}}"))["data"]["stationNotices"]
    assert [n["kind"] for n in notices] == ["DONOR_DEFERRED"] and notices[0]["donorCardNumber"] == lb["card"]
    ack = await station("mutation($id:ID!){acknowledgeNotice(id:$id){acknowledgedBy acknowledgedAt}}",
                        {"id": notices[0]["id"]})
    assert ack["data"]["acknowledgeNotice"]["acknowledgedBy"] == "st.sig"
    assert (await station("{stationNotices{id}}"))["data"]["stationNotices"] == []


async def test_lookback_preview_needs_at_least_60_days(lb: dict[str, Any]) -> None:
    qa = await lb["gql"].sign_in("qa.sig")
    body = await qa("query($c:String!){lookbackImpact(cardNumber:$c, days:30){windowUnits}}", {"c": lb["card"]})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    ok = await qa("query($c:String!){lookbackImpact(cardNumber:$c){windowUnits batches}}", {"c": lb["card"]})
    assert len(ok["data"]["lookbackImpact"]["windowUnits"]) == 2


async def test_station_reports_a_deferral_of_its_own_donor_only(lb: dict[str, Any]) -> None:
    gql, signers = lb["gql"], lb["signers"]
    station = await issue_token(gql, signers, "st.sig", readOnly=False, stations=[lb["station"]])
    q = """mutation($input: ReportDonorStatusInput!, $sig: SignatureInput!){
      reportDonorStatus(input:$input, signature:$sig){ blockedUnits } }"""
    inp = {"cardNumber": lb["card"], "status": "PERMANENTLY_DEFERRED", "reason": "confirmed HIV-1 positive"}
    out = await station(q, {"input": inp, "sig": signers.sign("st.sig", "reportDonorStatus", inp)})
    assert len(out["data"]["reportDonorStatus"]["blockedUnits"]) == 1
    async with lb["db"].read() as s:
        other = (await s.execute(select(Donor.card_number).join(Donor.station)
                                 .where(PlasmaStation.code != lb["station"]))).scalars().first()
    inp2 = {"cardNumber": other, "status": "DEFERRED", "reason": "x"}
    body = await station(q, {"input": inp2, "sig": signers.sign("st.sig", "reportDonorStatus", inp2)})
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"
