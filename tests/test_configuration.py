"""Configuration under change control (issue 14): a tag's alarm rule changes only with a reason, signed by a
production supervisor or QA and approved by QA in the same request, audited with old and new values; and the
configuration in force at any past moment (settings, alarm rules, policy, specifications, recipes) is rebuilt
from the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext, AuditEvent
from records.plant import Room, Sensor
from tests.attack.signed_cases.base import World, document
from tests.test_users import set_setting

AT = """query($at: DateTime!) { configurationAt(at: $at) { settings policyFingerprint
  alarmRules { tag lowLimit highLimit alarmDelayS alarmDeadband alarmPriority } specifications { code version } } }"""


def _code(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["extensions"]["code"])


async def _change(w: World, inp: dict[str, Any], user: str = "sup.rsa", approver: str = "qa.sig") -> dict[str, Any]:
    me = await w.gql.sign_in(user)
    return await me(document("changeAlarmRule", "approval"), {
        "input": inp, "sig": w.signers.sign(user, "changeAlarmRule", inp, "PERFORMED"),
        "second": w.signers.sign(approver, "changeAlarmRule", inp, "APPROVED")})


@pytest.mark.req("IT-04")
async def test_alarm_rules_change_under_control_and_any_past_configuration_is_rebuilt(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    async with db.write(AuditContext("system", reason="layout")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="R1-TT-101", name="Room temperature", kind="temperature", unit="°C", room_id=room.id,
                     low_limit=18.0, high_limit=24.0, alarm_priority="MEDIUM"))
    assert "errors" not in await set_setting(gql, signers, "audit.review.days", 30, "monthly")
    before = datetime.now(UTC)

    rule = {"tag": "R1-TT-101", "lowLimit": 18.0, "highLimit": 23.5, "alarmDelayS": 60.0, "alarmDeadband": 0.5,
            "alarmPriority": "HIGH", "reason": "tighter after the deviation of 3 December"}
    # Refused, nothing changed: bad limits, an unknown tag, the same person approving, an operator.
    assert _code(await _change(w, rule | {"lowLimit": 24.0})) == "VALIDATION_FAILED"
    assert _code(await _change(w, rule | {"tag": "NOPE"})) == "NOT_FOUND"
    assert _code(await _change(w, rule, user="qa.sig", approver="qa.sig")) in ("SIGNATURE_INVALID", "SOD_VIOLATION")
    assert _code(await _change(w, rule, user="op.one")) == "FORBIDDEN"
    body = await _change(w, rule)
    assert "errors" not in body, body
    assert _code(await _change(w, rule)) == "CONFLICT"  # nothing changes
    async with db.read() as s:
        update = (await s.execute(select(AuditEvent).where(AuditEvent.entity == "sensor",
                                                           AuditEvent.action == "UPDATE"))).scalar_one()
        signs = (await s.execute(select(AuditEvent.actor).where(AuditEvent.entity == "sensor",
                                                                AuditEvent.action == "SIGN"))).scalars().all()
    assert update.changes["high_limit"] == [24.0, 23.5] and update.reason == rule["reason"]
    assert update.changes["alarm_priority"] == ["MEDIUM", "HIGH"]
    assert sorted(signs) == ["sup.rsa", "sup.rsa"]  # the signer's and the approver's, bound in one request

    assert "errors" not in await set_setting(gql, signers, "audit.review.days", 14, "tighter review")
    qa = await gql.sign_in("qa.sig")
    then = (await qa(AT, {"at": before.isoformat()}))["data"]["configurationAt"]
    now = (await qa(AT, {"at": datetime.now(UTC).isoformat()}))["data"]["configurationAt"]
    assert then["settings"]["audit.review.days"] == 30 and now["settings"]["audit.review.days"] == 14
    old = next(r for r in then["alarmRules"] if r["tag"] == "R1-TT-101")
    new = next(r for r in now["alarmRules"] if r["tag"] == "R1-TT-101")
    assert (old["highLimit"], old["alarmPriority"]) == (24.0, "MEDIUM")
    assert (new["highLimit"], new["alarmDelayS"], new["alarmPriority"]) == (23.5, 60.0, "HIGH")
    assert then["policyFingerprint"] is None  # the shipped files, never reloaded
    op = await gql.sign_in("op.one")
    assert _code(await op(AT, {"at": before.isoformat()})) == "FORBIDDEN"
