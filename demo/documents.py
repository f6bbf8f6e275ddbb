"""The demo's controlled SOPs and training, through the API: each SOP of demo/recipes.py drafted by the
supervisor, reviewed by one QA officer, approved and made effective by the other, and the demo's operators and
supervisor trained on its effective version by QA (so they may sign the phases carried out under it, QM-09)."""

from __future__ import annotations

import logging
from datetime import timedelta

from demo.actors import Actors
from demo.recipes import SOPS
from records.base import utcnow

log = logging.getLogger("plasmatwin.demo")

AUTHOR, REVIEWER, APPROVER, TRAINER = "sup.zhao", "qa.li", "qa.zheng", "qa.li"
TRAINEES = ("op.chen", "op.wang", "sup.zhao")
ROLES = ["operator", "production_supervisor"]
KNOWN = "{ controlledDocuments(category: SOP) { code status } }"


async def seed_documents(people: Actors) -> None:
    """Every SOP effective and its trainees trained (once: SOPs already there are left alone)."""
    known = {d["code"] for d in (await people.query(REVIEWER, KNOWN))["controlledDocuments"]}
    today = utcnow().date()
    for unit_procedure, (code, title) in SOPS.items():
        if code in known:
            continue
        step = {"code": code, "version": 1, "comment": "checked against the process validation report"}
        await people.signed(AUTHOR, "draftDocument", {
            "code": code, "title": title, "category": "SOP", "roles": ROLES, "changeNote": "first issue",
            "body": f"{title} ({unit_procedure}): follow the master recipe's phase instructions and limits; "
                    "record every value in the electronic batch record. Synthetic demo SOP."})
        await people.signed(AUTHOR, "submitDocument", step, input_type="DocumentStepInput")
        await people.signed(REVIEWER, "reviewDocument", step, "REVIEWED", input_type="DocumentStepInput")
        await people.signed(APPROVER, "approveDocument", {**step, "effectiveDate": today.isoformat(),
                                                          "reviewDue": (today + timedelta(days=730)).isoformat()},
                            "APPROVED")
        await people.signed(APPROVER, "makeDocumentEffective", step, "APPROVED", input_type="DocumentStepInput")
        trained = utcnow() - timedelta(days=1)
        for user in TRAINEES:
            await people.signed(TRAINER, "recordTraining", {
                "username": user, "documentCode": code, "documentVersion": 1, "trainedAt": trained.isoformat(),
                "assessment": "PASSED", "validUntil": (trained + timedelta(days=365)).date().isoformat(),
                "note": "read-and-understood with a practical assessment"})
        print(f"  SOP {code} effective; {', '.join(TRAINEES)} trained", flush=True)
        log.info("demo documents: %s effective, %d people trained", code, len(TRAINEES))
