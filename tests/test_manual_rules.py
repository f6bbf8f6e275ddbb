"""Values entered by hand follow the rule of their risk class (PR-04): by default a MEDIUM-risk value
needs a second person's verification and a HIGH-risk one also the photo or printout it was read from;
the administrator changes the rules per class as a signed setting, and an entry that breaks its rule
is refused with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from records.execution import PhaseRun
from tests.attack.signed_cases.base import World
from tests.test_attachments import upload
from tests.test_phases import CHECKED, COMPLETE, START, planned

RECIPE: dict[str, Any] = {
    "code": "RISK-MR", "product": "Human Albumin 20%", "name": "Risk classes", "batchSize": 100, "batchUnit": "L",
    "changeNote": "first", "phases": [
        {"code": "THAW", "name": "Thaw", "unitProcedure": "Prep", "operation": "Thawing", "equipmentClass": "tank",
         "instructions": "Thaw.",
         "parameters": [{"name": "Heating-medium temperature", "unit": "°C", "low": 30, "high": 37, "risk": "HIGH"},
                        {"name": "Stirring time", "unit": "min", "low": 30, "high": 60}],
         "controls": [{"name": "pH", "method": "pH meter", "unit": "pH", "low": 6.8, "high": 7.2,
                       "risk": "MEDIUM"}]}]}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _complete(w: World, photo: str | None = None, verifier: str | None = None) -> Any:
    heating = {"name": "Heating-medium temperature", "value": 35, **({"attachmentId": photo} if photo else {})}
    inp = {"batchNumber": "RK-1", "phaseCode": "THAW", "manual": [heating, {"name": "Stirring time", "value": 45}],
           "controls": [{"name": "pH", "value": 7.0}]}
    me = await w.gql.sign_in("op.one")
    v = w.signers.sign(verifier, "completePhase", inp, "VERIFIED") if verifier else None
    return await me(COMPLETE, {"input": inp, "sig": w.signers.sign("op.one", "completePhase", inp), "v": v})


@pytest.mark.req("PR-04")
async def test_each_value_entered_by_hand_follows_the_rule_of_its_risk_class(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await planned(w, RECIPE, "RK-1")
    start = {"batchNumber": "RK-1", "phaseCode": "THAW", "equipmentCode": "EQ-1", "confirmed": CHECKED}
    me = await gql.sign_in("op.one")
    assert "errors" not in await me(START, {"input": start, "sig": signers.sign("op.one", "startPhase", start)})

    body = await _complete(w)
    assert _code(body) == "VALIDATION_FAILED" and "HIGH-risk entry: attach" in str(body), body
    photo = await upload(w, "op.one", "thermometer.png")
    body = await _complete(w, photo)
    assert _code(body) == "SIGNATURE_REQUIRED" and "HIGH-risk entry: a second person" in str(body), body

    # The administrator makes LOW-risk entries need their evidence too: the stirring time now has none.
    rules = {"LOW": {"attachment": True, "verification": False}, "MEDIUM": {"attachment": False, "verification": True},
             "HIGH": {"attachment": True, "verification": True}}
    bad = {"key": "manualEntry.rules", "value": {"LOW": {"attachment": "yes"}}, "reason": "typo"}
    body = await w.send("adm.sig", "setSetting", bad)
    assert _code(body) == "VALIDATION_FAILED" and "attachment and verification" in str(body), body
    await w.call("adm.sig", "setSetting", {"key": "manualEntry.rules", "value": rules, "reason": "risk review RA-12"})
    body = await _complete(w, photo, verifier="sup.rsa")
    assert _code(body) == "VALIDATION_FAILED" and "Stirring time is a LOW-risk entry" in str(body), body
    async with db.read() as s:
        assert (await s.execute(select(PhaseRun.status))).scalar_one() == "RUNNING"  # nothing written

    rules["LOW"]["attachment"] = False
    await w.call("adm.sig", "setSetting", {"key": "manualEntry.rules", "value": rules, "reason": "reverted"})
    done = (await _complete(w, photo, verifier="sup.rsa"))["data"]["completePhase"]
    assert (done["status"], done["verifiedBy"]) == ("COMPLETED", "sup.rsa")
