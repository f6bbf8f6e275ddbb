"""The demo's warehouse, QA and QP through the API: ethanol lots received into quarantine and released
by QA, the dispensing scale's calibration recorded, a batch record reviewed by exception and concluded
by QA (who signed none of its production records), and the batch released by the Qualified Person
with a PAdES-signed release document, the QP's key signing on the client as in the browser."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from demo.actors import Actors
from demo.floor import SCALE
from policies import pki
from records.base import utcnow
from records.db import Database
from records.plant import Equipment
from records.plasma import Batch
from records.quality import Deviation

log = logging.getLogger("plasmatwin.demo")

RECEIVER, MATERIALS_QA, REVIEWER, QP = "log.sun", "qa.zheng", "qa.li", "qp.feng"
# Enough 96 % ethanol for the demo's Cohn steps (190 + 620 + 720 kg); in date for two years from receipt.
ETHANOL = (("E96-DEMO-A", 1000.0), ("E96-DEMO-B", 1000.0))
LOTS = "query($m: String!) { materialLots(materialCode: $m) { code lotNumber status } }"
REVIEW = "query($b: String!) { batchReview(batchNumber: $b) { items { key reviewed } conclusion { opinion } } }"
PREPARE = "mutation($b: String!) { prepareRelease(batchNumber: $b) { documentId algorithm toSign } }"


async def ethanol(people: Actors) -> None:
    """The ethanol lots: received by the warehouse, released by QA (once each)."""
    today = utcnow().date()
    lots = {x["lotNumber"]: x for x in (await people.query(RECEIVER, LOTS, {"m": "ETH-96"}))["materialLots"]}
    for number, kg in ETHANOL:
        lot = lots.get(number)
        if lot is None:
            inp = {"kind": "RAW_MATERIAL", "materialCode": "ETH-96", "name": "Ethanol 96 %", "lotNumber": number,
                   "supplier": "Demo Solvents Co. (synthetic)", "quantity": kg, "unit": "kg",
                   "manufacturedOn": (today - timedelta(days=20)).isoformat(),
                   "expiresOn": (today + timedelta(days=730)).isoformat()}
            lot = (await people.signed(RECEIVER, "receiveMaterial", inp, answer="code status"))["receiveMaterial"]
            log.info("demo production: ethanol lot %s received as %s (%g kg, quarantine)", number, lot["code"], kg)
        if lot["status"] == "QUARANTINE":
            decision = {"code": lot["code"], "decision": "RELEASED", "reason": "certificate of analysis checked; "
                        "identity and ethanol content tested"}
            await people.signed(MATERIALS_QA, "decideMaterial", decision, "APPROVED")
            log.info("demo production: ethanol lot %s released by QA", lot["code"])


async def calibrate_scale(people: Actors, db: Database) -> None:
    """The dispensing floor scale's calibration with its certificate and validity (once)."""
    async with db.read() as s:
        until = (await s.execute(select(Equipment.calibration_valid_until).where(Equipment.code == SCALE))).scalar()
    if until is not None:
        return
    done = utcnow() - timedelta(days=14)
    inp = {"equipmentCode": SCALE, "kind": "CALIBRATION", "passed": True, "performedAt": done.isoformat(),
           "validUntil": (done + timedelta(days=365)).date().isoformat(),
           "reference": "calibration certificate CAL-DEMO-0117 (0-1500 kg, division 0.2 kg)"}
    await people.signed("sup.zhao", "recordEquipmentCare", inp)
    log.info("demo production: %s calibrated, valid until %s", SCALE, inp["validUntil"])


async def review(people: Actors, db: Database, batch: str) -> None:
    """QA reviews every exception of the completed batch record, closes its deviations and concludes."""
    found: dict[str, Any] = (await people.query(REVIEWER, REVIEW, {"b": batch}))["batchReview"]
    if found["conclusion"] is not None:
        return
    keys = [i["key"] for i in found["items"] if not i["reviewed"]]
    if keys:
        inp = {"batchNumber": batch, "keys": keys, "conclusion": "Checked against the equipment logbooks and the "
               "batch documentation: values entered by hand as documented, alarms explained, no impact on quality"}
        await people.signed(REVIEWER, "reviewBatchItems", inp, "REVIEWED")
    async with db.read() as s:
        open_ = (await s.execute(select(Deviation.number).join(Batch, Batch.id == Deviation.batch_id).where(
            Batch.batch_number == batch, Deviation.status == "OPEN"))).scalars().all()
    for number in open_:  # a phase completed as an exception raised it; QA closes it after the review
        await people.signed(MATERIALS_QA, "approveDeviationClosure", {"number": number}, "APPROVED")
        log.info("demo production: %s deviation %s closed by QA", batch, number)
    await people.signed(REVIEWER, "concludeBatchReview", {"batchNumber": batch, "opinion": "Batch record complete; "
                        f"{len(found['items'])} exceptions reviewed; ready for the QP's decision"}, "REVIEWED")
    log.info("demo production: %s review concluded by QA (%d exceptions reviewed)", batch, len(found["items"]))


async def release(people: Actors, batch: str) -> None:
    """The QP's release: the organisation seals the document, the QP's key signs it."""
    prepared = (await people.query(QP, PREPARE, {"b": batch}))["prepareRelease"]
    u = people.users[QP]
    key = (people.data_dir / u["privateKey"]).read_bytes()
    cms = pki.sign_bytes(key, prepared["algorithm"], base64.b64decode(prepared["toSign"]))
    inp = {"documentId": prepared["documentId"], "cmsSignature": base64.b64encode(cms).decode()}
    await people.signed(QP, "completeRelease", inp, "RELEASED")
    log.info("demo production: %s released by the QP (document %s)", batch, prepared["documentId"])
