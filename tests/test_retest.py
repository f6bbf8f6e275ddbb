"""Retest, second-person review, unqualified plasma, quarantine and QA release of plasma."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from demo.seed import seed_stations
from records.plasma import PlasmaUnit, StationNotice

TODAY = datetime.now(UTC).date()
SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) { accepted } }"""
RECEIVE = """mutation($input: ReceivePlasmaUnitInput!, $sig: SignatureInput!) {
  receivePlasmaUnit(input: $input, signature: $sig) { unit { status } } }"""
RECORD = """mutation($input: RecordRetestInput!, $sig: SignatureInput!){
  recordRetest(input:$input, signature:$sig){ test result analyst } }"""
REVIEW = """mutation($input: ReviewRetestInput!, $sig: SignatureInput!){
  reviewRetest(input:$input, signature:$sig){ test reviewedBy } }"""
RELEASE = """mutation($input: ReleasePlasmaInput!, $sig: SignatureInput!){
  releasePlasma(input:$input, signature:$sig){ donationNumber status } }"""
STATE = "query($d:String!){quarantineState(donationNumber:$d){eligible reasons quarantineEnds}}"


def _panel(**override: str) -> list[dict[str, Any]]:
    out = []
    for test in ("HBSAG", "ANTI_HCV", "ANTI_HIV", "SYPHILIS", "ALT"):
        out.append({"test": test, "result": override.get(test, "NEGATIVE"), "method": "ELISA",
                    "kitLot": "K-2611", "instrument": "EL-01", **({"value": 18.0} if test == "ALT" else {})})
    return out


@pytest_asyncio.fixture
async def rt(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    log = await gql.sign_in("log.sig")
    units = [{"donationNumber": n, "donorCardNumber": "RT-DONOR", "bloodType": "O",
              "collectedOn": (TODAY - timedelta(days=d)).isoformat(), "weightG": 600.0}
             for n, d in (("RT-A", 70), ("RT-B", 5), ("RT-C", 4))]
    inp = {"stationCode": "PS-N1", "shipmentCode": "SH-RT", "units": units}
    await log(SUBMIT, {"input": inp, "sig": signers.sign("log.sig", "submitPlasmaShipment", inp)})
    for n in ("RT-A", "RT-B", "RT-C"):
        r_in = {"stationCode": "PS-N1", "shipmentCode": "SH-RT", "scannedCode": n, "weightG": 600.0,
                "storageLocation": "CS1-R01-P01"}
        await log(RECEIVE, {"input": r_in, "sig": signers.sign("log.sig", "receivePlasmaUnit", r_in)})
    return {"gql": gql, "signers": signers, "db": db}


async def _do(rt: dict[str, Any], user: str, query: str, op: str, inp: dict[str, Any], meaning: str) -> Any:
    me = await rt["gql"].sign_in(user)
    return await me(query, {"input": inp, "sig": rt["signers"].sign(user, op, inp, meaning)})


async def _tested(rt: dict[str, Any], unit: str, **override: str) -> None:
    assert "errors" not in await _do(rt, "qc.sig", RECORD, "recordRetest",
                                     {"donationNumber": unit, "tests": _panel(**override)}, "PERFORMED")
    assert "errors" not in await _do(rt, "qcr.sig", REVIEW, "reviewRetest", {"donationNumber": unit}, "REVIEWED")


@pytest.mark.req("PL-13", "PL-16", "PL-17", "PL-18")
async def test_unit_is_released_only_after_quarantine_and_a_negative_follow_up(rt: dict[str, Any]) -> None:
    qa = await rt["gql"].sign_in("qa.sig")
    await _tested(rt, "RT-A")
    state = (await qa(STATE, {"d": "RT-A"}))["data"]["quarantineState"]
    assert not state["eligible"] and any("later donation" in r for r in state["reasons"])
    await _tested(rt, "RT-B")
    assert (await qa(STATE, {"d": "RT-A"}))["data"]["quarantineState"]["eligible"] is True
    refused = await _do(rt, "qa.sig", RELEASE, "releasePlasma", {"donationNumbers": ["RT-A", "RT-B"]}, "RELEASED")
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert refused["errors"][0]["extensions"]["units"] == ["RT-B"]
    ok = await _do(rt, "qa.sig", RELEASE, "releasePlasma", {"donationNumbers": ["RT-A"]}, "RELEASED")
    assert ok["data"]["releasePlasma"] == [{"donationNumber": "RT-A", "status": "RELEASED"}]


@pytest.mark.req("PL-15", "PL-19", "PL-14")
async def test_reactive_result_blocks_the_unit_and_notifies_the_station(rt: dict[str, Any]) -> None:
    await _tested(rt, "RT-C", ANTI_HCV="REACTIVE")
    async with rt["db"].read() as s:
        status = (await s.execute(select(PlasmaUnit.status).where(PlasmaUnit.donation_number == "RT-C"))
                  ).scalar_one()
        notice = (await s.execute(select(StationNotice).where(StationNotice.kind == "UNQUALIFIED_UNIT"))
                  ).scalar_one()
    assert status == "BLOCKED" and notice.donation_number == "RT-C" and "ANTI_HCV" in notice.reason


@pytest.mark.req("IT-23")
async def test_the_analyst_cannot_review_their_own_results(rt: dict[str, Any]) -> None:
    inp = {"donationNumber": "RT-A", "tests": _panel()}
    assert "errors" not in await _do(rt, "qc.both", RECORD, "recordRetest", inp, "PERFORMED")
    body = await _do(rt, "qc.both", REVIEW, "reviewRetest", {"donationNumber": "RT-A"}, "REVIEWED")
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"


async def test_incomplete_results_are_refused(rt: dict[str, Any]) -> None:
    panel = _panel()
    panel[-1].pop("value")
    body = await _do(rt, "qc.sig", RECORD, "recordRetest", {"donationNumber": "RT-A", "tests": panel}, "PERFORMED")
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    body = await _do(rt, "qcr.sig", REVIEW, "reviewRetest", {"donationNumber": "RT-A"}, "REVIEWED")
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"


@pytest.mark.req("PL-17")
async def test_station_results_of_a_later_donation_end_the_quarantine(rt: dict[str, Any]) -> None:
    from tests.signing_env import issue_token

    await _tested(rt, "RT-A")
    station = await issue_token(rt["gql"], rt["signers"], "st.sig", readOnly=False, stations=["PS-N1"])
    q = """mutation($input: RecordRetestInput!, $sig: SignatureInput!){
      submitStationResults(input:$input, signature:$sig){ test source reviewedBy } }"""
    inp = {"donationNumber": "RT-B", "tests": _panel()}
    out = await station(q, {"input": inp, "sig": rt["signers"].sign("st.sig", "submitStationResults", inp)})
    assert {r["source"] for r in out["data"]["submitStationResults"]} == {"STATION"}
    qa = await rt["gql"].sign_in("qa.sig")
    assert (await qa(STATE, {"d": "RT-A"}))["data"]["quarantineState"]["eligible"] is True
    # The station's results alone never clear the unit they belong to: our own retest is still needed.
    assert (await qa(STATE, {"d": "RT-B"}))["data"]["quarantineState"]["eligible"] is False
