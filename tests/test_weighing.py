"""Materials into a batch: lots received into quarantine under a code with a label and released by QA
(B.3), then weighed for a phase (B.4): the scanned lot checked against the recipe, the weight read from
the scale's tag now or, where the scale gives none, by a person with reason and evidence, the net within
the recipe's tolerance, a second person verifying, the lot drawn down and a label made from the record.
A phase starts only once its materials are weighed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext
from records.base import utcnow
from records.materials import MaterialLot, Weighing
from records.plant import Equipment, Sensor
from tests.attack.signed_cases.base import World
from tests.test_attachments import upload
from tests.test_equipment_logbook import _logbook
from tests.test_phases import CHECKED, START, planned

LOT = ("code kind materialCode name lotNumber quantity remaining unit status receivedBy decidedBy "
       "label { lines { label value } }")
WEIGHING = """batchNumber phaseCode product specification materialCode materialName materialLotCode materialLotNumber
  scanned scaleCode scaleCalibration scalePrecision tare gross net unit target tolerancePct source manualReason
  evidence weighedBy verifiedBy labelCode label { materialCode lines { label value } }"""
RECIPE: dict[str, Any] = {
    "code": "WEIGH-MR", "product": "Human Albumin 20%", "name": "Albumin buffer", "specification": "20 %, 50 mL",
    "batchSize": 100, "batchUnit": "L", "changeNote": "first", "phases": [
        {"code": "DISP", "name": "Dispense buffer", "unitProcedure": "Preparation", "operation": "Dispensing",
         "equipmentClass": "tank", "instructions": "Weigh and charge.",
         "materials": [{"code": "ETH-96", "name": "Ethanol 96 %", "quantity": 20, "unit": "kg", "tolerancePct": 2},
                       {"code": "NACL", "name": "Sodium chloride", "quantity": 1.5, "unit": "kg",
                        "tolerancePct": 5}]}]}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _send(w: World, user: str, op: str, inp: dict[str, Any], meaning: str = "PERFORMED",
                verifier: str | None = None, select_: str = "__typename") -> Any:
    return await w.send(user, op, inp, meaning, verifier=verifier, answer=select_)


def _receipt(material: str, lot: str, **more: Any) -> dict[str, Any]:
    return {"kind": "EXCIPIENT", "materialCode": material, "name": {"ETH-96": "Ethanol 96 %"}.get(material, material),
            "lotNumber": lot, "supplier": "Synthetic Chem Co.", "quantity": 100, "unit": "kg",
            "expiresOn": (utcnow().date() + timedelta(days=365)).isoformat(), **more}


async def _received(w: World, material: str, lot: str, release: bool = True) -> str:
    body = await _send(w, "log.sig", "receiveMaterial", _receipt(material, lot), select_="code")
    code = str(body["data"]["receiveMaterial"]["code"])
    if release:
        await w.call("qa.sig", "decideMaterial", {"code": code, "decision": "RELEASED", "reason": "CoA and ID test"},
                     "APPROVED")
    return code


async def _plant(w: World) -> None:
    """Batch W-1 of WEIGH-MR, and a calibrated scale SC-1 in R1 with its weight tag."""
    await planned(w, RECIPE, "W-1")
    async with w.db.write(AuditContext("test", reason="a scale in R1")) as s:
        room_id = (await s.execute(select(Equipment.room_id).where(Equipment.code == "EQ-1"))).scalar_one()
        scale = Equipment(room_id=room_id, code="SC-1", name="Floor scale 60 kg", kind="scale", x=1, y=1,
                          status="IDLE", precision="0.01 kg")
        s.add(scale)
        await s.flush()
        s.add(Sensor(tag="SC1-WT", name="Scale weight", kind="weight", unit="kg", room_id=room_id,
                     equipment_id=scale.id))
    await _calibrate(w, passed=True, until=utcnow().date() + timedelta(days=90))


async def _calibrate(w: World, passed: bool, until: Any) -> None:
    done = utcnow() - timedelta(hours=1)
    await w.call("op.one", "recordEquipmentCare", {
        "equipmentCode": "SC-1", "kind": "CALIBRATION", "passed": passed, "performedAt": done.isoformat(),
        "validUntil": until.isoformat() if until else None, "reference": "CAL-2026-118"})


def _on_scale(w: World, kg: float) -> None:
    """The scale's reading as the device bridge delivers it to the twin."""
    w.gql.client.app_services.twin.ingest("SC1-WT", kg, source_time=utcnow())


def _weigh(lot: str, **more: Any) -> dict[str, Any]:
    return {"batchNumber": "W-1", "phaseCode": "DISP", "lotCode": lot, "scaleCode": "SC-1", "tare": 2.5, **more}


@pytest.mark.req("PR-10", "PR-11", "PR-13")
async def test_a_lot_is_received_into_quarantine_with_a_code_and_label_and_released_by_qa(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    body = await _send(w, "log.sig", "receiveMaterial", _receipt("ETH-96", "E-2611-07", supplierLot="S-88"),
                       select_=LOT)
    lot = body["data"]["receiveMaterial"]
    assert re.fullmatch(rf"EX{utcnow():%y%m}\d{{5}}", lot["code"]), lot
    assert (lot["status"], lot["remaining"], lot["receivedBy"]) == ("QUARANTINE", 100.0, "log.sig")
    lines = {x["label"]: x["value"] for x in lot["label"]["lines"]}
    assert lines["Batch number"] == "E-2611-07" and lines["Supplier"] == "Synthetic Chem Co."
    assert lines["Quantity"] == "100 kg" and "Expiry" in lines and lines["Status"] == "QUARANTINE"

    await w.call("qa.sig", "decideMaterial", {"code": lot["code"], "decision": "RELEASED", "reason": "CoA ok"},
                 "APPROVED")
    op = await gql.sign_in("op.one")  # the next scan shows the new status (PR-11)
    scanned = await op("query($c: String!) { materialLot(code: $c) { status decidedBy lotNumber } }",
                       {"c": lot["code"]})
    assert scanned["data"]["materialLot"] == {"status": "RELEASED", "decidedBy": "qa.sig", "lotNumber": "E-2611-07"}

    again = {"code": lot["code"], "decision": "REJECTED", "reason": "second thoughts"}
    body = await _send(w, "qa.sig", "decideMaterial", again, "APPROVED")
    assert _code(body) == "CONFLICT" and "RELEASED, not in quarantine" in str(body), body
    for bad, code, words in ((_receipt("ETH-96", "E-2611-07"), "CONFLICT", "was received as"),
                             (_receipt("ETH-96", "E-OLD", expiresOn=utcnow().date().isoformat()),
                              "VALIDATION_FAILED", "expired"),
                             ({**_receipt("BOX-1", "B-1"), "kind": "PACKAGING"}, "VALIDATION_FAILED", "artwork"),
                             (_receipt("ETH-96", "E-9", quantity=0), "VALIDATION_FAILED", "quantity")):
        body = await _send(w, "log.sig", "receiveMaterial", bad)
        assert _code(body) == code and words in str(body), (bad, body)
    assert _code(await _send(w, "op.one", "receiveMaterial", _receipt("ETH-96", "E-10"))) == "FORBIDDEN"
    async with db.read() as s:
        assert len((await s.execute(select(MaterialLot))).scalars().all()) == 1


@pytest.mark.req("PR-15", "PR-16", "PR-18", "PR-19", "PR-20", "PR-45", "PR-46", "PR-38")
async def test_a_weighing_reads_the_scale_is_verified_draws_the_lot_down_and_prints_its_label(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _plant(w)
    eth, nacl = await _received(w, "ETH-96", "E-1"), await _received(w, "NACL", "N-1")

    start = {"batchNumber": "W-1", "phaseCode": "DISP", "equipmentCode": "EQ-1", "confirmed": CHECKED}
    op = await gql.sign_in("op.one")
    body = await op(START, {"input": start, "sig": signers.sign("op.one", "startPhase", start)})
    assert _code(body) == "CONFLICT" and "not weighed or charged yet: ETH-96, NACL" in str(body), body

    _on_scale(w, 22.5)
    body = await _send(w, "op.one", "weighMaterial", _weigh(eth))  # no verifier's signature
    assert _code(body) == "VALIDATION_FAILED" and "$v" in str(body), body
    body = await _send(w, "op.one", "weighMaterial", _weigh(eth), verifier="op.one")
    assert _code(body) == "SOD_VIOLATION" and "cannot verify" in str(body), body
    body = await _send(w, "op.one", "weighMaterial", _weigh(eth), verifier="sup.rsa", select_=WEIGHING)
    got = body["data"]["weighMaterial"]
    assert {k: got[k] for k in ("materialCode", "materialLotNumber", "scanned", "scaleCode", "scalePrecision", "tare",
                                "gross", "net", "target", "tolerancePct", "source", "weighedBy", "verifiedBy")} == {
        "materialCode": "ETH-96", "materialLotNumber": "E-1", "scanned": True, "scaleCode": "SC-1",
        "scalePrecision": "0.01 kg", "tare": 2.5, "gross": 22.5, "net": 20.0, "target": 20.0, "tolerancePct": 2.0,
        "source": "TWIN", "weighedBy": "op.one", "verifiedBy": "sup.rsa"}, got
    assert got["scaleCalibration"].startswith("CALIBRATED, valid until")
    label = {x["label"]: x["value"] for x in got["label"]["lines"]}
    assert got["label"]["materialCode"] == got["labelCode"] and got["labelCode"].startswith("WG")
    assert label == {"Product": "Human Albumin 20%", "Specification": "20 %, 50 mL", "Batch": "W-1",
                     "Material": "Ethanol 96 % (ETH-96)", "Material batch": "E-1", "Weight": "20 kg (net)",
                     "Weighed by": "op.one", "Checked by": "sup.rsa", "Date": utcnow().date().isoformat(),
                     "Scale": "SC-1"}

    body = await _send(w, "op.one", "weighMaterial", _weigh(eth), verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "weighed already" in str(body), body
    _on_scale(w, 4.0)
    assert "errors" not in await _send(w, "op.one", "weighMaterial", _weigh(nacl, tare=2.48), verifier="sup.rsa")
    async with db.read() as s:
        left = dict((await s.execute(select(MaterialLot.lot_number, MaterialLot.remaining))).all())
    assert left["E-1"] == pytest.approx(80.0) and left["N-1"] == pytest.approx(98.48)

    qa = await gql.sign_in("qa.sig")
    listed = await qa('{ batchWeighings(batchNumber: "W-1") { materialCode materialLotCode net } }')
    assert [(x["materialCode"], x["materialLotCode"]) for x in listed["data"]["batchWeighings"]] == [
        ("ETH-96", eth), ("NACL", nacl)]
    assert [x["text"] for x in await _logbook(w, "SC-1") if x["kind"] == "USE"] == [
        "weighed 1.52 kg of NACL lot N-1 for batch W-1 phase DISP",
        "weighed 20 kg of ETH-96 lot E-1 for batch W-1 phase DISP"]
    body = await op(START, {"input": start, "sig": signers.sign("op.one", "startPhase", start)})
    assert "errors" not in body, body  # every material is weighed: the phase may start


@pytest.mark.req("PR-39", "PR-16", "PR-18", "PR-17")
async def test_wrong_material_lot_status_expiry_tolerance_and_scale_are_refused_with_nothing_written(
        env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _plant(w)
    eth, other = await _received(w, "ETH-96", "E-1"), await _received(w, "WFI", "W-1")
    held = await _received(w, "ETH-96", "E-HOLD", release=False)
    async with db.write(AuditContext("test", reason="a lot that expired on the shelf")) as s:
        lot = (await s.execute(select(MaterialLot).where(MaterialLot.code == eth))).scalar_one()
        s.add(MaterialLot(code="EX000000099", kind="EXCIPIENT", material_code="ETH-96", name="Ethanol 96 %",
                          lot_number="E-OLD", supplier="x", quantity=50, remaining=50, unit="kg",
                          expires_on=utcnow().date() - timedelta(days=1), received_at=lot.received_at,
                          received_by="log.sig", status="RELEASED"))
    _on_scale(w, 22.5)
    for inp, code, words in ((_weigh(other), "VALIDATION_FAILED", "phase DISP uses ETH-96, NACL"),
                             (_weigh(held), "CONFLICT", "QUARANTINE, not released"),
                             (_weigh("EX000000099"), "CONFLICT", "expired on"),
                             (_weigh(eth, tare=1.5), "VALIDATION_FAILED", "net 21 kg of ETH-96 is outside 19.6-20.4"),
                             (_weigh(eth, gross=22.5, reason="x", evidence="photo"), "CONFLICT", "giving its weight"),
                             (_weigh("EX404"), "NOT_FOUND", "EX404")):
        body = await _send(w, "op.one", "weighMaterial", inp, verifier="sup.rsa")
        assert _code(body) == code and words in body["errors"][0]["message"], (inp, body)

    # The scale falls silent: a person reads it, with the reason and the evidence; the code was typed.
    w.gql.client.app_services.twin.readings.pop("SC1-WT", None)
    body = await _send(w, "op.one", "weighMaterial", _weigh(eth), verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "gives no current weight" in str(body), body
    body = await _send(w, "op.one", "weighMaterial", _weigh(eth, gross=22.4, reason="scale link down"),
                       verifier="sup.rsa")
    assert _code(body) == "VALIDATION_FAILED" and "attach the evidence" in str(body), body  # PR-17
    theirs = await upload(w, "sup.rsa", "display.png")
    body = await _send(w, "op.one", "weighMaterial", _weigh(eth, gross=22.4, reason="link down", attachmentId=theirs),
                       verifier="sup.rsa")
    assert _code(body) == "FORBIDDEN" and "its own author uploaded" in str(body), body
    photo = await upload(w, "op.one", "display.png")
    manual = _weigh(eth, gross=22.4, reason="scale link down, IT ticket 5512", evidence="photo of the display",
                    attachmentId=photo, scanned=False)
    body = await _send(w, "op.one", "weighMaterial", manual, verifier="sup.rsa",
                       select_="source net scanned manualReason evidence attachmentId")
    assert body["data"]["weighMaterial"] == {"source": "MANUAL", "net": pytest.approx(19.9), "scanned": False,
                                             "manualReason": "scale link down, IT ticket 5512",
                                             "evidence": "photo of the display", "attachmentId": int(photo)}, body

    await _calibrate(w, passed=False, until=None)  # PR-18: out of calibration, the scale is blocked
    _on_scale(w, 4.0)
    body = await _send(w, "op.one", "weighMaterial", _weigh(await _received(w, "NACL", "N-1")), verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "calibration status is OUT_OF_CALIBRATION" in str(body), body
    async with db.read() as s:
        rows = (await s.execute(select(Weighing.material_code))).scalars().all()
        left = dict((await s.execute(select(MaterialLot.lot_number, MaterialLot.remaining))).all())
    assert rows == ["ETH-96"] and left["E-1"] == pytest.approx(80.1) and left["E-HOLD"] == 100
