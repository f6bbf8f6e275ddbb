"""Plasma stations are registered through the API (QA's signed approval), not only by the demo seeder:
a station registered this way can declare shipments at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from records.audit import AuditEvent
from records.plasma import PlasmaStation
from records.signature import ESignature
from tests.signing_env import issue_token

REGISTER = """mutation($input: RegisterPlasmaStationInput!, $sig: SignatureInput!) {
  registerPlasmaStation(input: $input, signature: $sig) { code name province } }"""
SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) { accepted rejected } }"""
NEW = {"code": "PS-NEW", "name": "Synthetic Plasma Station 9", "province": "Test Province",
       "licenceNumber": "LIC-TEST-0009", "reason": "supplier audit passed"}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _register(gql: Any, signers: Any, user: str, inp: dict[str, Any], meaning: str = "APPROVED") -> Any:
    me = await gql.sign_in(user)
    return await me(REGISTER, {"input": inp, "sig": signers.sign(user, "registerPlasmaStation", inp, meaning)})


async def test_qa_registers_a_station_that_then_declares_a_shipment(env: Any) -> None:
    gql, signers, db = env
    body = await _register(gql, signers, "qa.sig", NEW)
    assert body["data"]["registerPlasmaStation"] == {"code": "PS-NEW", "name": NEW["name"],
                                                     "province": "Test Province"}
    async with db.read() as s:
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-NEW"))).scalar_one()
        sig = (await s.execute(select(ESignature).where(ESignature.entity == "plasma_station",
                                                        ESignature.entity_id == str(st.id)))).scalar_one()
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.entity == "plasma_station",
                                                       AuditEvent.action == "CREATE"))).scalar_one()
    assert (st.licence_number, sig.meaning, sig.signer) == ("LIC-TEST-0009", "APPROVED", "qa.sig")
    assert ev.reason == "supplier audit passed"

    qa = await gql.sign_in("qa.sig")
    listed = await qa("{ plasmaStations { code } }")
    assert {"code": "PS-NEW"} in listed["data"]["plasmaStations"]

    partner = await issue_token(gql, signers, "st.sig", readOnly=False, stations=["PS-NEW"])
    collected = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    inp = {"stationCode": "PS-NEW", "shipmentCode": "SH-NEW-1", "units": [
        {"donationNumber": "DN-NEW-00001", "donorCardNumber": "CARD-NEW-1", "bloodType": "O",
         "collectedOn": collected, "weightG": 600.0}]}
    body = await partner(SUBMIT, {"input": inp, "sig": signers.sign("st.sig", "submitPlasmaShipment", inp)})
    assert body["data"]["submitPlasmaShipment"] == {"accepted": 1, "rejected": 0}, body
    # The station's own token sees its own station only.
    assert (await partner("{ plasmaStations { code } }"))["data"]["plasmaStations"] == [{"code": "PS-NEW"}]


async def test_registration_refusals_write_nothing(env: Any) -> None:
    gql, signers, db = env
    assert "errors" not in await _register(gql, signers, "qa.sig", NEW)
    async with db.read() as s:
        before = (await s.execute(select(func.count()).select_from(PlasmaStation))).scalar_one()

    again = await _register(gql, signers, "qa.two", {**NEW, "reason": "twice"})
    assert _code(again) == "CONFLICT", again
    bad = await _register(gql, signers, "qa.sig", {**NEW, "code": "bad code!"})
    assert _code(bad) == "VALIDATION_FAILED", bad
    blank = await _register(gql, signers, "qa.sig", {**NEW, "code": "PS-X", "licenceNumber": " "})
    assert _code(blank) == "VALIDATION_FAILED", blank
    # Only QA approves suppliers: logistics may not, and QA's signature must mean APPROVED.
    other = await _register(gql, signers, "log.sig", {**NEW, "code": "PS-Y"})
    assert _code(other) == "FORBIDDEN", other
    wrong = await _register(gql, signers, "qa.sig", {**NEW, "code": "PS-Z"}, meaning="PERFORMED")
    assert _code(wrong) == "FORBIDDEN", wrong

    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(PlasmaStation))).scalar_one() == before
