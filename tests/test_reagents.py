"""Reagents, reference standards, test solutions and test kits (QC-22, QC-23, QC-24): their signed life cycle,
the refusal of a test that names an expired, unreleased or retest-due lot (recordTestResult and a plasma
retest), reminders of expiry and retest dates as a query and a subscription, and who may do what."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from records.audit import AuditContext, AuditEvent
from records.plasma import RetestResult
from records.qc_record import TestRecord, TestResult
from records.reagent import ReagentLot, ReagentMovement
from records.signature import ESignature, record_hash
from resolvers import identity
from resolvers.context import Context
from resolvers.qc_records import content
from schema import reagents as reagent_schema
from schema.root import build_schema
from tests.test_qc_records import RECORD as RECORD_RESULT
from tests.test_qc_records import _entry
from tests.test_qc_records import _setup as _lab
from tests.test_retest import RECORD as RECORD_RETEST
from tests.test_retest import _panel
from tests.test_retest import rt as rt  # the fixture: stations and received plasma units
from tests.test_users import set_setting

TODAY = date.today()
LOT = ("code kind name lotNumber supplier quantity issued unit location conditions expiresOn retestOn factor status "
       "receivedBy releasedBy movements { kind quantity balance by note otherCode factor retestOn method usedFor "
       "usedForId }")
OPS = {op: f"""mutation($input: {op[0].upper() + op[1:]}Input!, $sig: SignatureInput!) {{
  {op}(input: $input, signature: $sig) {{ {LOT} }} }}""" for op in (
    "receiveReagent", "releaseReagent", "prepareSolution", "standardiseReagent", "issueReagent", "returnReagent",
    "destroyReagent")}
MEANING = {"releaseReagent": "APPROVED"}
REMINDERS = "query($d: Int) { reagentReminders(withinDays: $d) { code due dueOn daysLeft status kind } }"


async def _do(gql: Any, signers: Any, user: str, op: str, inp: dict[str, Any]) -> Any:
    me = await gql.sign_in(user)
    return await me(OPS[op], {"input": inp, "sig": signers.sign(user, op, inp, MEANING.get(op, "PERFORMED"))})


def _ok(body: Any, op: str) -> dict[str, Any]:
    assert "errors" not in body, body
    lot: dict[str, Any] = body["data"][op]
    return lot


def _code(body: Any) -> str:
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def _receipt(code: str, kind: str = "REAGENT", days: int = 365, **more: Any) -> dict[str, Any]:
    return {"code": code, "kind": kind, "name": f"Lot {code}", "lotNumber": f"L-{code}", "supplier": "Sinopharm",
            "quantity": 500.0, "unit": "g", "location": "QC-R2 shelf 3", "conditions": "15-25 °C, dry",
            "expiresOn": (TODAY + timedelta(days=days)).isoformat()} | more


async def _released(gql: Any, signers: Any, code: str, kind: str = "REAGENT", **more: Any) -> dict[str, Any]:
    _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt(code, kind, **more)), "receiveReagent")
    return _ok(await _do(gql, signers, "qcr.sig", "releaseReagent", {"code": code, "reason": "CoA checked"}),
               "releaseReagent")


async def _events(db: Any, action: str) -> list[AuditEvent]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action)
                                     .order_by(AuditEvent.id))).scalars())


async def _age(db: Any, code: str, **dates: date) -> None:
    """Time passes: the lot's dates move into the past (as if the calendar had moved on)."""
    async with db.write(AuditContext("system", reason="test: time passes")) as s:
        await s.execute(update(ReagentLot).where(ReagentLot.code == code).values(**dates))


@pytest.mark.req("QC-02", "QC-23")
async def test_a_lot_is_received_released_prepared_standardised_issued_returned_and_destroyed(env: Any) -> None:
    gql, signers, db = env
    naoh = _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt("R-NAOH", days=400)), "receiveReagent")
    assert (naoh["status"], naoh["receivedBy"], naoh["quantity"], naoh["issued"]) == ("RECEIVED", "qc.sig", 500, 0)
    assert [(m["kind"], m["quantity"], m["balance"], m["by"]) for m in naoh["movements"]] == [
        ("RECEIVE", 500, 500, "qc.sig")]
    again = await _do(gql, signers, "qc.sig", "receiveReagent", _receipt("R-NAOH"))
    assert _code(again) == "CONFLICT"
    expired = await _do(gql, signers, "qc.sig", "receiveReagent", _receipt("R-OLD", days=-1))
    assert _code(expired) == "VALIDATION_FAILED" and "has passed" in expired["errors"][0]["message"]

    # A solution is made only from released lots, and does not outlive them.
    prep = {"code": "TS-NAOH-01", "name": "Sodium hydroxide 0.1 mol/L", "lotNumber": "P-2612-01", "quantity": 1000.0,
            "unit": "mL", "location": "QC-R2 bench 1", "conditions": "room temperature, tight",
            "expiresOn": (TODAY + timedelta(days=90)).isoformat(), "parents": [{"code": "R-NAOH", "quantity": 4.0}]}
    assert _code(await _do(gql, signers, "qc.sig", "prepareSolution", prep)) == "CONFLICT"  # not released yet
    released = _ok(await _do(gql, signers, "qcr.sig", "releaseReagent", {"code": "R-NAOH", "reason": "CoA checked"}),
                   "releaseReagent")
    assert (released["status"], released["releasedBy"]) == ("RELEASED", "qcr.sig")
    late = prep | {"expiresOn": (TODAY + timedelta(days=500)).isoformat()}
    assert _code(await _do(gql, signers, "qc.sig", "prepareSolution", late)) == "VALIDATION_FAILED"
    too_much = prep | {"parents": [{"code": "R-NAOH", "quantity": 900.0}]}
    assert _code(await _do(gql, signers, "qc.sig", "prepareSolution", too_much)) == "CONFLICT"
    ts = _ok(await _do(gql, signers, "qc.sig", "prepareSolution", prep), "prepareSolution")
    assert (ts["kind"], ts["status"], ts["supplier"]) == ("TEST_SOLUTION", "RECEIVED", "prepared in the laboratory")
    assert [(m["kind"], m["otherCode"], m["quantity"]) for m in ts["movements"]] == [("PREPARE", "R-NAOH", 4)]
    me = await gql.sign_in("qc.sig")
    parent = (await me('{ reagent(code: "R-NAOH") { quantity movements { kind otherCode balance } } }'))["data"]
    assert parent["reagent"]["quantity"] == 496
    assert parent["reagent"]["movements"][-1] == {"kind": "PREPARE", "otherCode": "TS-NAOH-01", "balance": 496}

    _ok(await _do(gql, signers, "qa.sig", "releaseReagent", {"code": "TS-NAOH-01", "reason": "prepared per SOP"}),
        "releaseReagent")
    std = {"code": "TS-NAOH-01", "kind": "STANDARDISE", "factor": "1.0023", "method": "ChP 8006, potassium "
           "hydrogen phthalate", "retestOn": (TODAY + timedelta(days=30)).isoformat()}
    assert _code(await _do(gql, signers, "qc.sig", "standardiseReagent", std | {"factor": "-1"})) == \
        "VALIDATION_FAILED"
    ts = _ok(await _do(gql, signers, "qc.sig", "standardiseReagent", std), "standardiseReagent")
    assert (ts["factor"], ts["retestOn"]) == ("1.0023", std["retestOn"])
    assert ts["movements"][-1] | {} == ts["movements"][-1] and ts["movements"][-1]["factor"] == "1.0023"
    assert (ts["movements"][-1]["by"], ts["movements"][-1]["method"]) == ("qc.sig", std["method"])

    issue = {"code": "TS-NAOH-01", "quantity": 250.0, "to": "bench 3, analyst qc.sig"}
    ts = _ok(await _do(gql, signers, "qc.sig", "issueReagent", issue), "issueReagent")
    assert (ts["quantity"], ts["issued"]) == (750, 250)
    assert _code(await _do(gql, signers, "qc.sig", "issueReagent", issue | {"quantity": 751.0})) == "CONFLICT"
    back = {"code": "TS-NAOH-01", "quantity": 50.0, "note": "unused, returned closed"}
    assert _code(await _do(gql, signers, "qc.sig", "returnReagent", back | {"quantity": 251.0})) == "CONFLICT"
    ts = _ok(await _do(gql, signers, "qc.sig", "returnReagent", back), "returnReagent")
    assert (ts["quantity"], ts["issued"]) == (800, 200)
    ts = _ok(await _do(gql, signers, "qc.sig", "issueReagent", issue | {"quantity": 800.0}), "issueReagent")
    assert (ts["status"], ts["quantity"], ts["issued"]) == ("EXHAUSTED", 0, 1000)

    kill = {"code": "TS-NAOH-01", "method": "neutralised and flushed per SOP-QC-090", "reason": "batch of tests done"}
    ts = _ok(await _do(gql, signers, "qcr.sig", "destroyReagent", kill), "destroyReagent")
    assert (ts["status"], ts["quantity"], ts["issued"]) == ("DESTROYED", 0, 0)
    assert (ts["movements"][-1]["kind"], ts["movements"][-1]["quantity"], ts["movements"][-1]["method"],
            ts["movements"][-1]["note"], ts["movements"][-1]["by"]) == ("DESTROY", 1000, kill["method"],
                                                                        kill["reason"], "qcr.sig")
    assert _code(await _do(gql, signers, "qcr.sig", "destroyReagent", kill)) == "CONFLICT"
    assert [m["kind"] for m in ts["movements"]] == ["PREPARE", "RELEASE", "STANDARDISE", "ISSUE", "RETURN", "ISSUE",
                                                    "DESTROY"]
    assert all(m["by"] for m in ts["movements"])

    # Every step signed and in the audit trail; the movement log is only ever appended to.
    async with db.read() as s:
        signed = list((await s.execute(select(ESignature.signer, ESignature.meaning).where(
            ESignature.entity == "reagent_lot").order_by(ESignature.id))).all())
        audited = list((await s.execute(select(AuditEvent.action, AuditEvent.entity).where(
            AuditEvent.entity.in_(("reagent_lot", "reagent_movement"))))).all())
        lines = (await s.execute(select(ReagentMovement.id))).scalars().all()
    assert ("qcr.sig", "APPROVED") in signed and ("qa.sig", "APPROVED") in signed
    assert len(signed) == 9 and {m for _, m in signed} == {"PERFORMED", "APPROVED"}
    assert {e for _, e in audited} == {"reagent_lot", "reagent_movement"}
    assert sum(1 for _, e in audited if e == "reagent_movement") == len(lines) == 10
    assert not [a for a, e in audited if e == "reagent_movement" and a not in ("INSERT", "CREATE", "CREATED")]
    refused = [e.changes for e in await _events(db, "WRITE_REFUSED")]
    assert len(refused) >= 8


async def test_whoever_received_a_lot_does_not_release_it(env: Any) -> None:
    gql, signers, db = env
    _ok(await _do(gql, signers, "qc.both", "receiveReagent", _receipt("R-SOD")), "receiveReagent")
    body = await _do(gql, signers, "qc.both", "releaseReagent", {"code": "R-SOD", "reason": "mine"})
    assert _code(body) == "SOD_VIOLATION"
    assert [e.entity_id for e in await _events(db, "SOD_VIOLATION")] != []
    lot = _ok(await _do(gql, signers, "qcr.sig", "releaseReagent", {"code": "R-SOD", "reason": "CoA"}),
              "releaseReagent")
    assert (lot["status"], lot["receivedBy"], lot["releasedBy"]) == ("RELEASED", "qc.both", "qcr.sig")
    assert _code(await _do(gql, signers, "qa.sig", "releaseReagent", {"code": "R-SOD", "reason": "x"})) == "CONFLICT"


async def test_who_may_receive_release_and_destroy(env: Any) -> None:
    gql, signers, _ = env
    assert _code(await _do(gql, signers, "op.one", "receiveReagent", _receipt("R-P1"))) == "FORBIDDEN"
    assert _code(await _do(gql, signers, "qcr.sig", "receiveReagent", _receipt("R-P1"))) == "FORBIDDEN"
    _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt("R-P1")), "receiveReagent")
    assert _code(await _do(gql, signers, "qc.sig", "releaseReagent", {"code": "R-P1", "reason": "x"})) == "FORBIDDEN"
    kill = {"code": "R-P1", "method": "incinerated", "reason": "damaged"}
    assert _code(await _do(gql, signers, "qc.sig", "destroyReagent", kill)) == "FORBIDDEN"
    for user, refusal in (("op.one", "FORBIDDEN"), ("log.sig", "FORBIDDEN"), ("st.sig", "OUT_OF_SCOPE")):
        me = await gql.sign_in(user)
        assert _code(await me('{ reagents { code } }')) == refusal, user
    qp = await gql.sign_in("qp.sig")
    assert (await qp('{ reagents(kind: REAGENT) { code status } }'))["data"]["reagents"] == [
        {"code": "R-P1", "status": "RECEIVED"}]
    _ok(await _do(gql, signers, "qa.sig", "destroyReagent", kill), "destroyReagent")


@pytest.mark.req("QC-22", "QC-23")
async def test_a_test_result_refuses_an_expired_unreleased_or_unknown_lot(env: Any) -> None:
    gql, signers, db = await _lab(env)
    await _released(gql, signers, "STD-ALB")
    _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt("KIT-Q", "TEST_KIT")), "receiveReagent")
    await _released(gql, signers, "R-DUE", retestOn=(TODAY + timedelta(days=10)).isoformat())

    async def record(*codes: str) -> Any:
        inp = _entry("pH", "7.0", reagents=list(codes))
        me = await gql.sign_in("qc.sig")
        return await me(RECORD_RESULT, {"input": inp, "sig": signers.sign("qc.sig", "recordTestResult", inp)})

    unreleased = await record("STD-ALB", "KIT-Q")
    assert _code(unreleased) == "CONFLICT" and "KIT-Q is RECEIVED" in unreleased["errors"][0]["message"]
    unknown = await record("NOPE-1")
    assert _code(unknown) == "VALIDATION_FAILED" and "NOPE-1" in unknown["errors"][0]["message"]
    yesterday = TODAY - timedelta(days=1)
    await _age(db, "STD-ALB", expires_on=yesterday)
    expired = await record("STD-ALB")
    assert _code(expired) == "CONFLICT"
    assert f"STD-ALB expired on {yesterday.isoformat()}" in expired["errors"][0]["message"]
    assert TODAY.isoformat() in expired["errors"][0]["message"]
    await _age(db, "R-DUE", retest_on=yesterday)
    due = await record("R-DUE")
    assert _code(due) == "CONFLICT" and f"due for retest on {yesterday.isoformat()}" in due["errors"][0]["message"]

    events = await _events(db, "REAGENT_REFUSED")
    assert [(e.changes["code"], e.changes["operation"]) for e in events] == [
        ("KIT-Q", "recordTestResult"), ("NOPE-1", "recordTestResult"), ("STD-ALB", "recordTestResult"),
        ("R-DUE", "recordTestResult")]
    assert all(e.actor == "qc.sig" and e.changes["date"] == TODAY.isoformat() for e in events)
    async with db.read() as s:
        assert (await s.execute(select(TestResult.id))).first() is None  # nothing written
        assert (await s.execute(select(ReagentMovement.id).where(ReagentMovement.kind == "USE"))).first() is None

    # Standardised again with a new retest date, the lot may be used; the result links to it.
    std = {"code": "R-DUE", "kind": "CALIBRATE", "factor": "0.998", "method": "against the WHO standard",
           "retestOn": (TODAY + timedelta(days=60)).isoformat()}
    _ok(await _do(gql, signers, "qc.sig", "standardiseReagent", std), "standardiseReagent")
    body = await record("R-DUE")
    assert "errors" not in body, body
    result_id = body["data"]["recordTestResult"]["results"][0]["id"]
    lot = (await (await gql.sign_in("qcr.sig"))('{ reagent(code: "R-DUE") { movements { kind usedFor usedForId by '
                                                 '} } }'))["data"]["reagent"]
    assert lot["movements"][-1] == {"kind": "USE", "usedFor": "test_result", "usedForId": str(result_id),
                                    "by": "qc.sig"}
    async with db.read() as s:
        sig = (await s.execute(select(ESignature).where(ESignature.entity == "test_result"))).scalar_one()
        row = await s.get_one(TestResult, result_id)
        rec = await s.get_one(TestRecord, row.record_id)
    # The analyst's signature covers the lots used as well as the result.
    assert sig.record_hash == record_hash("test_result", str(result_id), content(row, rec) | {"reagents": ["R-DUE"]})


@pytest.mark.req("QC-22")
async def test_a_plasma_retest_refuses_an_expired_or_unreleased_kit_lot(rt: dict[str, Any]) -> None:
    gql, signers, db = rt["gql"], rt["signers"], rt["db"]

    async def retest(unit: str, kit: str = "K-2611") -> Any:
        inp = {"donationNumber": unit, "tests": [t | {"kitLot": kit} for t in _panel()]}
        me = await gql.sign_in("qc.sig")
        return await me(RECORD_RETEST, {"input": inp, "sig": signers.sign("qc.sig", "recordRetest", inp)})

    _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt("K-2611", "TEST_KIT", quantity=10.0,
                                                                     unit="kits")), "receiveReagent")
    unreleased = await retest("RT-A")
    assert _code(unreleased) == "CONFLICT" and "K-2611 is RECEIVED" in unreleased["errors"][0]["message"]
    _ok(await _do(gql, signers, "qa.sig", "releaseReagent", {"code": "K-2611", "reason": "kit CoA"}),
        "releaseReagent")
    assert "errors" not in await retest("RT-A")
    await _age(rt["db"], "K-2611", expires_on=TODAY - timedelta(days=1))
    expired = await retest("RT-B")
    assert _code(expired) == "CONFLICT" and "K-2611 expired on" in expired["errors"][0]["message"]
    async with db.read() as s:
        rows = (await s.execute(select(RetestResult.id))).scalars().all()
        used = (await s.execute(select(ReagentMovement.used_for, ReagentMovement.used_for_id).where(
            ReagentMovement.kind == "USE").order_by(ReagentMovement.id))).all()
    assert len(rows) == 5  # RT-A's panel only; nothing of the refused ones
    assert used == [("retest_result", str(i)) for i in sorted(rows)]
    assert [e.changes["operation"] for e in await _events(db, "REAGENT_REFUSED")] == ["recordRetest"] * 2

    # An unregistered kit lot passes unless the plant requires every kit lot to be registered.
    assert "errors" not in await retest("RT-B", "K-UNREGISTERED")
    assert "errors" not in await set_setting(gql, signers, "reagent.kitsRequired", True, "kits are scanned")
    unknown = await retest("RT-C", "K-UNREGISTERED")
    assert _code(unknown) == "VALIDATION_FAILED" and "K-UNREGISTERED" in unknown["errors"][0]["message"]


@pytest.mark.req("QC-24")
async def test_reminders_before_expiry_and_retest_dates(env: Any) -> None:
    gql, signers, db = env
    await _released(gql, signers, "R-SOON", days=10)
    _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt(
        "STD-RT", "REFERENCE_STANDARD", retestOn=(TODAY + timedelta(days=5)).isoformat())), "receiveReagent")
    await _released(gql, signers, "R-LATER", days=200)
    qc = await gql.sign_in("qc.sig")
    within = (await qc(REMINDERS, {"d": 30}))["data"]["reagentReminders"]
    assert [(r["code"], r["due"], r["daysLeft"], r["kind"]) for r in within] == [
        ("STD-RT", "RETEST", 5, "REFERENCE_STANDARD"), ("R-SOON", "EXPIRY", 10, "REAGENT")]
    assert within[1]["dueOn"] == (TODAY + timedelta(days=10)).isoformat()
    # The default window is the setting reagent.reminderDays (30 days unless set).
    assert (await qc(REMINDERS, {}))["data"]["reagentReminders"] == within
    assert "errors" not in await set_setting(gql, signers, "reagent.reminderDays", 7, "QC asks a week ahead")
    assert [r["code"] for r in (await qc(REMINDERS, {}))["data"]["reagentReminders"]] == ["STD-RT"]
    assert _code(await set_setting(gql, signers, "reagent.reminderDays", "x", "bad")) == "VALIDATION_FAILED"
    assert _code(await qc(REMINDERS, {"d": -1})) == "VALIDATION_FAILED"

    # A date that has passed stays listed, overdue, and the lot shows EXPIRED; a destroyed lot is gone.
    await _age(db, "R-SOON", expires_on=TODAY - timedelta(days=2))
    late = (await qc(REMINDERS, {"d": 0}))["data"]["reagentReminders"]
    assert [(r["code"], r["daysLeft"], r["status"]) for r in late] == [("R-SOON", -2, "EXPIRED")]
    assert [x["code"] for x in (await qc('{ reagents(status: EXPIRED) { code } }'))["data"]["reagents"]] == [
        "R-SOON"]
    assert [x["code"] for x in (await qc('{ reagents(status: RELEASED) { code } }'))["data"]["reagents"]] == [
        "R-LATER"]
    _ok(await _do(gql, signers, "qcr.sig", "destroyReagent", {"code": "R-SOON", "method": "incinerated",
                                                              "reason": "expired"}), "destroyReagent")
    assert (await qc(REMINDERS, {"d": 0}))["data"]["reagentReminders"] == []


SUBSCRIBE = "subscription($d: Int) { reagentReminders(withinDays: $d) { code due daysLeft } }"


@pytest.mark.req("QC-24")
async def test_the_reminder_subscription_sends_the_list_and_again_when_it_changes(
        env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    gql, signers, db = env
    monkeypatch.setattr(reagent_schema, "REMINDER_POLL_SECONDS", 0.02)
    svc = gql.client.app_services
    await _released(gql, signers, "R-SUB1", days=3)

    async def stream(user: str) -> Any:
        principal = await identity.principal_for(db, (await gql.sign_in(user)).token)
        return await build_schema().subscribe(SUBSCRIBE, context_value=Context(svc, principal, "127.0.0.1"),
                                              variable_values={"d": 14})

    sub = await stream("qc.sig")
    try:
        first = await asyncio.wait_for(anext(sub), 5)
        assert first.data == {"reagentReminders": [{"code": "R-SUB1", "due": "EXPIRY", "daysLeft": 3}]}
        _ok(await _do(gql, signers, "qc.sig", "receiveReagent", _receipt(
            "R-SUB2", days=9)), "receiveReagent")
        second = await asyncio.wait_for(anext(sub), 5)
        assert [r["code"] for r in second.data["reagentReminders"]] == ["R-SUB1", "R-SUB2"]
    finally:
        await sub.aclose()
    denied = await stream("op.one")
    try:
        refused = await asyncio.wait_for(anext(denied), 5)
        assert refused.errors and refused.errors[0].extensions["code"] == "FORBIDDEN"
    finally:
        await denied.aclose()
