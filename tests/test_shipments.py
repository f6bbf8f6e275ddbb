"""Station exchange: a station partner declares shipments for itself only; bad rows are reported, good
rows kept, re-sends create no duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from demo.seed import seed_stations
from records.audit import AuditContext
from records.plasma import Donor, PlasmaStation, PlasmaUnit
from tests.signing_env import issue_token

SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) {
    accepted duplicates rejected rows { row donationNumber result code reason } } }"""
TODAY = datetime.now(UTC).date()


def _unit(n: int, **kw: Any) -> dict[str, Any]:
    return {"donationNumber": f"DN-T-{n:05d}", "donorCardNumber": f"CARD-{n % 3}", "bloodType": "A",
            "collectedOn": (TODAY - timedelta(days=10)).isoformat(), "weightG": 600.0, **kw}


@pytest_asyncio.fixture
async def station(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    partner = await issue_token(gql, signers, "st.sig", readOnly=False, stations=["PS-N1"])
    # The station system signs with its own key; here the partner account's demo key plays that part.
    return {"gql": gql, "signers": signers, "db": db, "partner": partner}


async def _submit(w: dict[str, Any], units: list[dict[str, Any]], station_code: str = "PS-N1",
                  shipment: str = "SH-1") -> dict[str, Any]:
    inp = {"stationCode": station_code, "shipmentCode": shipment, "units": units}
    sig = w["signers"].sign("st.sig", "submitPlasmaShipment", inp)
    body: dict[str, Any] = await w["partner"](SUBMIT, {"input": inp, "sig": sig})
    return body


@pytest.mark.req("PL-02", "IT-31")
async def test_good_rows_are_kept_and_bad_rows_reported(station: dict[str, Any]) -> None:
    units = [_unit(1), _unit(2),
             _unit(3, collectedOn=(TODAY + timedelta(days=2)).isoformat()),
             _unit(4, weightG=50.0), _unit(5, bloodType="Q"), _unit(1)]
    rep = (await _submit(station, units))["data"]["submitPlasmaShipment"]
    assert (rep["accepted"], rep["duplicates"], rep["rejected"]) == (2, 0, 4)
    reasons = {r["row"]: r["reason"] for r in rep["rows"] if r["result"] == "REJECTED"}
    assert "future" in reasons[3] and "outside" in reasons[4] and "blood type" in reasons[5]
    assert "twice" in reasons[6]
    async with station["db"].read() as s:
        rows = (await s.execute(select(PlasmaUnit.donation_number, PlasmaUnit.status)
                                .order_by(PlasmaUnit.donation_number))).all()
    assert [tuple(r) for r in rows] == [("DN-T-00001", "IN_TRANSIT"), ("DN-T-00002", "IN_TRANSIT")]


async def test_resending_creates_no_duplicates(station: dict[str, Any]) -> None:
    await _submit(station, [_unit(1), _unit(2)])
    rep = (await _submit(station, [_unit(1), _unit(2), _unit(7)]))["data"]["submitPlasmaShipment"]
    assert (rep["accepted"], rep["duplicates"], rep["rejected"]) == (1, 2, 0)
    changed = (await _submit(station, [_unit(2, weightG=610.0)]))["data"]["submitPlasmaShipment"]
    assert changed["rows"][0]["code"] == "CONFLICT"
    async with station["db"].read() as s:
        assert (await s.execute(select(func.count()).select_from(PlasmaUnit))).scalar_one() == 3


async def test_a_station_submits_only_for_itself(station: dict[str, Any]) -> None:
    body = await _submit(station, [_unit(1)], station_code="PS-E1")
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"
    body = await _submit(station, [_unit(1)], station_code="NO-SUCH")
    assert body["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"


async def test_units_of_deferred_or_foreign_donors_are_rejected(station: dict[str, Any]) -> None:
    db = station["db"]
    async with db.write(AuditContext("system", reason="test setup")) as s:
        n1 = (await s.execute(select(PlasmaStation.id).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        e1 = (await s.execute(select(PlasmaStation.id).where(PlasmaStation.code == "PS-E1"))).scalar_one()
        s.add(Donor(card_number="DEF-1", station_id=n1, name="x", blood_type="A", status="DEFERRED"))
        s.add(Donor(card_number="EAST-1", station_id=e1, name="x", blood_type="A", status="ACTIVE"))
    rep = (await _submit(station, [_unit(1, donorCardNumber="DEF-1"), _unit(2, donorCardNumber="EAST-1")])
           )["data"]["submitPlasmaShipment"]
    assert [r["result"] for r in rep["rows"]] == ["REJECTED", "REJECTED"]
    assert "deferred" in rep["rows"][0]["reason"] and "another station" in rep["rows"][1]["reason"]


async def test_read_only_station_token_cannot_submit(env: Any) -> None:
    gql, signers, db = env
    await seed_stations(db)
    partner = await issue_token(gql, signers, "st.sig", stations=["PS-N1"])
    s_inp = {"stationCode": "PS-N1", "shipmentCode": "SH", "units": [_unit(1)]}
    r = await partner.post(SUBMIT, {"input": s_inp, "sig": signers.sign("st.sig", "submitPlasmaShipment", s_inp)})
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


FILE = """mutation($input: SubmitPlasmaShipmentFileInput!, $sig: SignatureInput!) {
  submitPlasmaShipmentFile(input: $input, signature: $sig) {
    accepted duplicates rejected rows { row donationNumber result code reason } } }"""


async def _file(w: dict[str, Any], fmt: str, content: str) -> dict[str, Any]:
    inp = {"stationCode": "PS-N1", "shipmentCode": "SH-F", "format": fmt, "content": content}
    body: dict[str, Any] = await w["partner"](FILE, {"input": inp, "sig": w["signers"].sign(
        "st.sig", "submitPlasmaShipmentFile", inp)})
    return body


@pytest.mark.req("IT-30", "IT-31")
async def test_csv_manifest_reports_each_line(station: dict[str, Any]) -> None:
    day = (TODAY - timedelta(days=3)).isoformat()
    csv_text = ("donation_number,donor_card_number,blood_type,collected_on,weight_g\n"
                f"F-1,CARD-F1,A,{day},600\n"
                f"F-2,CARD-F2,A,not-a-date,600\n"
                f"F-3,CARD-F3,A,{day},heavy\n"
                f"F-4,CARD-F4,A,{day},610.5\n")
    rep = (await _file(station, "csv", csv_text))["data"]["submitPlasmaShipmentFile"]
    assert (rep["accepted"], rep["rejected"]) == (2, 2)
    by_line = {r["row"]: r for r in rep["rows"]}
    assert by_line[2]["result"] == "ACCEPTED" and by_line[5]["result"] == "ACCEPTED"
    assert "not a date" in by_line[3]["reason"] and "not a number" in by_line[4]["reason"]
    again = (await _file(station, "csv", csv_text))["data"]["submitPlasmaShipmentFile"]
    assert (again["accepted"], again["duplicates"]) == (0, 2)


async def test_json_manifest_and_malformed_files(station: dict[str, Any]) -> None:
    day = (TODAY - timedelta(days=3)).isoformat()
    good = [{"donation_number": "J-1", "donor_card_number": "CJ-1", "blood_type": "b", "collected_on": day,
             "weight_g": 590}, {"donation_number": "J-2"}, 7]
    import json

    rep = (await _file(station, "JSON", json.dumps({"units": good})))["data"]["submitPlasmaShipmentFile"]
    assert [r["result"] for r in rep["rows"]] == ["ACCEPTED", "REJECTED", "REJECTED"]
    assert "missing" in rep["rows"][1]["reason"]
    for fmt, content in (("JSON", "{not json"), ("CSV", "a,b\n1,2\n"), ("XML", "<units/>")):
        body = await _file(station, fmt, content)
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", fmt
