"""Attack matrix, signatures: a signature covers exactly the input that is applied, on every transport.

Add a case here for every new signed mutation whose input could reach the resolver other than as
the request's `$input` variable.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from records.db import Database
from records.plant import Equipment
from records.plasma import PlasmaUnit
from records.signature import ESignature
from tests.attack.conftest import WS, SignedLive, code, count_events

OP = "setEquipmentStatus"
INPUT = {"code": "EQ-1", "status": "MAINTENANCE", "reason": "door seal"}
# $input has a default written in the document: a request that leaves it out applies the default.
DEFAULTED = """mutation($input: SetEquipmentStatusInput = {code: "EQ-1", status: MAINTENANCE, reason: "door seal"},
                        $sig: SignatureInput!) {
  setEquipmentStatus(input: $input, signature: $sig) { equipment { code status } } }"""
SET = """mutation($input: SetEquipmentStatusInput!, $sig: SignatureInput!) {
  setEquipmentStatus(input: $input, signature: $sig) { equipment { code status } } }"""


async def _state(db: Database) -> tuple[str, int]:
    async with db.read() as s:
        status = (await s.execute(select(Equipment.status).where(Equipment.code == "EQ-1"))).scalar_one()
        sigs = (await s.execute(select(func.count()).select_from(ESignature))).scalar_one()
    return str(status), int(sigs)


@pytest.mark.req("IT-44")
async def test_a_signature_over_null_does_not_cover_a_default_input_over_http(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    before = await _state(db)
    rejected = await count_events(db.url, "SIGNATURE_REJECTED")
    # Signed over input null, the request leaves $input to the document's default.
    body = await me(DEFAULTED, {"sig": signers.sign("op.one", OP, None)})
    assert code(body) == "VALIDATION_FAILED" and "$input" in body["errors"][0]["message"]
    assert await count_events(db.url, "SIGNATURE_REJECTED") == rejected + 1
    # An explicit null never reaches the resolver: the argument does not coerce.
    body = await me(DEFAULTED, {"input": None, "sig": signers.sign("op.one", OP, None)})
    assert code(body) == "VALIDATION_FAILED"
    assert await _state(db) == before
    # Sent as a variable and signed over exactly that, the same document works.
    body = await me(DEFAULTED, {"input": INPUT, "sig": signers.sign("op.one", OP, INPUT)})
    assert body["data"][OP]["equipment"]["status"] == "MAINTENANCE"


@pytest.mark.req("IT-44")
async def test_websocket_signatures_cover_the_operation_input(signed_live: SignedLive) -> None:
    ws = await WS.open(signed_live.live.ws_url, await signed_live.token("op.one"))
    db = Database(signed_live.url)
    try:
        before = await _state(db)
        rejected = await count_events(signed_live.url, "SIGNATURE_REJECTED")
        body = await ws.request(DEFAULTED, {"sig": signed_live.signers.sign("op.one", OP, None)}, "null")
        assert code(body) == "VALIDATION_FAILED"
        other = {**INPUT, "status": "FAULT"}
        body = await ws.request(SET, {"input": other, "sig": signed_live.signers.sign("op.one", OP, INPUT)}, "swap")
        assert code(body) == "SIGNATURE_INVALID"
        assert await _state(db) == before
        assert await count_events(signed_live.url, "SIGNATURE_REJECTED") == rejected + 2
        body = await ws.request(SET, {"input": INPUT, "sig": signed_live.signers.sign("op.one", OP, INPUT)}, "ok")
        assert body["data"][OP]["equipment"]["status"] == "MAINTENANCE"
        assert (await _state(db))[1] == before[1] + 1
    finally:
        await ws.close()
        await db.dispose()


SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) { accepted } }"""


@pytest.mark.req("IT-55")
async def test_a_read_only_station_token_cannot_write_over_the_websocket(signed_live: SignedLive) -> None:
    from demo.seed import seed_stations
    from tests.conftest import GQL
    from tests.signing_env import issue_token

    db = Database(signed_live.url)
    await seed_stations(db)
    import httpx

    async with httpx.AsyncClient(base_url=signed_live.live.url) as client:
        partner = await issue_token(GQL(client), signed_live.signers, "st.sig", stations=["PS-N1"])
    ws = await WS.open(signed_live.live.ws_url, str(partner.token))
    try:
        inp = {"stationCode": "PS-N1", "shipmentCode": "SH-WS", "units": [
            {"donationNumber": "DN-WS-00001", "donorCardNumber": "CARD-1", "bloodType": "A",
             "collectedOn": "2026-11-20", "weightG": 600.0}]}
        denied = await count_events(signed_live.url, "ACCESS_DENIED")
        body = await ws.request(SUBMIT, {"input": inp, "sig": signed_live.signers.sign(
            "st.sig", "submitPlasmaShipment", inp)})
        assert code(body) == "FORBIDDEN"
        async with db.read() as s:
            assert (await s.execute(select(func.count()).select_from(PlasmaUnit))).scalar_one() == 0
        assert await count_events(signed_live.url, "ACCESS_DENIED") == denied + 1
    finally:
        await ws.close()
        await db.dispose()
