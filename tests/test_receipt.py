"""Receipt by scan against the electronic manifest; material codes AAYYMMBBBBB; labels."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from demo.seed import seed_stations
from records.audit import AuditContext, AuditEvent
from records.plasma import CodeCounter
from resolvers.codes import PATTERN

SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) { accepted } }"""
RECEIVE = """mutation($input: ReceivePlasmaUnitInput!, $sig: SignatureInput!) {
  receivePlasmaUnit(input: $input, signature: $sig) {
    unit { donationNumber materialCode status storageLocation receivedBy }
    label { materialCode materialName lines { label value } code128Svg qrSvg } } }"""
TODAY = datetime.now(UTC).date()


def _unit(n: int) -> dict[str, Any]:
    return {"donationNumber": f"DN-R-{n:04d}", "donorCardNumber": f"RC-{n}", "bloodType": "B",
            "collectedOn": (TODAY - timedelta(days=5)).isoformat(), "weightG": 600.0}


@pytest_asyncio.fixture
async def rc(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    me = await gql.sign_in("log.sig")
    for ship, nums in (("SH-A", range(1, 6)), ("SH-B", range(10, 12))):
        inp = {"stationCode": "PS-N1", "shipmentCode": ship, "units": [_unit(n) for n in nums]}
        body = await me(SUBMIT, {"input": inp, "sig": signers.sign("log.sig", "submitPlasmaShipment", inp)})
        assert body["data"]["submitPlasmaShipment"]["accepted"] == len(nums)
    return {"me": me, "signers": signers, "db": db}


async def _receive(rc: dict[str, Any], scanned: str, shipment: str = "SH-A", weight: float = 598.0) -> dict[str, Any]:
    inp = {"stationCode": "PS-N1", "shipmentCode": shipment, "scannedCode": scanned, "weightG": weight,
           "storageLocation": "CS1-R01-P01"}
    body: dict[str, Any] = await rc["me"](RECEIVE, {"input": inp, "sig": rc["signers"].sign(
        "log.sig", "receivePlasmaUnit", inp)})
    return body


@pytest.mark.req("PL-07", "PL-09", "PR-10", "PR-12", "PR-13")
async def test_scanned_unit_gets_a_code_a_label_and_quarantine(rc: dict[str, Any]) -> None:
    out = (await _receive(rc, "DN-R-0001"))["data"]["receivePlasmaUnit"]
    code = out["unit"]["materialCode"]
    assert PATTERN.match(code) and code == f"PL{TODAY:%y%m}00001"
    assert out["unit"]["status"] == "QUARANTINED" and out["unit"]["receivedBy"] == "log.sig"
    lab = out["label"]
    assert lab["materialCode"] == code and "plasma" in lab["materialName"].lower()
    fields = {x["label"]: x["value"] for x in lab["lines"]}
    assert {"Donation number", "Collecting unit", "Quantity", "Expiry"} <= set(fields)
    assert lab["code128Svg"].lstrip().startswith("<") and "<svg" in lab["qrSvg"]
    second = (await _receive(rc, "DN-R-0002"))["data"]["receivePlasmaUnit"]["unit"]["materialCode"]
    assert second == f"PL{TODAY:%y%m}00002"


@pytest.mark.req("PL-09")
@pytest.mark.parametrize(("scanned", "shipment", "weight", "code"), [
    ("NOPE-1", "SH-A", 600.0, "NOT_FOUND"),
    ("DN-R-0010", "SH-A", 600.0, "CONFLICT"),       # on another shipment's manifest
    ("DN-R-0003", "SH-A", 500.0, "VALIDATION_FAILED"),  # weight far from the declared one
    ("DN-R-0003", "SH-X", 600.0, "NOT_FOUND"),
])
async def test_bad_scans_are_refused_and_audited(rc: dict[str, Any], scanned: str, shipment: str, weight: float,
                                                 code: str) -> None:
    body = await _receive(rc, scanned, shipment, weight)
    assert body["errors"][0]["extensions"]["code"] == code
    async with rc["db"].read() as s:
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.action == "RECEIPT_REJECTED"))).scalar_one()
    assert ev.changes["scanned"] == scanned and ev.actor == "log.sig"


async def test_a_unit_is_received_once(rc: dict[str, Any]) -> None:
    assert "errors" not in await _receive(rc, "DN-R-0004")
    again = await _receive(rc, "DN-R-0004")
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT" and "already received" in \
        again["errors"][0]["message"]


async def test_concurrent_receipts_get_distinct_codes(rc: dict[str, Any]) -> None:
    bodies = await asyncio.gather(*(_receive(rc, f"DN-R-{n:04d}") for n in range(1, 6)))
    codes = [b["data"]["receivePlasmaUnit"]["unit"]["materialCode"] for b in bodies]
    assert len(set(codes)) == 5


@pytest.mark.req("PR-12")
async def test_the_100000th_code_of_a_month_is_refused(rc: dict[str, Any]) -> None:
    async with rc["db"].write(AuditContext("system", reason="test")) as s:
        s.add(CodeCounter(prefix=f"PL{TODAY:%y%m}", last=99_999))
    body = await _receive(rc, "DN-R-0001")
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"


CLOSE = """mutation($input: ClosePlasmaReceiptInput!, $sig: SignatureInput!) {
  closePlasmaReceipt(input: $input, signature: $sig) { status declared received missing refusedScans closedBy } }"""


@pytest.mark.req("PL-07")
async def test_closing_receipt_records_missing_units_and_refused_scans(rc: dict[str, Any]) -> None:
    for n in (1, 2, 3):
        assert "errors" not in await _receive(rc, f"DN-R-{n:04d}")
    await _receive(rc, "STRAY-99")  # not on any manifest: refused at scan
    inp = {"stationCode": "PS-N1", "shipmentCode": "SH-A"}
    body = await rc["me"](CLOSE, {"input": inp, "sig": rc["signers"].sign("log.sig", "closePlasmaReceipt", inp)})
    rec = body["data"]["closePlasmaReceipt"]
    assert rec == {"status": "RECEIVED", "declared": 5, "received": 3, "missing": ["DN-R-0004", "DN-R-0005"],
                   "refusedScans": ["STRAY-99"], "closedBy": "log.sig"}
    from records.plasma import PlasmaUnit, StationNotice

    async with rc["db"].read() as s:
        status = (await s.execute(select(PlasmaUnit.status).where(PlasmaUnit.donation_number == "DN-R-0004"))
                  ).scalar_one()
        notice = (await s.execute(select(StationNotice.kind))).scalar_one()
    assert status == "MISSING" and notice == "RECEIPT_DISCREPANCY"
    again = await rc["me"](CLOSE, {"input": inp, "sig": rc["signers"].sign("log.sig", "closePlasmaReceipt", inp)})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
