"""Training (QM-09): training records per person and document version, the block on signing a phase whose
effective SOP the signer (or the verifier) is not validly trained on (missing, failed, expired, or on an older
version), switchable by the setting training.enforced; the training matrix per role and the report of people
without valid training."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from demo.recipes import SOPS
from records.audit import AuditContext, AuditEvent
from records.base import utcnow
from records.db import Database
from records.document import ControlledDocument
from records.execution import PhaseRun
from records.signature import ESignature
from records.training import TrainingRecord
from tests.attack.signed_cases.base import World
from tests.test_documents import SOP, _step, effective
from tests.test_phases import RECIPE, _complete, _readings, _start, planned

GOVERNED = copy.deepcopy(RECIPE)
for _phase in GOVERNED["phases"]:
    _phase["sop"] = "SOP-EX-MIX"
MIX_SOP = {**SOP, "code": "SOP-EX-MIX", "title": "Mixing and filling", "roles": ["operator", "production_supervisor"]}


async def trained_on_demo_sops(db: Database, users: tuple[str, ...]) -> None:
    """The demo recipes' SOPs effective and `users` trained on them, written directly (for tests that run the
    demo recipes; the demo itself makes them through the API, demo/documents.py)."""
    now = utcnow()
    async with db.write(AuditContext("test", reason="the demo SOPs and their training")) as s:
        for code, title in SOPS.values():
            s.add(ControlledDocument(code=code, version=1, title=title, category="SOP", gmp=True, status="EFFECTIVE",
                                     effective_key=code, change_note="first issue", body=title,
                                     content_sha256="0" * 64, roles=["operator"], effective_date=now.date(),
                                     drafted_by="sup.rsa", drafted_at=now))
            s.add_all(TrainingRecord(username=u, document_code=code, document_version=1, trained_at=now,
                                     trainer="qa.sig", assessment="PASSED",
                                     valid_until=now.date() + timedelta(days=365), recorded_at=now) for u in users)


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def training(user: str, version: int = 1, *, days_ago: int = 1, valid_days: int = 365,
             assessment: str = "PASSED") -> dict[str, Any]:
    trained = utcnow() - timedelta(days=days_ago)
    return {"username": user, "documentCode": "SOP-EX-MIX", "documentVersion": version,
            "trainedAt": trained.isoformat(), "assessment": assessment,
            "validUntil": (trained + timedelta(days=valid_days)).date().isoformat(), "note": "read and assessed"}


@pytest.fixture
def world(env: Any) -> World:
    gql, signers, db = env
    return World(gql, signers, db)


async def _setup(w: World) -> None:
    from records.plant import Room, Sensor

    await effective(w, MIX_SOP)
    async with w.db.write(AuditContext("test", reason="a temperature sensor in R1")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="R1-TT-901", name="Tank temperature", kind="temperature", unit="°C", room_id=room.id,
                     low_limit=2, high_limit=8))
    await planned(w, GOVERNED, "EX-1")


MIX_DONE = {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 96, "losses": 2}
FILL_DONE = {"phaseCode": "FILL", "manual": [{"name": "Fill volume", "value": 10.0, "reason": "no scale link"}]}


@pytest.mark.req("QM-09")
async def test_an_untrained_signer_is_refused_at_a_phase_and_allowed_after_training(world: World) -> None:
    w = world
    await _setup(w)
    body = await _start(w, "MIX", "EQ-1")
    assert _code(body) == "FORBIDDEN", body
    ext = body["errors"][0]["extensions"]
    assert (ext["sop"], ext["sopVersion"], ext["trainee"], ext["training"]) == ("SOP-EX-MIX", 1, "op.one", "MISSING")
    assert "not trained on SOP-EX-MIX version 1" in body["errors"][0]["message"]
    async with w.db.read() as s:
        assert (await s.execute(select(PhaseRun))).first() is None  # nothing written
        refused = [e.changes for e in (await s.execute(select(AuditEvent).where(
            AuditEvent.action == "WRITE_REFUSED"))).scalars()]
    assert any(d["operation"] == "startPhase" and d["code"] == "FORBIDDEN" and "SOP-EX-MIX" in d["message"]
               for d in refused), refused

    # A failed assessment is no training; nobody records their own; operators do not record training.
    await w.call("qa.sig", "recordTraining", training("op.one", assessment="FAILED"))
    body = await _start(w, "MIX", "EQ-1")
    assert body["errors"][0]["extensions"]["training"] == "FAILED", body
    assert _code(await w.send("qa.sig", "recordTraining", training("qa.sig"))) == "SOD_VIOLATION"
    assert _code(await w.send("op.two", "recordTraining", training("op.one"))) == "FORBIDDEN"
    assert _code(await w.send("qa.sig", "recordTraining", training("op.one", valid_days=0))) == "VALIDATION_FAILED"
    assert _code(await w.send("qa.sig", "recordTraining", training("op.one", 2))) == "NOT_FOUND"
    recorded = await w.send("qa.sig", "recordTraining", training("op.one"), answer="username trainer assessment")
    assert recorded["data"]["recordTraining"] == {"username": "op.one", "trainer": "qa.sig", "assessment": "PASSED"}

    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 4.0, 5.0)
    assert "errors" not in await _complete(w, MIX_DONE)
    assert "errors" not in await _start(w, "FILL", "EQ-3")
    # The verifier signs the phase too: untrained, the completion is refused naming them.
    body = await _complete(w, FILL_DONE, verifier="sup.rsa")
    assert _code(body) == "FORBIDDEN" and body["errors"][0]["extensions"]["trainee"] == "sup.rsa", body
    await w.call("qa.sig", "recordTraining", training("sup.rsa"))
    done = (await _complete(w, FILL_DONE, verifier="sup.rsa"))["data"]["completePhase"]
    assert (done["status"], done["verifiedBy"]) == ("COMPLETED", "sup.rsa")
    async with w.db.read() as s:
        sigs = list((await s.execute(select(ESignature.signer).where(ESignature.entity == "training_record")
                                     .order_by(ESignature.id))).scalars())
        created = (await s.execute(select(AuditEvent.action).where(AuditEvent.entity == "training_record"))
                   ).scalars().all()
    assert sigs == ["qa.sig", "qa.sig", "qa.sig"] and list(created).count("CREATE") == 3


@pytest.mark.req("QM-09")
async def test_expired_training_an_older_version_and_no_effective_sop_are_refused_unless_switched_off(
        world: World) -> None:
    w = world
    await _setup(w)
    await w.call("qa.sig", "recordTraining", training("op.one", days_ago=400, valid_days=399))
    body = await _start(w, "MIX", "EQ-1")
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    assert _code(body) == "FORBIDDEN" and f"expired on {yesterday}" in body["errors"][0]["message"], body

    # Training on version 1 does not count once version 2 is in force.
    await w.call("qa.sig", "recordTraining", training("op.one"))
    await effective(w, {**MIX_SOP, "changeNote": "revised"}, version=2)
    body = await _start(w, "MIX", "EQ-1")
    assert _code(body) == "FORBIDDEN" and body["errors"][0]["extensions"]["sopVersion"] == 2, body

    # A phase under an SOP that has no effective version cannot be signed.
    await w.call("qa.sig", "withdrawDocument", _step("SOP-EX-MIX", 2, "retired"), "APPROVED")
    body = await _start(w, "MIX", "EQ-1")
    assert _code(body) == "CONFLICT" and "no effective version" in body["errors"][0]["message"], body

    # The administrator may switch the block off (a signed setting with a reason).
    bad = {"key": "training.enforced", "value": "no", "reason": "typo"}
    assert _code(await w.send("adm.sig", "setSetting", bad)) == "VALIDATION_FAILED"
    await w.call("adm.sig", "setSetting", {**bad, "value": False, "reason": "paper training records during the "
                                                                            "migration"})
    assert "errors" not in await _start(w, "MIX", "EQ-1")


@pytest.mark.req("QM-09")
async def test_training_matrix_per_role_and_the_people_without_valid_training(world: World) -> None:
    w = world
    await effective(w, MIX_SOP)
    await effective(w, {**SOP, "code": "MTH-QC-101", "title": "ELISA", "category": "METHOD",
                        "roles": ["qc_analyst"]})
    qa = await w.gql.sign_in("qa.sig")
    matrix = await qa('{ trainingMatrix { role documents { code version } } }')
    assert matrix["data"]["trainingMatrix"] == [
        {"role": "operator", "documents": [{"code": "SOP-EX-MIX", "version": 1}]},
        {"role": "production_supervisor", "documents": [{"code": "SOP-EX-MIX", "version": 1}]},
        {"role": "qc_analyst", "documents": [{"code": "MTH-QC-101", "version": 1}]}]
    one = await qa('{ trainingMatrix(role: "qc_analyst") { role documents { code } } }')
    assert one["data"]["trainingMatrix"] == [{"role": "qc_analyst", "documents": [{"code": "MTH-QC-101"}]}]

    await w.call("qa.sig", "recordTraining", training("op.one"))
    await w.call("qa.sig", "recordTraining", training("op.two", days_ago=400, valid_days=10))
    await w.call("qa.sig", "recordTraining", training("op.sm2", assessment="FAILED"))
    gaps = (await qa('{ trainingGaps(role: "operator") { username role document { code } state validUntil } }')
            )["data"]["trainingGaps"]
    by_user = {g["username"]: g for g in gaps}
    assert "op.one" not in by_user
    assert by_user["op.two"]["state"] == "EXPIRED" and by_user["op.two"]["validUntil"] is not None
    assert (by_user["op.sm2"]["state"], by_user["op.sm2"]["document"]["code"]) == ("FAILED", "SOP-EX-MIX")
    assert by_user["op.new"]["state"] == "MISSING"
    assert {g["role"] for g in gaps} == {"operator"}
    everyone = (await qa('{ trainingGaps { username role document { code } } }'))["data"]["trainingGaps"]
    assert {"username": "qc.sig", "role": "qc_analyst", "document": {"code": "MTH-QC-101"}} in everyone
    listed = await qa('{ trainingRecords(username: "op.two") { documentCode documentVersion assessment } }')
    assert listed["data"]["trainingRecords"] == [{"documentCode": "SOP-EX-MIX", "documentVersion": 1,
                                                  "assessment": "PASSED"}]
    op = await w.gql.sign_in("op.one")
    assert _code(await op('{ trainingGaps { username } }')) == "FORBIDDEN"
