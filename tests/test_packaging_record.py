"""The electronic batch packaging record (B.9): opened only after a passed, verified pre-packaging
check on a usable line; packaging materials issued only from released lots of the approved artwork;
the visual inspection counted; the traceability codes the line printed stored case by case, aggregated
and within what passed inspection; closed by the production supervisor with a reconciliation whose
imbalance is an exception, a deviation and an alarm."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.alarms import Alarm
from records.audit import AuditContext
from records.base import utcnow
from records.genealogy import FinalLot, PackagingUnit
from records.materials import MaterialLot
from records.packaging_record import PackagingRecord
from records.plant import Equipment
from records.quality import Deviation
from records.signature import ESignature
from tests.attack.signed_cases.base import World
from tests.test_exchange import _export, _typed
from tests.test_phases import CHECKED, START, planned
from tests.test_weighing import _receipt, _received
from tests.test_weighing import _send as send_material

PID = "8612345"
RECIPE: dict[str, Any] = {
    "code": "PACK-MR", "product": "Human Albumin 20%", "name": "Albumin 10 g", "specification": "20 %, 50 mL",
    "batchSize": 100, "batchUnit": "L", "changeNote": "first", "phases": [
        {"code": "FILL", "name": "Fill", "unitProcedure": "Filling", "operation": "Filling", "equipmentClass": "tank",
         "instructions": "Fill."},
        {"code": "PACK", "name": "Pack", "unitProcedure": "Packaging", "operation": "Packaging",
         "equipmentClass": "packaging_line", "instructions": "Pack.", "after": ["FILL"],
         "materials": [{"code": "CARTON-10G", "name": "Carton 10 g", "quantity": 20, "unit": "pcs", "tolerancePct": 10,
                        "artworkVersion": "v3"},
                       {"code": "LABEL-10G", "name": "Vial label 10 g", "quantity": 100, "unit": "pcs",
                        "tolerancePct": 10, "artworkVersion": "v2"}]}]}
RECORD = """batchNumber lotNumber lineCode status checkedBy inspected rejected unitsPacked casesPacked yieldPct
  exception closedBy materials { code materialCode artworkVersion issued used destroyed returned balanced }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _send(w: World, who: str, op: str, inp: dict[str, Any], meaning: str = "PERFORMED",
                verifier: str | None = None) -> Any:
    return await w.send(who, op, inp, meaning, verifier=verifier, answer=RECORD)


async def _packaging_lot(w: World, material: str, lot: str, artwork: str, release: bool = True) -> str:
    inp = _receipt(material, lot, kind="PACKAGING", artworkVersion=artwork, unit="pcs", quantity=500)
    body = await send_material(w, "log.sig", "receiveMaterial", inp, select_="code")
    code = str(body["data"]["receiveMaterial"]["code"])
    if release:
        await w.call("qa.sig", "decideMaterial", {"code": code, "decision": "RELEASED", "reason": "artwork proof ok"},
                     "APPROVED")
    return code


async def _ready(w: World) -> dict[str, str]:
    """Batch PK-1 filled, its bulk released; a packaging line in R1; packaging material lots received."""
    await planned(w, RECIPE, "PK-1")
    fill = {"batchNumber": "PK-1", "phaseCode": "FILL", "equipmentCode": "EQ-1", "confirmed": CHECKED}
    me = await w.gql.sign_in("op.one")
    assert "errors" not in await me(START, {"input": fill, "sig": w.signers.sign("op.one", "startPhase", fill)})
    await w.call("op.one", "completePhase", {"batchNumber": "PK-1", "phaseCode": "FILL"})
    made = {"batchNumber": "PK-1", "phaseCode": "FILL", "materialCode": "ALB-FILLED", "name": "Filled vials",
            "amount": 12, "unit": "vials", "storageConditions": "2-8 °C",
            "expiresOn": (utcnow().date() + timedelta(days=700)).isoformat()}
    body = await w.call("op.one", "recordIntermediate", made)
    assert body is not None
    async with w.db.write(AuditContext("test", reason="a packaging line in R1")) as s:
        from records.genealogy import Intermediate

        bulk = (await s.execute(select(Intermediate.code))).scalar_one()
        room = (await s.execute(select(Equipment.room_id).where(Equipment.code == "EQ-1"))).scalar_one()
        s.add(Equipment(room_id=room, code="PL-1", name="Cartoning line 1", kind="packaging_line", x=1, y=1,
                        status="IDLE"))
    await w.call("qa.sig", "decideIntermediate", {"code": bulk, "decision": "RELEASED", "reason": "ok"}, "APPROVED")
    return {"bulk": bulk, "carton": await _packaging_lot(w, "CARTON-10G", "C-3", "v3"),
            "old_carton": await _packaging_lot(w, "CARTON-10G", "C-2", "v2"),
            "held_label": await _packaging_lot(w, "LABEL-10G", "L-9", "v2", release=False),
            "label": await _packaging_lot(w, "LABEL-10G", "L-2", "v2")}


def _opening(bulk: str, **more: Any) -> dict[str, Any]:
    return {"batchNumber": "PK-1", "bulkCode": bulk, "lotNumber": "PK-1-01", "lineCode": "PL-1",
            "specification": "10 g/50 mL; 5 vials per carton, 2 cartons per case", "unitsPerCarton": 5,
            "cartonsPerCase": 2, "productIdentifier": PID,
            "expiresOn": (utcnow().date() + timedelta(days=700)).isoformat(),
            "checklist": [{"item": "No material of the previous batch on the line", "result": "PASS"},
                          {"item": "Artwork versions checked against the order", "result": "PASS"}], **more}


def _case(case: int, first_unit: int, units: int = 5) -> dict[str, Any]:
    def code(n: int) -> str:
        return f"{PID}{n:013d}"

    return {"lotNumber": "PK-1-01", "caseCode": code(900 + case), "cartons": [
        {"code": code(800 + case * 10 + c), "units": [code(first_unit + c * units + u) for u in range(units)]}
        for c in range(2)]}


@pytest.mark.req("PR-59", "PR-60", "PR-61", "PR-62", "PR-63", "PR-64", "PR-65", "PR-66", "PR-68", "PR-69", "PR-30")
async def test_a_lot_is_packaged_from_check_to_reconciliation(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    lots = await _ready(w)
    failed = _opening(lots["bulk"], checklist=[{"item": "Line clean", "result": "FAIL", "note": "glass"}])
    body = await _send(w, "op.one", "startPackaging", failed, verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "pre-packaging check failed: Line clean" in str(body), body
    assert _code(await _send(w, "op.one", "startPackaging", _opening(lots["bulk"]))) == "VALIDATION_FAILED"
    body = await _send(w, "op.one", "startPackaging", _opening(lots["bulk"]), verifier="op.one")
    assert _code(body) == "SOD_VIOLATION", body
    body = await _send(w, "op.one", "startPackaging", _opening(lots["bulk"], lineCode="EQ-1"), verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "it is a tank, the phase needs a packaging_line" in str(body), body
    body = await _send(w, "op.one", "startPackaging", _opening(lots["bulk"]), verifier="sup.rsa")
    rec = body["data"]["startPackaging"]
    assert (rec["status"], rec["checkedBy"], rec["lineCode"]) == ("OPEN", "sup.rsa", "PL-1"), body

    issue = {"lotNumber": "PK-1-01", "materialLotCode": lots["old_carton"], "quantity": 20}
    body = await _send(w, "op.one", "issuePackagingMaterial", issue)
    assert _code(body) == "CONFLICT" and "artwork version v2; the approved version is v3" in str(body), body
    body = await _send(w, "op.one", "issuePackagingMaterial", {**issue, "materialLotCode": lots["held_label"]})
    assert _code(body) == "CONFLICT" and "QUARANTINE, not released" in str(body), body
    excipient = await _received(w, "ETH-96", "E-1")
    body = await _send(w, "op.one", "issuePackagingMaterial", {**issue, "materialLotCode": excipient})
    assert _code(body) == "VALIDATION_FAILED" and "not a packaging material" in str(body), body
    carton = {**issue, "materialLotCode": lots["carton"]}
    assert "errors" not in await _send(w, "op.one", "issuePackagingMaterial", carton)
    label = {**issue, "materialLotCode": lots["label"], "quantity": 100}
    assert "errors" not in await _send(w, "op.one", "issuePackagingMaterial", label)

    body = await _send(w, "op.one", "packCase", _case(1, 1))
    assert _code(body) == "CONFLICT" and "visual inspection before packing" in str(body), body
    inspected = await _send(w, "op.one", "recordInspection", {"lotNumber": "PK-1-01", "inspected": 12, "rejected": 2,
                                                              "notes": "2 particles"})
    assert (inspected["data"]["recordInspection"]["inspected"], inspected["data"]["recordInspection"]["rejected"]) == (
        12, 2)
    for bad, code, words in ((_case(1, 1, units=6), "VALIDATION_FAILED", "a carton holds 1-5 units"),
                             ({**_case(1, 1), "caseCode": "86999990000000000901"}, "VALIDATION_FAILED",
                              "not a code of"),
                             ({**_case(1, 1), "caseCode": "123"}, "VALIDATION_FAILED", "20-digit")):
        body = await _send(w, "op.one", "packCase", bad)
        assert _code(body) == code and words in str(body), (bad, body)
    packed = (await _send(w, "op.one", "packCase", _case(1, 1)))["data"]["packCase"]
    assert (packed["unitsPacked"], packed["casesPacked"]) == (10, 1)
    body = await _send(w, "op.one", "packCase", _case(2, 1))
    assert _code(body) == "CONFLICT" and "passed inspection" in str(body), body  # 20 > 10 good units
    qa = await gql.sign_in("qa.sig")
    first = _case(1, 1)
    case = await qa('query($c: String!) { packagingUnit(code: $c) { level children } }', {"c": first["caseCode"]})
    assert case["data"]["packagingUnit"] == {"level": "CASE", "children": [c["code"] for c in first["cartons"]]}

    close = {"lotNumber": "PK-1-01", "materials": [
        {"materialLotCode": lots["carton"], "used": 2, "destroyed": 1, "returned": 17},
        {"materialLotCode": lots["label"], "used": 10, "destroyed": 2, "returned": 80}]}  # 92 of 100 accounted for
    assert _code(await _send(w, "op.one", "closePackaging", close, "APPROVED")) == "FORBIDDEN"
    body = await _send(w, "sup.rsa", "closePackaging", {**close, "materials": close["materials"][:1]}, "APPROVED")
    assert _code(body) == "VALIDATION_FAILED" and "missing" in str(body), body
    done = (await _send(w, "sup.rsa", "closePackaging", close, "APPROVED"))["data"]["closePackaging"]
    assert (done["status"], done["closedBy"], done["yieldPct"], done["exception"]) == ("CLOSED", "sup.rsa", 100.0,
                                                                                        True)
    assert [(m["materialCode"], m["balanced"]) for m in done["materials"]] == [("CARTON-10G", True),
                                                                               ("LABEL-10G", False)]
    async with db.read() as s:
        lot = (await s.execute(select(FinalLot).where(FinalLot.lot_number == "PK-1-01"))).scalar_one()
        units = (await s.execute(select(PackagingUnit.level))).scalars().all()
        deviation = (await s.execute(select(Deviation))).scalar_one()
        alarm = (await s.execute(select(Alarm))).scalar_one()
        left = dict((await s.execute(select(MaterialLot.lot_number, MaterialLot.remaining))).all())
    assert lot.status == "QUARANTINE" and sorted(units) == ["CARTON"] * 2 + ["CASE"] + ["UNIT"] * 10
    assert "LABEL-10G lot L-2: issued 100, accounted for 92" in deviation.description
    # PR-68: the packaging exception is closed only by an authorised approver's signature.
    body = await w.send("sup.rsa", "approveDeviationClosure", {"number": deviation.number}, "APPROVED")
    assert _code(body) == "FORBIDDEN", body
    await w.call("qa.sig", "approveDeviationClosure", {"number": deviation.number}, "APPROVED")
    async with db.read() as s:
        assert (await s.execute(select(Deviation.status))).scalar_one() == "CLOSED"
    assert (alarm.condition, alarm.batch_number) == ("RECONCILIATION", "PK-1")
    assert (left["C-3"], left["L-2"]) == (497.0, 480.0)  # 500 - 20 issued + 17 returned; 500 - 100 + 80
    assert _code(await _send(w, "op.one", "packCase", _case(3, 100))) == "CONFLICT"  # closed

    b9 = json.loads((await _export(w, "B.9", "PK-1"))["data"]["exportDataset"]["data"])
    _typed("B.9", b9)
    assert [(r["BZCLMC"], r["SYSL"], r["SBBH"], r["SHR"]) for r in b9] == [
        ("CARTON-10G", 2.0, "PL-1", "sup.rsa"), ("LABEL-10G", 10.0, "PL-1", "sup.rsa")]
    assert r"visual inspection: 12 inspected, 2 rejected" in b9[0]["RGCZJL"]
    # PR-62: the time of the packaging operation as the server stamped it; PR-66: the checks and who checked.
    async with db.read() as s:
        rec = (await s.execute(select(PackagingRecord))).scalar_one()
        sigs = (await s.execute(select(ESignature.operation, ESignature.signer, ESignature.meaning).where(
            ESignature.entity == "packaging_record").order_by(ESignature.id))).all()
    assert b9[0]["BZCZDSJ"] == rec.started_at.strftime("%Y%m%dT%H%M%S")
    assert b9[0]["JCJL"] == ("No material of the previous batch on the line: PASS; Artwork versions checked against "
                             "the order: PASS") and b9[0]["JCR"] == "sup.rsa"
    # PR-64: each packaging step carries its operator's signature; PR-63: the supervisor's closes it.
    assert [tuple(x) for x in sigs] == [
        ("startPackaging", "op.one", "PERFORMED"), ("startPackaging", "sup.rsa", "VERIFIED"),
        ("issuePackagingMaterial", "op.one", "PERFORMED"), ("issuePackagingMaterial", "op.one", "PERFORMED"),
        ("recordInspection", "op.one", "PERFORMED"), ("packCase", "op.one", "PERFORMED"),
        ("closePackaging", "sup.rsa", "APPROVED")]


async def test_who_verified_the_packaging_check_may_not_review_the_batch(env: Any) -> None:
    """The packaging record is a production record of the batch: its signers are production signers."""
    gql, signers, db = env
    w = World(gql, signers, db)
    lots = await _ready(w)
    assert "errors" not in await _send(w, "op.one", "startPackaging", _opening(lots["bulk"]), verifier="qa.two")
    raised = {"title": "Carton jam", "description": "line stopped 5 min", "batchNumber": "PK-1"}
    assert "errors" not in await w.send("op.one", "raiseDeviation", raised, "PERFORMED", answer="number")
    qa = await gql.sign_in("qa.sig")
    review = await qa('{ batchReview(batchNumber: "PK-1") { items { key kind } } }')
    keys = [i["key"] for i in review["data"]["batchReview"]["items"] if i["kind"] == "DEVIATION"]
    answer = {"batchNumber": "PK-1", "keys": keys, "conclusion": "jam cleared, no product affected"}
    body = await w.send("qa.two", "reviewBatchItems", answer, "REVIEWED", answer="key")
    assert _code(body) == "SOD_VIOLATION" and "signed production records" in str(body), body
    assert "errors" not in await w.send("qa.sig", "reviewBatchItems", answer, "REVIEWED", answer="key")
