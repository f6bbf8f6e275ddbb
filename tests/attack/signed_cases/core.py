"""Signed-mutation cases: equipment, deviations, administration and policies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from records.plant import Equipment
from tests.attack.signed_cases.base import Case, World

# --- cases -----------------------------------------------------------------------------------------

async def _status(_: World) -> dict[str, Any]:
    return {"code": "EQ-2", "status": "MAINTENANCE", "reason": "seal"}


async def _verify_status(w: World) -> dict[str, Any]:
    inp = {"code": "EQ-3", "status": "FAULT", "reason": "pump"}
    await w.call("op.one", "setEquipmentStatus", inp)
    async with w.db.read() as s:
        from records.signature import ESignature

        eq = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-3"))).scalar_one()
        sid = (await s.execute(select(ESignature.id).where(ESignature.entity == "equipment",
                                                           ESignature.entity_id == str(eq)))).scalar_one()
    return {"signatureId": str(sid)}


async def _deviation(_: World) -> dict[str, Any]:
    return {"title": "Door left open", "description": "CS1 door open for 4 minutes"}


async def _closure(w: World) -> dict[str, Any]:
    body = await w.call("op.one", "raiseDeviation", {"title": "Late sample", "description": "taken at 10:05"})
    assert body is not None
    async with w.db.read() as s:
        from records.quality import Deviation

        number = (await s.execute(select(Deviation.number).order_by(Deviation.id.desc()).limit(1))).scalar_one()
    return {"number": number}


async def _new_user(_: World) -> dict[str, Any]:
    return {"username": "qc.case", "displayName": "QC Case", "roles": ["qc_analyst"], "reason": "new hire"}


async def _roles(_: World) -> dict[str, Any]:
    return {"username": "op.two", "roles": ["operator", "production_supervisor"], "reason": "promotion"}


async def _enrolment(w: World) -> dict[str, Any]:
    from tests.signing_env import UNENROLLED

    return {"certificate": w.signers.keys[next(iter(UNENROLLED))].cert_pem.decode(), "reason": "first certificate"}


async def _station(_: World) -> dict[str, Any]:
    return {"code": "PS-CASE", "name": "Case Station", "province": "Test", "licenceNumber": "LIC-1",
            "reason": "supplier audit passed"}


async def _layout(_: World) -> dict[str, Any]:
    return {"siteCode": "S9", "siteName": "Case site", "code": "P9", "name": "Case plant", "width": 10, "height": 10,
            "reason": "qualified", "areas": [{"code": "A9", "name": "Case area", "rooms": [
                {"code": "R9", "name": "Case room", "grade": "D", "polygon": [[0, 0], [10, 0], [10, 10], [0, 10]],
                 "sensors": [{"tag": "R9-TT-101", "name": "Room temperature", "kind": "temperature", "unit": "°C",
                              "lowLimit": 15, "highLimit": 25}]}]}]}


async def _care(_: World) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    done = datetime.now(UTC) - timedelta(hours=1)
    return {"equipmentCode": "EQ-1", "kind": "CLEANING", "passed": True, "performedAt": done.isoformat(),
            "validUntil": (done + timedelta(days=7)).date().isoformat(), "reference": "SOP-CLN-004"}


async def _log_line(_: World) -> dict[str, Any]:
    return {"equipmentCode": "EQ-2", "kind": "MAINTENANCE", "text": "Seal replaced, WO-7781"}


async def _setting(_: World) -> dict[str, Any]:
    return {"key": "audit.review.days", "value": 30, "reason": "review monthly"}


async def _policy(w: World) -> dict[str, Any]:
    """A copy of the policy files with one more rule, made the directory the app reads."""
    import shutil
    import tempfile
    from pathlib import Path

    from policies.policy_set import HERE, PolicySet, fingerprint

    d = Path(tempfile.mkdtemp(prefix="policies-"))
    for name in ("model.conf", "policy.csv", "duties.conf", "duties.csv", "signing.csv", "roles.csv"):
        shutil.copy(HERE / name, d / name)
    w.gql.client.app_services.policy = PolicySet.load(d)  # type: ignore[attr-defined]
    with (d / "policy.csv").open("a") as fh:
        fh.write("p, qc_reviewer, *, audit:trail, read\n")
    return {"fingerprint": fingerprint(d), "reason": "reviewers read the audit trail (CR-7)"}


SPECIFICATION: dict[str, Any] = {
    "code": "CASE-SPEC", "subjectKind": "PRODUCT", "subjectCode": "ALB-20", "title": "Human albumin 20 %",
    "effectiveDate": "2027-01-01", "changeNote": "first version",
    "items": [{"name": "Protein", "method": "SOP-QC-012", "unit": "g/L", "low": "190", "high": "210",
               "rounding": "DECIMALS", "precision": 0}]}


async def _specification(_: World) -> dict[str, Any]:
    return SPECIFICATION


async def _drafted_specification(w: World) -> dict[str, Any]:
    await w.call("qc.sig", "createSpecification", SPECIFICATION)
    return {"code": "CASE-SPEC", "version": 1, "comment": "approved"}


CASES: dict[str, Case] = {
    "setEquipmentStatus": Case("op.one", _status),
    "verifyEquipmentStatusChange": Case("sup.rsa", _verify_status, "VERIFIED"),
    "raiseDeviation": Case("op.one", _deviation),
    "approveDeviationClosure": Case("qa.sig", _closure, "APPROVED"),
    "createUser": Case("adm.sig", _new_user, second=("qa.sig", "APPROVED")),
    "setUserRoles": Case("adm.sig", _roles, second=("qa.sig", "APPROVED")),
    "setSetting": Case("adm.sig", _setting),
    "recordEquipmentCare": Case("op.one", _care),
    "addEquipmentLogEntry": Case("op.one", _log_line),
    "enrolCertificate": Case("op.new", _enrolment),
    "registerPlasmaStation": Case("qa.sig", _station, "APPROVED"),
    "importPlantLayout": Case("adm.sig", _layout, second=("qa.sig", "APPROVED")),
    "reloadPolicies": Case("adm.sig", _policy, second=("qa.sig", "APPROVED")),
    "createSpecification": Case("qc.sig", _specification),
    "approveSpecification": Case("qa.sig", _drafted_specification, "APPROVED"),
}

# The argument that carries the second person's signature, where it is not `verification`.
SECOND_ARG = {"createUser": "approval", "setUserRoles": "approval", "reloadPolicies": "approval",
              "importPlantLayout": "approval"}
