"""Issue 11 end to end: one batch of the demo's real albumin recipe ALB-20 (THAW, FRAC-I, FRAC-V, SEP-V, UF,
PAST, FILL, INSP) on the demo plant, from QA-released plasma to the Qualified Person's release, through the
GraphQL API only. The only rows written behind the API are the sensor readings the twin's recorder would
store while a phase runs, and the packaging line the demo plant lacks.

The walk: recipe drafted, reviewed and approved by three people; plasma declared, received, retested and
released, picked from a picking list and charged into a pool; the batch created; ethanol received, released
by QA and weighed on the calibrated dispensing scale with a second person; every phase started in the
recipe's order on usable equipment with its pre-operation check, its tagged parameters read within limits,
completed with its manual values, controls, output and losses, verified where the recipe asks; the filled
vials kept as an intermediate, sampled and released; the packaging record from check to close; the review by
exception by a QA officer who signed no production record; the PAdES release by a QP who signed none. Then
the record itself: signatures, weighings and labels, audit trail and chain, the batch record export and the
Appendix B weighings. Refusals on the way: FRAC-I before THAW, FRAC-I before its ethanol, ethanol outside
tolerance, a batch before the recipe's approval, release by people who signed the record."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from demo.plant import DEMO_PLANT, all_equipment
from demo.recipes import ALBUMIN
from demo.seed import seed_plant
from policies import pki
from records.audit import AuditContext
from records.base import utcnow
from records.execution import PhaseRun
from records.plant import Equipment, Room, Sensor
from records.plasma import Batch
from records.readings import SensorReading
from tests.attack.signed_cases.base import World
from tests.attack.signed_cases.plasma import _declared, _receipt, _tested
from tests.test_batch_review import _org_key
from tests.test_training import trained_on_demo_sops

BATCH, POOL, LOT = "ALB-2612-001", "PL-ALB-2612", "ALB-2612-001-01"
PRODUCT = str(ALBUMIN["product"])
PHASES: list[dict[str, Any]] = ALBUMIN["phases"]
UNITS = {"ALB-U1": 90, "ALB-U2": 85, "ALB-U3": 80, "ALB-LATER": 5}  # days since collection; LATER lets QA release
RELEASED = ["ALB-U1", "ALB-U2", "ALB-U3"]
SCALE, SCALE_TAG = next((e.code, e.sensors[0].tag) for _, e in all_equipment(DEMO_PLANT) if e.kind == "scale")
TARE = 25.0  # kg: the drum on its pallet
LINE = "EQ-PKG-90"  # a cartoning line: the demo plant's packaging room has a labeller and a checkweigher only
PID = "8612345"
# What people enter where the recipe gives no tag, and the in-process control results (per phase where they differ).
ENTERED: dict[str, float] = {
    "Heating-medium temperature": 34.5, "Total protein": 61.8, "Ethanol addition rate": 2.0, "Stirring time": 45,
    "Standing time": 4, "FRAC-I Ethanol concentration": 8, "FRAC-V Ethanol concentration": 39,
    "Concentration factor": 5, "Diafiltration volumes": 6.5, "Residual ethanol": 0.02, "Protein": 205,
    "Inactivation time": 10.5, "Sterilisation time": 25, "Settle-plate count": 0, "Fill volume": 50.2,
    "Incubation time": 14, "Illuminance": 3000}
# Output and collected losses of the phases with a theoretical output: yield and balance inside their ranges.
MADE = {"THAW": (2350.0, 40.0), "SEP-V": (86.0, 3.0), "UF": (252.0, 5.0), "FILL": (4880.0, 115.0)}
VERIFIER = {"PAST": "qp.qa"}  # a QA officer who is also a QP verifies pasteurisation; sup.rsa the rest


def _ok(body: dict[str, Any], op: str) -> Any:
    assert "errors" not in body, (op, body)
    return body["data"][op]


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _tags(phase: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in phase.get("parameters", []) if p["tag"]]


def _equipment(phase: dict[str, Any]) -> str:
    """The demo plant's equipment of the phase's class carrying its tags (any of the class if it has none)."""
    tags = {p["tag"] for p in _tags(phase)}
    fits = [(bool(tags & {s.tag for s in e.sensors}), e.code) for _, e in all_equipment(DEMO_PLANT)
            if e.kind == phase["equipmentClass"]]
    return max(fits, key=lambda f: f[0])[1]


def _value(phase: dict[str, Any], name: str) -> float:
    own = f"{phase['code']} {name}"
    return ENTERED[own] if own in ENTERED else ENTERED[name]


async def _plant(w: World) -> None:
    """The demo plant, as `plasmatwin demo` imports it, and a cartoning line in its packaging room."""
    await seed_plant(w.db, DEMO_PLANT)
    async with w.db.write(AuditContext("test", reason="a cartoning line in the packaging room")) as s:
        room = (await s.execute(select(Room.id).where(Room.code == "PKG"))).scalar_one()
        s.add(Equipment(room_id=room, code=LINE, name="Cartoning line", kind="packaging_line", x=1, y=1,
                        status="IDLE"))


async def _plasma(w: World) -> None:
    """Units declared, received into the cold store, retested and released; picked from a picking list and
    charged into the pool, which closes the list."""
    await _declared(w, UNITS)
    for n in UNITS:
        await w.call("log.sig", "receivePlasmaUnit", _receipt(n))
        await _tested(w, n)
    await w.call("qa.sig", "releasePlasma", {"donationNumbers": RELEASED}, "RELEASED")
    made = _ok(await w.send("log.sig", "createPickingList", {"product": PRODUCT, "units": 3},
                            answer="code status lines { donationNumber location }"), "createPickingList")
    assert [x["donationNumber"] for x in made["lines"]] == RELEASED and made["status"] == "OPEN", made
    for n in RELEASED:
        _ok(await w.send("log.sig", "pickPlasmaUnit", {"listCode": made["code"], "donationNumber": n}),
            "pickPlasmaUnit")
    pool = {"poolCode": POOL, "product": PRODUCT, "donationNumbers": RELEASED, "pickingListCode": made["code"]}
    charged = _ok(await w.send("log.sig", "chargePool", pool, verifier="sup.rsa", answer="code status units"),
                  "chargePool")
    assert charged == {"code": POOL, "status": "CLOSED", "units": 3}, charged
    me = await w.gql.sign_in("log.sig")
    picked = await me("query($c: String!) { pickingList(code: $c) { status poolCode lines { pickedBy } } }",
                      {"c": made["code"]})
    assert picked["data"]["pickingList"] == {"status": "CLOSED", "poolCode": POOL,
                                             "lines": [{"pickedBy": "log.sig"}] * 3}, picked


async def _batch(w: World) -> None:
    """ALB-20 drafted and reviewed: no batch yet; approved by a third person: the batch is created."""
    await trained_on_demo_sops(w.db, ("op.one", "sup.rsa", "qp.qa"))  # the SOPs its phases are carried out under
    await w.call("sup.rsa", "draftRecipe", ALBUMIN)
    decision = {"code": ALBUMIN["code"], "version": 1, "comment": "checked against the process procedure"}
    await w.call("qa.two", "reviewRecipe", decision, "REVIEWED")
    plan = {"batchNumber": BATCH, "recipeCode": ALBUMIN["code"], "poolCodes": [POOL], "reason": "campaign week 49"}
    body = await w.send("sup.rsa", "createBatch", plan)
    assert _code(body) == "CONFLICT" and "no approved version" in str(body), body
    await w.call("qa.sig", "approveRecipe", decision, "APPROVED")
    made = _ok(await w.send("sup.rsa", "createBatch", plan, answer="status recipeCode recipeVersion poolCodes"),
               "createBatch")
    assert made == {"status": "PLANNED", "recipeCode": "ALB-20", "recipeVersion": 1, "poolCodes": [POOL]}, made


async def _ethanol(w: World) -> str:
    """A lot received into quarantine and released by QA; the dispensing scale's calibration recorded."""
    today = utcnow().date()
    receipt = {"kind": "RAW_MATERIAL", "materialCode": "ETH-96", "name": "Ethanol 96 %", "lotNumber": "E96-2611",
               "supplier": "Synthetic Solvents Co.", "quantity": 1000, "unit": "kg",
               "manufacturedOn": (today - timedelta(days=20)).isoformat(),
               "expiresOn": (today + timedelta(days=730)).isoformat()}
    lot = _ok(await w.send("log.sig", "receiveMaterial", receipt, answer="code status"), "receiveMaterial")
    assert lot["status"] == "QUARANTINE"
    await w.call("qa.sig", "decideMaterial", {"code": lot["code"], "decision": "RELEASED",
                                              "reason": "CoA checked; identity and ethanol content tested"}, "APPROVED")
    done = utcnow() - timedelta(days=14)
    await w.call("sup.rsa", "recordEquipmentCare", {
        "equipmentCode": SCALE, "kind": "CALIBRATION", "passed": True, "performedAt": done.isoformat(),
        "validUntil": (done + timedelta(days=365)).date().isoformat(), "reference": "CAL-2611-0117"})
    return str(lot["code"])


def _on_scale(w: World, kg: float) -> None:
    """The dispensing scale's reading as the device bridge delivers it to the twin."""
    w.gql.client.app_services.twin.ingest(SCALE_TAG, kg, source_time=utcnow())  # type: ignore[attr-defined]


async def _remaining(w: World, lot: str) -> float:
    me = await w.gql.sign_in("qa.sig")
    found = await me("query($c: String!) { materialLot(code: $c) { remaining } }", {"c": lot})
    return float(found["data"]["materialLot"]["remaining"])


async def _weigh(w: World, phase: dict[str, Any], lot: str) -> None:
    for m in phase.get("materials", []):
        inp = {"batchNumber": BATCH, "phaseCode": phase["code"], "lotCode": lot, "scanned": True, "scaleCode": SCALE,
               "tare": TARE}
        if phase["code"] == "FRAC-I":  # 5 % over the target: refused, nothing drawn from the lot
            _on_scale(w, m["quantity"] * 1.05 + TARE)
            before = await _remaining(w, lot)
            body = await w.send("op.one", "weighMaterial", inp, verifier="sup.rsa")
            assert _code(body) == "VALIDATION_FAILED" and "outside" in str(body), body
            assert await _remaining(w, lot) == before
        _on_scale(w, m["quantity"] + TARE)
        got = _ok(await w.send("op.one", "weighMaterial", inp, verifier="sup.rsa",
                               answer="net source weighedBy verifiedBy labelCode"), "weighMaterial")
        assert got["net"] == m["quantity"] and got["source"] == "TWIN", got
        assert (got["weighedBy"], got["verifiedBy"]) == ("op.one", "sup.rsa") and got["labelCode"].startswith("WG")


async def _start(w: World, phase: dict[str, Any]) -> dict[str, Any]:
    """On the equipment carrying the phase's tags, every item of the pre-operation check confirmed."""
    me = await w.gql.sign_in("op.one")
    checked = (await me("{ preOperationCheck }"))["data"]["preOperationCheck"]
    inp = {"batchNumber": BATCH, "phaseCode": phase["code"], "equipmentCode": _equipment(phase), "confirmed": checked}
    return await w.send("op.one", "startPhase", inp, answer="status equipmentCode startedBy")


async def _readings(w: World, phase: dict[str, Any]) -> None:
    """What the recorder stores from the twin while the phase runs: each tag inside the recipe's limits."""
    async with w.db.write(AuditContext("test", reason="readings of the running phase")) as s:
        started = (await s.execute(select(PhaseRun.started_at).join(Batch, Batch.id == PhaseRun.batch_id).where(
            Batch.batch_number == BATCH, PhaseRun.phase_code == phase["code"]))).scalar_one()
        span = utcnow() - started
        for p in _tags(phase):
            sensor = (await s.execute(select(Sensor.id).where(Sensor.tag == p["tag"]))).scalar_one()
            low = p["low"] if p["low"] is not None else 0.0
            for i, f in enumerate((0.4, 0.5, 0.6)):
                at = started + span * (i + 1) / 4
                s.add(SensorReading(sensor_id=sensor, source_time=at, received_at=at, quality="GOOD",
                                    value=low + (p["high"] - low) * f))


async def _complete(w: World, phase: dict[str, Any]) -> dict[str, Any]:
    output, losses = MADE.get(phase["code"], (None, 0.0))
    inp = {"batchNumber": BATCH, "phaseCode": phase["code"],
           "manual": [{"name": p["name"], "value": _value(phase, p["name"])} for p in phase.get("parameters", [])
                      if not p["tag"]],
           "controls": [{"name": c["name"], "value": _value(phase, c["name"])} for c in phase.get("controls", [])],
           "output": output, "losses": losses}
    verifier = VERIFIER.get(phase["code"], "sup.rsa") if "VERIFIED" in phase.get("signatures", []) else None
    answer = "status exception verifiedBy completedBy yieldPct balancePct parameters { name source within count }"
    done: dict[str, Any] = _ok(await w.send("op.one", "completePhase", inp, verifier=verifier, answer=answer),
                               "completePhase")
    assert (done["status"], done["exception"], done["completedBy"], done["verifiedBy"]) == (
        "COMPLETED", False, "op.one", verifier), (phase["code"], done)
    for p in done["parameters"]:  # tagged ones from the twin, three readings each; all within limits
        assert p["within"] and (p["source"], p["count"]) in (("TWIN", 3), ("MANUAL", None)), (phase["code"], p)
    assert {p["name"] for p in done["parameters"] if p["source"] == "TWIN"} == {p["name"] for p in _tags(phase)}
    return done


async def _production(w: World, lot: str) -> None:
    thaw, frac_i = PHASES[0], PHASES[1]
    assert _ok(await _start(w, thaw), "startPhase") == {"status": "RUNNING", "equipmentCode": _equipment(thaw),
                                                        "startedBy": "op.one"}
    body = await _start(w, frac_i)
    assert _code(body) == "CONFLICT" and "comes after THAW, not complete yet" in str(body), body
    await _readings(w, thaw)
    await _complete(w, thaw)
    body = await _start(w, frac_i)
    assert _code(body) == "CONFLICT" and "not weighed or charged yet: ETH-96" in str(body), body
    for phase in PHASES[1:]:
        await _weigh(w, phase, lot)
        _ok(await _start(w, phase), "startPhase")
        await _readings(w, phase)
        await _complete(w, phase)
        if phase["code"] == "FILL":
            await _filled(w)
    assert await _remaining(w, lot) == 1000 - 190 - 720


async def _filled(w: World) -> None:
    """The filled vials: an intermediate of FILL, put in store to wait for inspection."""
    made = {"batchNumber": BATCH, "phaseCode": "FILL", "materialCode": "ALB-20-VIALS", "name": "Filled vials 50 mL",
            "amount": 4880, "unit": "vials", "storageConditions": "2-8 °C, protected from light",
            "expiresOn": (utcnow().date() + timedelta(days=3 * 365)).isoformat()}
    vials = _ok(await w.send("op.one", "recordIntermediate", made, answer="code status"), "recordIntermediate")
    assert vials["status"] == "QUARANTINE" and vials["code"].startswith("IM"), vials
    await w.call("op.one", "moveIntermediate", {"code": vials["code"], "kind": "STOCK_IN", "location": "VIS-S01"})


async def _packaged(w: World) -> None:
    """After inspection: vials sampled for QC, released by QA, taken out and packed; the record closed."""
    me = await w.gql.sign_in("qa.sig")
    code = (await me("query($b: String) { intermediates(batchNumber: $b) { code } }", {"b": BATCH})
            )["data"]["intermediates"][0]["code"]
    await w.call("op.one", "moveIntermediate", {"code": code, "kind": "SAMPLE", "quantity": 20})
    await w.call("qa.sig", "decideIntermediate", {"code": code, "decision": "RELEASED", "reason": "inspection passed"},
                 "APPROVED")
    await w.call("op.one", "moveIntermediate", {"code": code, "kind": "STOCK_OUT"})
    opening = {"batchNumber": BATCH, "bulkCode": code, "lotNumber": LOT, "lineCode": LINE,
               "specification": "10 g/50 mL; 5 vials per carton, 2 cartons per case", "unitsPerCarton": 5,
               "cartonsPerCase": 2, "productIdentifier": PID,
               "expiresOn": (utcnow().date() + timedelta(days=3 * 365)).isoformat(),
               "checklist": [{"item": "No material of the previous batch on the line", "result": "PASS"},
                             {"item": "Line clean and ready", "result": "PASS"}]}
    _ok(await w.send("op.one", "startPackaging", opening, verifier="sup.rsa"), "startPackaging")
    await w.call("op.one", "recordInspection", {"lotNumber": LOT, "inspected": 10, "rejected": 0})
    units = [f"{PID}{n:013d}" for n in range(1, 11)]
    case = {"lotNumber": LOT, "caseCode": f"{PID}{900:013d}", "cartons": [
        {"code": f"{PID}{800 + c:013d}", "units": units[c * 5:(c + 1) * 5]} for c in range(2)]}
    await w.call("op.one", "packCase", case)
    closed = _ok(await w.send("sup.rsa", "closePackaging", {"lotNumber": LOT, "materials": []}, "APPROVED",
                              answer="status unitsPacked yieldPct exception closedBy"), "closePackaging")
    assert closed == {"status": "CLOSED", "unitsPacked": 10, "yieldPct": 100.0, "exception": False,
                      "closedBy": "sup.rsa"}, closed


async def _reviewed(w: World) -> int:
    """QA's review by exception: every manual entry reviewed, the review concluded. Returns the item count."""
    me = await w.gql.sign_in("qa.two")
    found = (await me("query($b: String!) { batchReview(batchNumber: $b) { status blockers items { key kind "
                      "phaseCode } } }", {"b": BATCH}))["data"]["batchReview"]
    manual = sum(1 for p in PHASES for x in p.get("parameters", []) if not x["tag"])
    assert found["status"] == "COMPLETED" and len(found["items"]) == manual, found
    assert {i["kind"] for i in found["items"]} == {"MANUAL_ENTRY"}, found  # no alarm, deviation or data change
    keys = [i["key"] for i in found["items"]]
    body = await w.send("qp.qa", "reviewBatchItems", {"batchNumber": BATCH, "keys": keys, "conclusion": "x"},
                        "REVIEWED")
    assert _code(body) == "SOD_VIOLATION", body  # qp.qa verified PAST
    await w.call("qa.two", "reviewBatchItems", {"batchNumber": BATCH, "keys": keys, "conclusion": "values entered "
                 "from the batch documentation, checked against the equipment logbooks"}, "REVIEWED")
    await w.call("qa.two", "concludeBatchReview", {"batchNumber": BATCH, "opinion": "Batch record complete; manual "
                 "entries reviewed; ready for the QP's decision"}, "REVIEWED")
    return len(keys)


async def _released(w: World) -> None:
    """Refused to the operator and to the QP who verified a phase; released by a QP who signed nothing."""
    _org_key(w)
    prepare = "mutation($b: String!) { prepareRelease(batchNumber: $b) { documentId algorithm toSign } }"
    op = await w.gql.sign_in("op.one")
    assert _code(await op(prepare, {"b": BATCH})) == "FORBIDDEN"
    qpqa = await w.gql.sign_in("qp.qa")
    body = await qpqa(prepare, {"b": BATCH})
    assert _code(body) == "SOD_VIOLATION" and "signed production records" in str(body), body
    qp = await w.gql.sign_in("qp.sig")
    prepared = _ok(await qp(prepare, {"b": BATCH}), "prepareRelease")
    cms = pki.sign_bytes(w.signers.keys["qp.sig"].key_pem, prepared["algorithm"], base64.b64decode(prepared["toSign"]))
    done = {"documentId": prepared["documentId"], "cmsSignature": base64.b64encode(cms).decode()}
    assert _ok(await w.send("qp.sig", "completeRelease", done, "RELEASED", answer="status"),
               "completeRelease") == {"status": "RELEASED"}


async def _audit(me: Any, entity: str, entity_id: str | None = None) -> list[dict[str, Any]]:
    f = {"entity": entity, **({"entityId": entity_id} if entity_id else {})}
    body = await me("query($f: AuditFilter) { auditTrail(filter: $f, first: 500) { edges { node { action entityId "
                    "actor changes } } } }", {"f": f})
    return [e["node"] for e in _ok(body, "auditTrail")["edges"]][::-1]  # newest first: turned oldest first


async def _signed(me: Any, entity: str, entity_id: str) -> list[tuple[str, str, str]]:
    body = await me("query($e: String!, $i: String!) { signatures(entity: $e, entityId: $i) { operation meaning "
                    "signer } }", {"e": entity, "i": entity_id})
    return [(x["operation"], x["meaning"], x["signer"]) for x in _ok(body, "signatures")]


async def _the_record(w: World, reviewed: int) -> None:
    qa = await w.gql.sign_in("qa.two")
    batch = _ok(await qa("query($b: String!) { batch(batchNumber: $b) { status } }", {"b": BATCH}), "batch")
    assert batch == {"status": "RELEASED"}
    runs = _ok(await qa("query($b: String!) { batchPhases(batchNumber: $b) { phaseCode status verifiedBy } }",
                        {"b": BATCH}), "batchPhases")
    assert [(r["phaseCode"], r["status"]) for r in runs] == [(p["code"], "COMPLETED") for p in PHASES]

    # Each phase run: started and completed by the operator, verified where the recipe asks (audit trail ids).
    created = {e["changes"]["phase_code"][1]: e["entityId"] for e in await _audit(qa, "phase_run")
               if e["action"] == "CREATE"}
    assert list(created) == [p["code"] for p in PHASES]
    for p in PHASES:
        want = [("startPhase", "PERFORMED", "op.one"), ("completePhase", "PERFORMED", "op.one")]
        if "VERIFIED" in p.get("signatures", []):
            want.append(("completePhase", "VERIFIED", VERIFIER.get(p["code"], "sup.rsa")))
        assert await _signed(qa, "phase_run", created[p["code"]]) == want, p["code"]
        events = [e["action"] for e in await _audit(qa, "phase_run", created[p["code"]])]
        assert events.count("SIGN") == len(want) and events[0] == "CREATE", (p["code"], events)

    # The batch: created and signed by the supervisor, released and signed by the QP.
    batch_id = next(e["entityId"] for e in await _audit(qa, "batch") if e["action"] == "CREATE"
                    and e["changes"]["batch_number"][1] == BATCH)
    assert await _signed(qa, "batch", batch_id) == [("createBatch", "PERFORMED", "sup.rsa"),
                                                    ("completeRelease", "RELEASED", "qp.sig")]
    trail = await _audit(qa, "batch", batch_id)
    assert [e["action"] for e in trail if e["action"] in ("CREATE", "SIGN")] == ["CREATE", "SIGN", "SIGN"]
    assert [e["changes"]["status"][1] for e in trail if "status" in e["changes"]] == [
        "PLANNED", "IN_PROGRESS", "COMPLETED", "UNDER_REVIEW", "RELEASED"]

    # Weighings: two, verified, labelled; created and signed in the audit trail.
    weighed = _ok(await qa("query($b: String!) { batchWeighings(batchNumber: $b) { phaseCode materialCode net "
                           "weighedBy verifiedBy labelCode label { lines { label value } } } }", {"b": BATCH}),
                  "batchWeighings")
    assert [(x["phaseCode"], x["net"], x["verifiedBy"]) for x in weighed] == [("FRAC-I", 190, "sup.rsa"),
                                                                             ("FRAC-V", 720, "sup.rsa")]
    for x in weighed:
        lines = {line["label"]: line["value"] for line in x["label"]["lines"]}
        assert lines["Batch"] == BATCH and lines["Checked by"] == "sup.rsa" and lines["Scale"] == SCALE, lines
    weighings = await _audit(qa, "weighing")
    assert [e["action"] for e in weighings].count("CREATE") == 2
    assert [e["changes"]["operation"][1] for e in weighings if e["action"] == "SIGN"] == ["weighMaterial"] * 4

    # The reviewed items and the review's conclusion, signed by QA; the release document made and signed.
    items = await _audit(qa, "batch_review_item")
    assert [e["action"] for e in items] == ["CREATE"] * reviewed + ["SIGN"] and {e["actor"] for e in items} == {
        "qa.two"}
    concluded = await _audit(qa, "batch_review")
    assert [(e["action"], e["actor"]) for e in concluded] == [("CREATE", "qa.two"), ("SIGN", "qa.two")]
    document = await _audit(qa, "release_document")
    assert [(e["action"], e["actor"], e["changes"]["status"][1]) for e in document] == [
        ("CREATE", "qp.sig", "PREPARED"), ("UPDATE", "qp.sig", "RELEASED")]
    # The refusals on the way are in the trail too, each with who and why.
    assert [(e["actor"], e["changes"]["action"]) for e in trail if e["action"] == "SOD_VIOLATION"] == [
        ("qp.qa", "review_batch"), ("qp.qa", "release")]
    refused = [(e["entityId"], e["changes"]["code"]) for e in await _audit(qa, "operation")
               if e["action"] == "WRITE_REFUSED"]
    assert refused == [("createBatch", "CONFLICT"), ("startPhase", "CONFLICT"), ("startPhase", "CONFLICT"),
                       ("weighMaterial", "VALIDATION_FAILED")], refused

    chain = _ok(await qa("{ verifyAuditChain { ok problem stateOk } }"), "verifyAuditChain")
    assert chain == {"ok": True, "problem": None, "stateOk": True}, chain

    # The whole record, exported: every phase, both weighings, the review and every production signature.
    exported = _ok(await qa('query($b: String!) { exportBatchRecord(batchNumber: $b, format: JSON) { data } }',
                            {"b": BATCH}), "exportBatchRecord")
    record = json.loads(exported["data"])
    assert record["status"] == "RELEASED" and record["recipe"] == "ALB-20 v1" and record["pools"] == [POOL]
    assert [r["SCGX"] for r in record["sections"]["B.6"]] == [p["name"] for p in PHASES]
    assert [r["FHR"] for r in record["sections"]["B.6"]] == [
        VERIFIER.get(p["code"], "sup.rsa") if "VERIFIED" in p.get("signatures", []) else "" for p in PHASES]
    assert len(record["sections"]["B.4"]) == 2 and record["sections"]["B.7"] == []
    assert len(record["exceptions"]) == reviewed and all(x["reviewedBy"] == "qa.two" for x in record["exceptions"])
    assert record["review"]["by"] == "qa.two"
    signers = {(x["operation"], x["meaning"], x["signer"]) for x in record["signatures"]}
    assert ("completeRelease", "RELEASED", "qp.sig") in signers and ("weighMaterial", "VERIFIED", "sup.rsa") in signers
    # qa.sig released the filled vials (an intermediate of the batch: its signatures are the record's too).
    assert {x["signer"] for x in record["signatures"]} == {"op.one", "sup.rsa", "qp.qa", "qp.sig", "qa.sig"}

    # Appendix B: B.4 of the batch holds the weighings with their labels; B.9 the packaging record.
    b4 = _ok(await qa('query($b: String!) { exportDataset(dataset: "B.4", filter: {batchNumber: $b}) { count data } }',
                      {"b": BATCH}), "exportDataset")
    rows = json.loads(b4["data"])
    assert b4["count"] == 2 and [r["CLZL"] for r in rows] == ["190 kg", "720 kg"], rows
    assert {r["TMBH"] for r in rows} == {x["labelCode"] for x in weighed} and {r["CJBH"] for r in rows} == {SCALE}
    b9 = _ok(await qa('query($b: String!) { exportDataset(dataset: "B.9", filter: {batchNumber: $b}) { data } }',
                      {"b": BATCH}), "exportDataset")
    packed = json.loads(b9["data"])  # ALB-20 names no packaging material: the record's row has none issued
    assert [(r["SBBH"], r["JCR"], r["SHR"], r["BZCLMC"]) for r in packed] == [(LINE, "sup.rsa", "sup.rsa", "")]
    assert "10 inspected, 0 rejected by op.one" in packed[0]["RGCZJL"], packed


async def test_an_albumin_batch_walks_from_released_plasma_to_the_qps_release(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _plant(w)
    await _plasma(w)
    await _batch(w)
    lot = await _ethanol(w)
    await _production(w, lot)
    await _packaged(w)
    reviewed = await _reviewed(w)
    await _released(w)
    await _the_record(w, reviewed)
