"""Controlled documents (QM-04..QM-08) and change control (QM-10): the signed life cycle (a GMP document
reviewed by QA before approval), one effective version with the one before superseded, the operator's view
of a phase that only ever shows the effective SOP, the periodic-review reminder, search by category and
number, printouts with copy numbers withdrawn and destroyed; change requests decided by QA and closed."""

from __future__ import annotations

import copy
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditEvent
from records.base import utcnow
from records.document import ControlledDocument
from records.signature import ESignature
from tests.attack.signed_cases.base import World
from tests.test_attachments import upload
from tests.test_phases import RECIPE

FIELDS = "code version status reviewedBy approvedBy madeEffectiveBy effectiveDate reviewDue contentSha256"
SOP: dict[str, Any] = {"code": "SOP-PR-012", "title": "Cold-ethanol precipitation", "category": "SOP",
                       "body": "1. Cool the tank to -5 °C. 2. Add ethanol at the set rate.", "roles": ["operator"],
                       "changeNote": "first issue"}
PHASE_VIEW = """query($c: String!) { recipe(code: $c) { phases { code sop effectiveSop { code version title body
  contentSha256 } } } }"""


def untagged(sop: str) -> dict[str, Any]:
    """The execution recipe without its twin tag (this plant has no sensor), its first phase under `sop`."""
    recipe = copy.deepcopy(RECIPE)
    recipe["phases"][0]["parameters"][0]["tag"] = None
    recipe["phases"][0]["sop"] = sop
    return recipe


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _step(code: str, version: int, comment: str = "checked") -> dict[str, Any]:
    return {"code": code, "version": version, "comment": comment}


async def effective(w: World, doc: dict[str, Any], version: int = 1, author: str = "sup.rsa") -> None:
    """A document drafted by `author`, reviewed by qa.two, approved and made effective today by qa.sig."""
    today = utcnow().date()
    await w.call(author, "draftDocument", doc)
    await w.call(author, "submitDocument", _step(doc["code"], version))
    await w.call("qa.two", "reviewDocument", _step(doc["code"], version), "REVIEWED")
    await w.call("qa.sig", "approveDocument", {**_step(doc["code"], version), "effectiveDate": today.isoformat(),
                                               "reviewDue": (today + timedelta(days=365)).isoformat()}, "APPROVED")
    await w.call("qa.sig", "makeDocumentEffective", _step(doc["code"], version), "APPROVED")


@pytest.mark.req("QM-04", "QM-06", "QM-08")
async def test_life_cycle_signed_qa_review_required_and_the_operator_sees_only_the_effective_sop(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    today = utcnow().date()
    approval = {**_step("SOP-PR-012", 1), "effectiveDate": today.isoformat(),
                "reviewDue": (today + timedelta(days=365)).isoformat()}
    v1 = (await w.send("sup.rsa", "draftDocument", SOP, answer=FIELDS))["data"]["draftDocument"]
    assert (v1["version"], v1["status"]) == (1, "DRAFT")
    assert _code(await w.send("qa.two", "reviewDocument", _step("SOP-PR-012", 1), "REVIEWED")) == "CONFLICT"
    assert _code(await w.send("qa.sig", "submitDocument", _step("SOP-PR-012", 1))) == "FORBIDDEN"  # not its author
    assert "errors" not in await w.send("sup.rsa", "submitDocument", _step("SOP-PR-012", 1))
    # QM-04: a GMP document is approved only after a QA review, and a QC reviewer cannot give it.
    assert _code(await w.send("qa.sig", "approveDocument", approval, "APPROVED")) == "CONFLICT"
    refused = await w.send("qcr.sig", "reviewDocument", _step("SOP-PR-012", 1), "REVIEWED")
    assert _code(refused) == "FORBIDDEN" and "quality department" in refused["errors"][0]["message"]
    assert _code(await w.send("sup.rsa", "approveDocument", approval, "APPROVED")) == "FORBIDDEN"
    reviewed = await w.send("qa.two", "reviewDocument", _step("SOP-PR-012", 1), "REVIEWED", answer=FIELDS)
    assert reviewed["data"]["reviewDocument"]["reviewedBy"] == "qa.two"
    assert _code(await w.send("qa.sig", "makeDocumentEffective", _step("SOP-PR-012", 1), "APPROVED")) == "CONFLICT"
    past = {**approval, "effectiveDate": (today - timedelta(days=1)).isoformat()}
    assert _code(await w.send("qa.sig", "approveDocument", past, "APPROVED")) == "VALIDATION_FAILED"
    approved = (await w.send("qa.sig", "approveDocument", approval, "APPROVED", answer=FIELDS)
                )["data"]["approveDocument"]
    assert (approved["status"], approved["approvedBy"], approved["effectiveDate"]) == ("APPROVED", "qa.sig",
                                                                                        today.isoformat())
    v1 = (await w.send("qa.sig", "makeDocumentEffective", _step("SOP-PR-012", 1), "APPROVED", answer=FIELDS)
          )["data"]["makeDocumentEffective"]
    assert (v1["status"], v1["madeEffectiveBy"]) == ("EFFECTIVE", "qa.sig")

    # The operator's view of a phase under the SOP shows its effective version.
    await w.call("sup.rsa", "draftRecipe", untagged("SOP-PR-012"))
    op = await gql.sign_in("op.one")
    seen = (await op(PHASE_VIEW, {"c": "EXEC-MR"}))["data"]["recipe"]["phases"]
    assert seen[0]["effectiveSop"]["version"] == 1 and seen[0]["effectiveSop"]["body"] == SOP["body"]
    assert (seen[1]["sop"], seen[1]["effectiveSop"]) == ("", None)
    # Operators do not browse the document register (superseded versions included).
    assert _code(await op('{ controlledDocuments { code } }')) == "FORBIDDEN"

    # Version 2 supersedes version 1 when it takes effect; until then the operator still sees version 1.
    v2 = {**SOP, "body": "1. Cool the tank to -6 °C. 2. Add ethanol at the set rate.", "changeNote": "colder"}
    await w.call("sup.rsa", "draftDocument", v2)
    await w.call("sup.rsa", "submitDocument", _step("SOP-PR-012", 2))
    assert _code(await w.send("sup.rsa", "draftDocument", v2)) == "CONFLICT"  # in review: no second draft
    await w.call("qa.two", "reviewDocument", _step("SOP-PR-012", 2), "REVIEWED")
    await w.call("qa.sig", "approveDocument", {**approval, "version": 2}, "APPROVED")
    assert (await op(PHASE_VIEW, {"c": "EXEC-MR"}))["data"]["recipe"]["phases"][0]["effectiveSop"]["version"] == 1
    await w.call("qa.sig", "makeDocumentEffective", _step("SOP-PR-012", 2), "APPROVED")
    seen = (await op(PHASE_VIEW, {"c": "EXEC-MR"}))["data"]["recipe"]["phases"][0]["effectiveSop"]
    assert (seen["version"], seen["body"]) == (2, v2["body"])
    qa = await gql.sign_in("qa.sig")
    listed = await qa('{ controlledDocuments(code: "SOP-PR") { version status } }')
    assert listed["data"]["controlledDocuments"] == [{"version": 2, "status": "EFFECTIVE"},
                                                     {"version": 1, "status": "SUPERSEDED"}]

    # Withdrawn without a successor: no version reaches the operator any more.
    assert "errors" not in await w.send("qa.sig", "withdrawDocument", _step("SOP-PR-012", 2, "process retired"),
                                        "APPROVED")
    assert (await op(PHASE_VIEW, {"c": "EXEC-MR"}))["data"]["recipe"]["phases"][0]["effectiveSop"] is None

    async with db.read() as s:
        sigs = list((await s.execute(select(ESignature.meaning, ESignature.signer, ESignature.signed_at).where(
            ESignature.entity == "controlled_document").order_by(ESignature.id))).all())
        actions = list((await s.execute(select(AuditEvent.action).where(
            AuditEvent.entity == "controlled_document"))).scalars())
        refusals = list((await s.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(("WRITE_REFUSED", "SOD_VIOLATION"))))).scalars())
    # QM-06: every transition signed with its meaning and time.
    assert [m for m, _, _ in sigs] == ["PERFORMED", "PERFORMED", "REVIEWED", "APPROVED", "APPROVED",
                                       "PERFORMED", "PERFORMED", "REVIEWED", "APPROVED", "APPROVED", "APPROVED"]
    assert all(at is not None for _, _, at in sigs)
    assert {"CREATE", "UPDATE"} <= set(actions)
    assert refusals.count("WRITE_REFUSED") >= 6


async def test_the_author_cannot_review_or_approve_a_document(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    doc = {**SOP, "code": "SOP-QA-001", "category": "POLICY"}
    await w.call("qa.two", "draftDocument", doc)
    await w.call("qa.two", "submitDocument", _step("SOP-QA-001", 1))
    assert _code(await w.send("qa.two", "reviewDocument", _step("SOP-QA-001", 1), "REVIEWED")) == "SOD_VIOLATION"
    # A non-GMP form needs no QA review, but is still approved by QA.
    form = {**SOP, "code": "FRM-001", "category": "FORM", "gmp": False, "roles": []}
    await w.call("qcr.sig", "draftDocument", form)
    await w.call("qcr.sig", "submitDocument", _step("FRM-001", 1))
    today = utcnow().date()
    approval = {**_step("FRM-001", 1), "effectiveDate": today.isoformat(),
                "reviewDue": (today + timedelta(days=30)).isoformat()}
    assert "errors" not in await w.send("qa.sig", "approveDocument", approval, "APPROVED")
    # The content may be a file the author uploaded, kept with its SHA-256; someone else's file is refused.
    pdf = b"%PDF-1.7 synthetic SOP"
    mine, theirs = await upload(w, "sup.rsa", "sop.pdf", pdf, "application/pdf"), await upload(w, "qc.sig", "x.pdf",
                                                                                                 pdf, "application/pdf")
    filed = {**SOP, "code": "SOP-FILE", "body": "", "attachmentId": mine}
    assert _code(await w.send("sup.rsa", "draftDocument", {**filed, "attachmentId": theirs})) == "FORBIDDEN"
    got = (await w.send("sup.rsa", "draftDocument", filed, answer="contentSha256 attachmentId body"))["data"]
    assert got["draftDocument"] == {"contentSha256": hashlib.sha256(pdf).hexdigest(), "attachmentId": int(mine),
                                    "body": ""}
    # Unknown roles and a missing content are refused.
    assert _code(await w.send("sup.rsa", "draftDocument", {**SOP, "code": "SOP-X", "roles": ["nobody"]})) \
        == "VALIDATION_FAILED"
    assert _code(await w.send("sup.rsa", "draftDocument", {**SOP, "code": "SOP-X", "body": ""})) == "VALIDATION_FAILED"


@pytest.mark.req("QM-07", "QM-08")
async def test_search_by_category_and_number_and_the_periodic_review_reminder(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await effective(w, SOP)
    await effective(w, {**SOP, "code": "MTH-QC-101", "title": "ELISA HBsAg", "category": "METHOD"})
    qa = await gql.sign_in("qa.sig")
    methods = await qa('{ controlledDocuments(category: METHOD) { code } }')
    assert methods["data"]["controlledDocuments"] == [{"code": "MTH-QC-101"}]
    by_number = await qa('{ controlledDocuments(code: "sop-pr") { code category } }')
    assert by_number["data"]["controlledDocuments"] == [{"code": "SOP-PR-012", "category": "SOP"}]
    found = await qa('{ controlledDocument(code: "MTH-QC-101") { version status } }')
    assert found["data"]["controlledDocument"] == {"version": 1, "status": "EFFECTIVE"}

    # QM-08: a review due in 10 days is reminded within 30 days, not within 5.
    today = utcnow().date()
    soon = {**SOP, "code": "SOP-PR-020", "title": "Filtration"}
    await w.call("sup.rsa", "draftDocument", soon)
    await w.call("sup.rsa", "submitDocument", _step("SOP-PR-020", 1))
    await w.call("qa.two", "reviewDocument", _step("SOP-PR-020", 1), "REVIEWED")
    await w.call("qa.sig", "approveDocument", {**_step("SOP-PR-020", 1), "effectiveDate": today.isoformat(),
                                               "reviewDue": (today + timedelta(days=10)).isoformat()}, "APPROVED")
    due = '{ documentsDueForReview(withinDays: %d) { code reviewDue } }'
    assert (await qa(due % 30))["data"]["documentsDueForReview"] == []  # approved, not yet effective
    await w.call("qa.sig", "makeDocumentEffective", _step("SOP-PR-020", 1), "APPROVED")
    assert (await qa(due % 30))["data"]["documentsDueForReview"] == [
        {"code": "SOP-PR-020", "reviewDue": (today + timedelta(days=10)).isoformat()}]
    assert (await qa(due % 5))["data"]["documentsDueForReview"] == []
    assert _code(await qa(due % 400)) == "VALIDATION_FAILED"


@pytest.mark.req("QM-05")
async def test_printouts_get_copy_numbers_and_are_withdrawn_and_destroyed(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await w.call("sup.rsa", "draftDocument", SOP)
    issue = {"code": "SOP-PR-012", "version": 1, "kind": "PRINTOUT", "holder": "Fractionation room R2"}
    assert _code(await w.send("qa.sig", "issueDocumentCopy", issue)) == "CONFLICT"  # a draft is not issued
    await w.send("sup.rsa", "submitDocument", _step("SOP-PR-012", 1))
    await w.send("qa.two", "reviewDocument", _step("SOP-PR-012", 1), "REVIEWED")
    today = utcnow().date()
    await w.call("qa.sig", "approveDocument", {**_step("SOP-PR-012", 1), "effectiveDate": today.isoformat(),
                                               "reviewDue": (today + timedelta(days=365)).isoformat()}, "APPROVED")
    await w.call("qa.sig", "makeDocumentEffective", _step("SOP-PR-012", 1), "APPROVED")
    answer = "copyNumber kind holder status issuedBy withdrawnBy destroyedBy"
    first = (await w.send("qa.sig", "issueDocumentCopy", issue, answer=answer))["data"]["issueDocumentCopy"]
    export = {**issue, "kind": "EXPORT", "holder": "Contract manufacturer (PDF)"}
    second = (await w.send("qa.sig", "issueDocumentCopy", export, answer=answer))["data"]["issueDocumentCopy"]
    assert (first["copyNumber"], first["status"], second["copyNumber"]) == (1, "ISSUED", 2)
    assert _code(await w.send("op.one", "issueDocumentCopy", issue)) == "FORBIDDEN"

    close = {"code": "SOP-PR-012", "version": 1, "copyNumber": 2, "status": "DESTROYED", "note": "shredded"}
    assert _code(await w.send("qa.sig", "closeDocumentCopy", close)) == "CONFLICT"  # an export is not destroyed
    done = await w.send("qa.sig", "closeDocumentCopy", {**close, "status": "WITHDRAWN", "note": "recalled"},
                        answer=answer)
    assert done["data"]["closeDocumentCopy"]["status"] == "WITHDRAWN"
    printout = {**close, "copyNumber": 1, "status": "WITHDRAWN", "note": "returned from R2"}
    await w.call("qa.sig", "closeDocumentCopy", printout)
    destroyed = (await w.send("qa.sig", "closeDocumentCopy", {**printout, "status": "DESTROYED", "note": "shredded"},
                              answer=answer))["data"]["closeDocumentCopy"]
    assert (destroyed["status"], destroyed["withdrawnBy"], destroyed["destroyedBy"]) == ("DESTROYED", "qa.sig",
                                                                                         "qa.sig")
    assert _code(await w.send("qa.sig", "closeDocumentCopy", {**printout, "status": "DESTROYED"})) == "CONFLICT"
    assert _code(await w.send("qa.sig", "closeDocumentCopy", {**printout, "copyNumber": 9})) == "NOT_FOUND"
    qa = await gql.sign_in("qa.sig")
    copies = await qa('{ documentCopies(code: "SOP-PR-012") { copyNumber kind status holder } }')
    assert copies["data"]["documentCopies"] == [
        {"copyNumber": 2, "kind": "EXPORT", "status": "WITHDRAWN", "holder": "Contract manufacturer (PDF)"},
        {"copyNumber": 1, "kind": "PRINTOUT", "status": "DESTROYED", "holder": "Fractionation room R2"}]
    async with db.read() as s:
        meanings = list((await s.execute(select(ESignature.operation).where(ESignature.entity == "document_copy")
                                         .order_by(ESignature.id))).scalars())
        actions = {a for a in (await s.execute(select(AuditEvent.action).where(
            AuditEvent.entity == "document_copy"))).scalars()}
        doc = (await s.execute(select(ControlledDocument))).scalar_one()
    assert meanings == ["issueDocumentCopy", "issueDocumentCopy", "closeDocumentCopy", "closeDocumentCopy",
                        "closeDocumentCopy"]
    assert {"CREATE", "UPDATE"} <= actions and doc.status == "EFFECTIVE"


CHANGE = {"title": "Colder precipitation", "description": "Fraction I at -6 °C instead of -5 °C",
          "reason": "yield study ST-2026-04", "impact": "SOP-PR-012 and the recipe; operators retrained",
          "targets": [{"kind": "DOCUMENT", "code": "SOP-PR-012"}, {"kind": "RECIPE", "code": "EXEC-MR"}]}
CHANGE_FIELDS = "number status raisedBy decidedBy implementedBy closedBy targets { kind code }"


@pytest.mark.req("QM-10")
async def test_change_control_is_decided_by_qa_implemented_and_closed_in_order(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    assert _code(await w.send("sup.rsa", "raiseChange", CHANGE)) == "NOT_FOUND"  # its targets must exist
    await w.call("sup.rsa", "draftDocument", SOP)
    await w.call("sup.rsa", "draftRecipe", untagged(""))
    assert _code(await w.send("sup.rsa", "raiseChange", {**CHANGE, "targets": []})) == "VALIDATION_FAILED"
    raised = (await w.send("sup.rsa", "raiseChange", CHANGE, answer=CHANGE_FIELDS))["data"]["raiseChange"]
    number = raised["number"]
    assert (raised["status"], raised["raisedBy"]) == ("OPEN", "sup.rsa")
    assert number.startswith(f"CC-{utcnow():%Y}-")
    step = {"number": number, "comment": "done"}
    assert _code(await w.send("sup.rsa", "implementChange", step)) == "CONFLICT"  # not approved yet
    decision = {"number": number, "approved": True, "comment": "justified by the study"}
    assert _code(await w.send("sup.rsa", "decideChange", decision, "APPROVED")) == "FORBIDDEN"
    assert _code(await w.send("qa.sig", "closeChange", step, "APPROVED")) == "CONFLICT"
    approved = (await w.send("qa.sig", "decideChange", decision, "APPROVED", answer=CHANGE_FIELDS)
                )["data"]["decideChange"]
    assert (approved["status"], approved["decidedBy"]) == ("APPROVED", "qa.sig")
    assert _code(await w.send("qa.sig", "decideChange", decision, "APPROVED")) == "CONFLICT"
    done = (await w.send("sup.rsa", "implementChange", {**step, "comment": "SOP-PR-012 v2 drafted; recipe v2"},
                         answer=CHANGE_FIELDS))["data"]["implementChange"]
    assert done["status"] == "IMPLEMENTED"
    closed = (await w.send("qa.sig", "closeChange", {**step, "comment": "effective; training complete"}, "APPROVED",
                           answer=CHANGE_FIELDS))["data"]["closeChange"]
    assert (closed["status"], closed["closedBy"]) == ("CLOSED", "qa.sig")

    # Whoever raised a change request does not decide it; a rejected one goes no further.
    await w.call("qa.two", "raiseChange", {**CHANGE, "title": "Another"})
    second = f"CC-{utcnow():%Y}-0002"
    assert _code(await w.send("qa.two", "decideChange", {**decision, "number": second}, "APPROVED")) \
        == "SOD_VIOLATION"
    await w.call("qa.sig", "decideChange", {**decision, "number": second, "approved": False}, "APPROVED")
    assert _code(await w.send("qa.two", "implementChange", {**step, "number": second})) == "CONFLICT"

    qa = await gql.sign_in("qa.sig")
    listed = await qa('{ changeRequests(targetCode: "EXEC-MR") { number status } }')
    assert listed["data"]["changeRequests"] == [{"number": second, "status": "REJECTED"},
                                                {"number": number, "status": "CLOSED"}]
    async with db.read() as s:
        meanings = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "change_request")
                                         .order_by(ESignature.id))).scalars())
        actions = list((await s.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(("WRITE_REFUSED", "SOD_VIOLATION"))))).scalars())
    assert meanings == ["PERFORMED", "APPROVED", "PERFORMED", "APPROVED", "PERFORMED", "APPROVED"]
    assert "SOD_VIOLATION" in actions and actions.count("WRITE_REFUSED") >= 4
