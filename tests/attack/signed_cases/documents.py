"""Signed-mutation cases: controlled documents, training and change control (QM-04..QM-10)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from records.base import utcnow
from tests.attack.signed_cases.base import Case, World

DOC: dict[str, Any] = {"code": "SOP-CASE", "title": "Case SOP", "category": "SOP", "body": "Do it.",
                       "roles": ["operator"], "changeNote": "first issue"}


def _step(comment: str = "ok") -> dict[str, Any]:
    return {"code": "SOP-CASE", "version": 1, "comment": comment}


def _approval() -> dict[str, Any]:
    today = utcnow().date()
    return {**_step(), "effectiveDate": today.isoformat(), "reviewDue": (today + timedelta(days=365)).isoformat()}


async def _draft(_: World) -> dict[str, Any]:
    return DOC


async def _drafted(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "draftDocument", DOC)
    return _step()


async def _in_review(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "submitDocument", await _drafted(w))
    return _step()


async def _reviewed(w: World) -> dict[str, Any]:
    await w.call("qa.two", "reviewDocument", await _in_review(w), "REVIEWED")
    return _approval()


async def _approved(w: World) -> dict[str, Any]:
    await w.call("qa.sig", "approveDocument", await _reviewed(w), "APPROVED")
    return _step()


async def _effective(w: World) -> dict[str, Any]:
    await w.call("qa.sig", "makeDocumentEffective", await _approved(w), "APPROVED")
    return _step("retired")


async def _copy(w: World) -> dict[str, Any]:
    await _effective(w)
    return {"code": "SOP-CASE", "version": 1, "kind": "PRINTOUT", "holder": "Room R2"}


async def _issued(w: World) -> dict[str, Any]:
    await w.call("qa.sig", "issueDocumentCopy", await _copy(w))
    return {"code": "SOP-CASE", "version": 1, "copyNumber": 1, "status": "WITHDRAWN", "note": "returned"}


async def _training(w: World) -> dict[str, Any]:
    await _approved(w)
    trained = utcnow() - timedelta(days=1)
    return {"username": "op.one", "documentCode": "SOP-CASE", "documentVersion": 1,
            "trainedAt": trained.isoformat(), "assessment": "PASSED",
            "validUntil": (trained + timedelta(days=365)).date().isoformat()}


async def _change(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "draftDocument", DOC)
    return {"title": "Case change", "description": "new step", "reason": "deviation", "impact": "SOP only",
            "targets": [{"kind": "DOCUMENT", "code": "SOP-CASE"}]}


async def _raised(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "raiseChange", await _change(w))
    return {"number": f"CC-{utcnow():%Y}-0001", "approved": True, "comment": "ok"}


async def _decided(w: World) -> dict[str, Any]:
    await w.call("qa.sig", "decideChange", await _raised(w), "APPROVED")
    return {"number": f"CC-{utcnow():%Y}-0001", "comment": "done"}


async def _implemented(w: World) -> dict[str, Any]:
    step = await _decided(w)
    await w.call("sup.rsa", "implementChange", step)
    return step


CASES: dict[str, Case] = {
    "draftDocument": Case("sup.rsa", _draft),
    "submitDocument": Case("sup.rsa", _drafted),
    "reviewDocument": Case("qa.two", _in_review, "REVIEWED"),
    "approveDocument": Case("qa.sig", _reviewed, "APPROVED"),
    "makeDocumentEffective": Case("qa.sig", _approved, "APPROVED"),
    "withdrawDocument": Case("qa.sig", _effective, "APPROVED"),
    "issueDocumentCopy": Case("qa.sig", _copy),
    "closeDocumentCopy": Case("qa.sig", _issued),
    "recordTraining": Case("qa.sig", _training),
    "raiseChange": Case("sup.rsa", _change),
    "decideChange": Case("qa.sig", _raised, "APPROVED"),
    "implementChange": Case("sup.rsa", _decided),
    "closeChange": Case("qa.sig", _implemented, "APPROVED"),
}
