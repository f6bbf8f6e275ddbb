"""Signed-mutation cases: OOS investigations and CAPA (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.attack.signed_cases.base import Case, World
from tests.attack.signed_cases.core import SPECIFICATION
from tests.attack.signed_cases.floor import _batch

FINDINGS = "no calculation, instrument or preparation error found"


async def _opened(w: World) -> int:
    """Batch B-OOS-C with a failing Protein result: the id of the OOS it opened."""
    await w.call("qc.sig", "createSpecification", SPECIFICATION)
    await w.call("qa.sig", "approveSpecification", {"code": "CASE-SPEC", "version": 1, "comment": "approved"},
                 "APPROVED")
    await _batch(w, "B-OOS-C")
    await w.call("qc.sig", "recordTestResult", {"batchNumber": "B-OOS-C", "stage": "FINAL", "subjectCode": "ALB-20",
                                                "item": "Protein", "value": "250"})
    me = await w.gql.sign_in("qa.sig")
    got = await me('{ oosRecords(batchNumber: "B-OOS-C") { id } }')
    return int(got["data"]["oosRecords"][0]["id"])


async def _start(w: World) -> dict[str, Any]:
    return {"oosId": await _opened(w)}


async def _started(w: World) -> int:
    oos_id = await _opened(w)
    await w.call("qcr.sig", "startOosInvestigation", {"oosId": oos_id})
    return oos_id


async def _escalate(w: World) -> dict[str, Any]:
    return {"oosId": await _started(w), "findings": FINDINGS}


async def _close(w: World) -> dict[str, Any]:
    oos_id = await _started(w)
    await w.call("qcr.sig", "escalateOos", {"oosId": oos_id, "findings": FINDINGS})
    return {"oosId": oos_id, "conclusion": "CONFIRMED", "findings": "the process ran hot at step 4"}


def _capa(oos_id: int) -> dict[str, Any]:
    return {"kind": "CORRECTIVE", "action": "Requalify the method", "owner": "qc.sig",
            "dueDate": (date.today() + timedelta(days=30)).isoformat(), "oosId": oos_id}


async def _create_capa(w: World) -> dict[str, Any]:
    return _capa(await _opened(w))


async def _capa_number(w: World) -> str:
    await w.call("qa.sig", "createCapa", _capa(await _opened(w)))
    me = await w.gql.sign_in("qa.sig")
    return str((await me("{ capas { number } }"))["data"]["capas"][0]["number"])


async def _complete(w: World) -> dict[str, Any]:
    return {"number": await _capa_number(w), "note": "method requalified"}


async def _check(w: World) -> dict[str, Any]:
    number = await _capa_number(w)
    await w.call("qc.sig", "completeCapa", {"number": number, "note": "method requalified"})
    return {"number": number, "result": "EFFECTIVE", "note": "no recurrence in 20 batches"}


CASES: dict[str, Case] = {
    "startOosInvestigation": Case("qc.sig", _start),
    "escalateOos": Case("qcr.sig", _escalate),
    "closeOos": Case("qa.sig", _close, "APPROVED"),
    "createCapa": Case("qa.sig", _create_capa),
    "completeCapa": Case("qc.sig", _complete),
    "checkCapaEffectiveness": Case("qa.sig", _check, "APPROVED"),
}
