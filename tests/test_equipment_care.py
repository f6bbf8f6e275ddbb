"""Cleaning, sterilisation and calibration are recorded through the API with their validity; the
execution of a batch refuses equipment whose record failed or ran out (PR-06)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.plant import Equipment
from records.signature import ESignature
from tests.attack.signed_cases.base import World
from tests.test_phases import _batch, _start

CARE = """mutation($input: RecordEquipmentCareInput!, $sig: SignatureInput!) {
  recordEquipmentCare(input: $input, signature: $sig) { code cleaningStatus cleaningValidUntil calibrationStatus } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def care(w: World, inp: dict[str, Any], user: str = "op.one") -> Any:
    me = await w.gql.sign_in(user)
    return await me(CARE, {"input": inp, "sig": w.signers.sign(user, "recordEquipmentCare", inp)})


def _record(kind: str, days_ago: int, valid_days: int | None, passed: bool = True,
            code: str = "EQ-1") -> dict[str, Any]:
    done = datetime.now(UTC) - timedelta(days=days_ago)
    valid = (done + timedelta(days=valid_days)).date().isoformat() if valid_days is not None else None
    return {"equipmentCode": code, "kind": kind, "passed": passed, "performedAt": done.isoformat(),
            "validUntil": valid, "reference": "SOP-CLN-004"}


@pytest.mark.req("PR-06")
async def test_a_record_out_of_date_or_failed_stops_the_phase_until_a_new_one_passes(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    body = await care(w, _record("CLEANING", 10, 9))  # valid until yesterday
    assert body["data"]["recordEquipmentCare"]["cleaningStatus"] == "CLEAN", body
    refused = await _start(w, "MIX", "EQ-1")
    assert _code(refused) == "CONFLICT" and "cleaning expired on" in str(refused), refused

    assert "errors" not in await care(w, _record("CLEANING", 0, 7))
    assert "errors" not in await care(w, _record("CALIBRATION", 0, None, passed=False))
    refused = await _start(w, "MIX", "EQ-1")
    assert _code(refused) == "CONFLICT" and "calibration status is OUT_OF_CALIBRATION" in str(refused), refused

    assert "errors" not in await care(w, _record("CALIBRATION", 0, 365))
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    async with db.read() as s:
        eq = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-1"))).scalar_one()
        signed = (await s.execute(select(ESignature.id).where(ESignature.entity == "equipment",
                                                              ESignature.entity_id == str(eq)))).scalars().all()
    assert len(signed) == 4


async def test_care_records_must_be_whole_and_true(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    cases = {
        "future": ({**_record("CLEANING", -1, 7)}, "future"),
        "no validity": (_record("CLEANING", 0, None), "validUntil"),
        "failed with validity": (_record("STERILIZATION", 0, 7, passed=False), "no validity"),
        "before it was done": (_record("CLEANING", 0, -2), "validUntil"),
        "no reference": ({**_record("CLEANING", 0, 7), "reference": " "}, "reference"),
    }
    for name, (inp, words) in cases.items():
        body = await care(w, inp)
        assert _code(body) == "VALIDATION_FAILED" and words in body["errors"][0]["message"], (name, body)
    assert _code(await care(w, _record("CLEANING", 0, 7, code="EQ-404"))) == "NOT_FOUND"
    assert _code(await care(w, _record("CLEANING", 0, 7), user="qa.sig")) == "FORBIDDEN"
