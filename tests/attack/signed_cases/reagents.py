"""Signed-mutation cases: reagents, reference standards, test solutions and test kits (QC-22..QC-24)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.attack.signed_cases.base import Case, World


def _receipt(code: str) -> dict[str, Any]:
    return {"code": code, "kind": "REAGENT", "name": "Sodium hydroxide", "lotNumber": f"L-{code}",
            "supplier": "Sinopharm", "quantity": 500.0, "unit": "g", "location": "QC-R2", "conditions": "15-25 °C",
            "expiresOn": (date.today() + timedelta(days=365)).isoformat()}


async def _receive(_: World) -> dict[str, Any]:
    return _receipt("CASE-R1")


async def _received(w: World, code: str = "CASE-R2", release: bool = False) -> str:
    await w.call("qc.sig", "receiveReagent", _receipt(code))
    if release:
        await w.call("qcr.sig", "releaseReagent", {"code": code, "reason": "CoA checked"}, "APPROVED")
    return code


async def _release(w: World) -> dict[str, Any]:
    return {"code": await _received(w), "reason": "CoA checked"}


async def _prepare(w: World) -> dict[str, Any]:
    parent = await _received(w, release=True)
    return {"code": "CASE-TS1", "name": "NaOH 0.1 mol/L", "lotNumber": "P-1", "quantity": 1000.0, "unit": "mL",
            "location": "bench 1", "conditions": "room temperature",
            "expiresOn": (date.today() + timedelta(days=30)).isoformat(),
            "parents": [{"code": parent, "quantity": 4.0}]}


async def _standardise(w: World) -> dict[str, Any]:
    return {"code": await _received(w, release=True), "kind": "STANDARDISE", "factor": "1.002", "method": "KHP"}


async def _issue(w: World) -> dict[str, Any]:
    return {"code": await _received(w, release=True), "quantity": 10.0, "to": "bench 2"}


async def _return(w: World) -> dict[str, Any]:
    code = await _received(w, release=True)
    await w.call("qc.sig", "issueReagent", {"code": code, "quantity": 10.0, "to": "bench 2"})
    return {"code": code, "quantity": 5.0, "note": "unused"}


async def _destroy(w: World) -> dict[str, Any]:
    return {"code": await _received(w), "method": "incinerated", "reason": "container damaged"}


CASES: dict[str, Case] = {
    "receiveReagent": Case("qc.sig", _receive),
    "releaseReagent": Case("qcr.sig", _release, "APPROVED"),
    "prepareSolution": Case("qc.sig", _prepare),
    "standardiseReagent": Case("qc.sig", _standardise),
    "issueReagent": Case("qc.sig", _issue),
    "returnReagent": Case("qc.sig", _return),
    "destroyReagent": Case("qa.sig", _destroy),
}
