"""OOS, out-of-trend and CAPA (QC-01, QC-25..QC-27): a failing result opens an OOS record at once with what it
was measured on and against; its investigation moves in signed steps by the right people and in order; a
trending series raises an out-of-trend alert (and an alarm) naming its rule, a stable one does not; CAPA with
owners, due dates and an effectiveness check; everything linked to an OOS is one query away."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from records import trend
from records.alarms import Alarm
from records.audit import AuditContext, AuditEvent
from records.capa import Capa
from records.document import ControlledDocument
from records.oos import OosRecord, OotAlert, open_oos
from records.plant import Room, Sensor
from records.plasma import Batch, Sample
from records.readings import SensorReading
from records.reagent import ReagentLot, ReagentMovement
from records.sample_life import SampleEvent
from records.signature import ESignature
from tests.test_specifications import ALBUMIN, _approve, _code, _create

OOS_FIELDS = ("id number status subjectKind subjectCode stage sampleCode batchNumber item value limits reason "
              "specificationCode specificationVersion analyst instrument method testedAt source phase1By "
              "phase1Findings phase2By phase2Findings conclusion assignableCause closedBy closedAt")
RECORD = """mutation($input: RecordTestResultInput!, $sig: SignatureInput!) {
  recordTestResult(input: $input, signature: $sig) { id results { id item verdict current } } }"""
CORRECT = """mutation($input: CorrectTestResultInput!, $sig: SignatureInput!) {
  correctTestResult(input: $input, signature: $sig) { id results { id verdict current } } }"""
LIST = f"query($b: String) {{ oosRecords(batchNumber: $b) {{ {OOS_FIELDS} }} }}"
CAPA_FIELDS = ("number kind action owner dueDate status oosNumber deviationNumber createdBy doneBy doneNote "
               "effectiveness checkedBy checkedAt checkNote overdue")


def _mutation(name: str, input_type: str, fields: str) -> str:
    return f"""mutation($input: {input_type}!, $sig: SignatureInput!) {{
  {name}(input: $input, signature: $sig) {{ {fields} }} }}"""


START = _mutation("startOosInvestigation", "OosStepInput", OOS_FIELDS)
ESCALATE = _mutation("escalateOos", "EscalateOosInput", OOS_FIELDS)
CLOSE = _mutation("closeOos", "CloseOosInput", OOS_FIELDS)
CREATE_CAPA = _mutation("createCapa", "CreateCapaInput", CAPA_FIELDS)
COMPLETE_CAPA = _mutation("completeCapa", "CompleteCapaInput", CAPA_FIELDS)
CHECK_CAPA = _mutation("checkCapaEffectiveness", "CheckCapaInput", CAPA_FIELDS)


async def _setup(env: Any, *batches: str) -> Any:
    gql, signers, db = env
    assert "errors" not in await _create(gql, signers, copy.deepcopy(ALBUMIN))
    assert "errors" not in await _approve(gql, signers, 1)
    async with db.write(AuditContext("system", reason="test batches")) as s:
        for b in batches or ("B-OOS-1", "B-OOS-2"):
            s.add(Batch(batch_number=b, product="Human Albumin 20%", status="IN_PROGRESS"))
    return gql, signers, db


async def _send(gql: Any, signers: Any, user: str, doc: str, op: str, inp: dict[str, Any],
                meaning: str = "PERFORMED") -> Any:
    me = await gql.sign_in(user)
    return await me(doc, {"input": inp, "sig": signers.sign(user, op, inp, meaning)})


def _entry(batch: str, item: str, value: str, **more: Any) -> dict[str, Any]:
    return {"batchNumber": batch, "stage": "FINAL", "subjectCode": "ALB-20", "item": item, "value": value} | more


async def _record(gql: Any, signers: Any, inp: dict[str, Any], user: str = "qc.sig") -> Any:
    body = await _send(gql, signers, user, RECORD, "recordTestResult", inp)
    assert "errors" not in body, body
    return body["data"]["recordTestResult"]


async def _oos_list(gql: Any, batch: str | None = None, user: str = "qa.sig") -> list[dict[str, Any]]:
    me = await gql.sign_in(user)
    body = await me(LIST, {"b": batch})
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["oosRecords"]
    return found


@pytest.mark.req("QC-25")
async def test_a_failing_result_opens_an_oos_with_its_fields_and_a_passing_one_does_not(env: Any) -> None:
    gql, signers, db = await _setup(env)
    # PASS and ACTION (inside the specification, beyond an action limit) open nothing.
    first = await _record(gql, signers, _entry("B-OOS-1", "pH", "7.2"))
    await _record(gql, signers, _entry("B-OOS-1", "Protein", "205.5"))
    assert await _oos_list(gql) == []

    rec = await _record(gql, signers, _entry("B-OOS-2", "pH", "7.86", entryMethod="INSTRUMENT", instrumentId="EQ-1"))
    line = rec["results"][0]
    assert line["verdict"] == "FAIL"
    [oos] = await _oos_list(gql)
    assert {k: oos[k] for k in ("status", "subjectKind", "subjectCode", "stage", "batchNumber", "item", "value",
                                "limits", "specificationCode", "specificationVersion", "analyst", "instrument",
                                "method", "source")} == {
        "status": "OPEN", "subjectKind": "PRODUCT", "subjectCode": "ALB-20", "stage": "FINAL",
        "batchNumber": "B-OOS-2", "item": "pH", "value": "7.9", "limits": "≥ 6.4 and ≤ 7.4 pH",
        "specificationCode": "SPEC-ALB20", "specificationVersion": 1, "analyst": "qc.sig", "instrument": "EQ-1",
        "method": "ChP 2020 0631", "source": f"test_result:{line['id']}"}
    assert oos["number"].startswith("OOS-") and "outside the specification" in oos["reason"]
    assert await _oos_list(gql, "B-OOS-1") == [] and len(await _oos_list(gql, "B-OOS-2")) == 1

    # Opened in the analyst's signed transaction: audited under the result's reason, by the analyst.
    async with db.read() as s:
        created = (await s.execute(select(AuditEvent).where(AuditEvent.entity == "oos_record",
                                                             AuditEvent.action == "CREATE"))).scalar_one()
    assert (created.actor, created.reason) == ("qc.sig", "result of pH for batch B-OOS-2")

    # A correction that fails opens an OOS of its own line; a signature that does not verify writes nothing.
    fixed = {"resultId": first["results"][0]["id"], "value": "7.5", "reason": "meter recalibrated, re-read"}
    body = await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fixed)
    new_line = next(r for r in body["data"]["correctTestResult"]["results"] if r["current"] and r["verdict"] == "FAIL")
    assert {o["source"] for o in await _oos_list(gql, "B-OOS-1")} == {f"test_result:{new_line['id']}"}
    me = await gql.sign_in("qc.sig")
    forged = signers.sign("qc.sig", "recordTestResult", _entry("B-OOS-2", "Protein", "150"))
    bad = await me(RECORD, {"input": _entry("B-OOS-2", "Protein", "180"), "sig": forged})
    assert _code(bad) == "SIGNATURE_INVALID"
    assert len(await _oos_list(gql)) == 2
    # Who may read: QC, QA and the QP; an operator may not.
    assert len(await _oos_list(gql, user="qp.sig")) == 2
    op = await gql.sign_in("op.one")
    assert _code(await op(LIST, {"b": None})) == "FORBIDDEN"


async def _failing(gql: Any, signers: Any, batch: str = "B-OOS-1") -> int:
    await _record(gql, signers, _entry(batch, "pH", "8.1"))
    return int((await _oos_list(gql, batch))[0]["id"])


@pytest.mark.req("QC-26")
async def test_oos_steps_are_signed_in_order_by_the_right_people(env: Any) -> None:
    gql, signers, db = await _setup(env)
    oos_id = await _failing(gql, signers)
    step = {"oosId": oos_id}
    findings = {"oosId": oos_id, "findings": "no calculation, instrument or sample preparation error"}
    confirm = {"oosId": oos_id, "conclusion": "CONFIRMED", "findings": "process step 4 ran hot"}

    # Out of order: neither escalated nor closed before the laboratory investigation starts.
    assert _code(await _send(gql, signers, "qcr.sig", ESCALATE, "escalateOos", findings)) == "CONFLICT"
    assert _code(await _send(gql, signers, "qa.sig", CLOSE, "closeOos", confirm, "APPROVED")) == "CONFLICT"
    started = (await _send(gql, signers, "qc.sig", START, "startOosInvestigation", step))["data"]
    assert (started["startOosInvestigation"]["status"], started["startOosInvestigation"]["phase1By"]) == (
        "PHASE_1", "qc.sig")
    assert _code(await _send(gql, signers, "qc.sig", START, "startOosInvestigation", step)) == "CONFLICT"
    # From the laboratory phase only an invalidation (with its cause) closes it; a confirmation needs phase 2.
    assert _code(await _send(gql, signers, "qa.sig", CLOSE, "closeOos", confirm, "APPROVED")) == "CONFLICT"
    no_cause = confirm | {"conclusion": "INVALIDATED"}
    assert _code(await _send(gql, signers, "qa.sig", CLOSE, "closeOos", no_cause, "APPROVED")) == "VALIDATION_FAILED"
    # The right people: an analyst does not escalate (signing role), a QC reviewer does not close (permission).
    assert _code(await _send(gql, signers, "qc.sig", ESCALATE, "escalateOos", findings)) == "FORBIDDEN"
    assert _code(await _send(gql, signers, "qcr.sig", CLOSE, "closeOos", confirm, "APPROVED")) == "FORBIDDEN"
    escalated = (await _send(gql, signers, "qcr.sig", ESCALATE, "escalateOos", findings))["data"]["escalateOos"]
    assert (escalated["status"], escalated["phase1Findings"], escalated["phase2By"]) == (
        "PHASE_2", findings["findings"], "qcr.sig")
    closed = (await _send(gql, signers, "qa.sig", CLOSE, "closeOos", confirm, "APPROVED"))["data"]["closeOos"]
    assert (closed["status"], closed["conclusion"], closed["phase2Findings"], closed["closedBy"]) == (
        "CLOSED", "CONFIRMED", "process step 4 ran hot", "qa.sig")
    assert _code(await _send(gql, signers, "qa.sig", CLOSE, "closeOos", confirm, "APPROVED")) == "CONFLICT"

    # Separation of duties: whoever produced the result (here a QA officer's import) does not close its OOS.
    async with db.write(AuditContext("qa.two", reason="plate import")) as s:
        other = await open_oos(s, subject_kind="PLASMA_UNIT", subject_code="D-0001", batch_id=None, item="HBsAg",
                               value="reactive (S/CO 4.1)", limits="non-reactive", analyst="qa.two",
                               instrument="EQ-2", method="SOP-QC-101 ELISA", source="instrument_run:1/B7")
        again = await open_oos(s, subject_kind="PLASMA_UNIT", subject_code="D-0001", batch_id=None, item="HBsAg",
                               value="reactive", limits="non-reactive", analyst="qa.two", instrument="EQ-2",
                               method="SOP-QC-101 ELISA", source="instrument_run:1/B7")
        assert again.id == other.id  # one OOS per source
        other_id = other.id
    assert "errors" not in await _send(gql, signers, "qa.two", START, "startOosInvestigation", {"oosId": other_id})
    invalid = {"oosId": other_id, "conclusion": "INVALIDATED", "findings": "well B7 was splashed from B6",
               "assignableCause": "pipetting error on the plate"}
    assert _code(await _send(gql, signers, "qa.two", CLOSE, "closeOos", invalid, "APPROVED")) == "SOD_VIOLATION"
    done = (await _send(gql, signers, "qa.sig", CLOSE, "closeOos", invalid, "APPROVED"))["data"]["closeOos"]
    assert (done["conclusion"], done["assignableCause"], done["phase1Findings"]) == (
        "INVALIDATED", "pipetting error on the plate", "well B7 was splashed from B6")

    async with db.read() as s:
        signed = list((await s.execute(select(ESignature.signer, ESignature.meaning).where(
            ESignature.entity == "oos_record", ESignature.entity_id == str(oos_id)).order_by(ESignature.id))).all())
        actions = list((await s.execute(select(AuditEvent.action))).scalars())
    assert signed == [("qc.sig", "PERFORMED"), ("qcr.sig", "PERFORMED"), ("qa.sig", "APPROVED")]
    assert actions.count("SOD_VIOLATION") == 1 and actions.count("WRITE_REFUSED") >= 6


def test_nelson_rules_by_themselves() -> None:
    stable = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.2, 9.8, 10.1, 9.9]
    assert all(v == [] for v in trend.evaluate(stable).violations)
    assert trend.evaluate([*stable, 14.0]).violations[-1] == [trend.Rule.NELSON_1]
    two_of_three = trend.evaluate([*stable, 10.4, 10.0, 10.4])
    assert two_of_three.violations[-3:] == [[], [], [trend.Rule.NELSON_5]]  # the first beyond 2 sigma is not
    rising = trend.evaluate([1, 2, 3, 4, 5, 6, 7, 8])
    assert rising.violations[-1] == [trend.Rule.NELSON_3] and rising.violations[6] == []  # judged from point 8
    above = trend.evaluate([*stable, 10.1, 10.05, 10.1, 10.05, 10.1, 10.05, 10.1, 10.05, 10.1])
    assert trend.Rule.NELSON_2 in above.violations[-1]


@pytest.mark.req("QC-01")
async def test_a_trending_series_raises_an_out_of_trend_alert_naming_its_rule_and_a_stable_one_does_not(
        env: Any) -> None:
    batches = [f"T-{i}" for i in range(1, 9)]
    gql, signers, db = await _setup(env, *batches)
    stable = ["7.0", "7.1", "6.9", "7.0", "7.1", "6.9", "7.0", "7.1"]
    for n, (b, ph) in enumerate(zip(batches, stable, strict=True)):
        await _record(gql, signers, _entry(b, "Protein", str(196 + n)))  # 196 .. 203: six and more rising
        await _record(gql, signers, _entry(b, "pH", ph))
    qa = await gql.sign_in("qa.sig")
    got = await qa("""{ ootAlerts { specificationCode item batchNumber value rules rulesVersion points alarmId } }""")
    [alert] = got["data"]["ootAlerts"]
    assert {k: alert[k] for k in ("specificationCode", "item", "batchNumber", "value", "rules", "points")} == {
        "specificationCode": "SPEC-ALB20", "item": "Protein", "batchNumber": "T-8", "value": "203",
        "rules": ["NELSON_3"], "points": 8}
    assert alert["rulesVersion"] == trend.RULES_VERSION
    async with db.read() as s:
        alarm = await s.get_one(Alarm, alert["alarmId"])
        oot_events = list((await s.execute(select(AuditEvent.actor).where(AuditEvent.entity == "oot_alert")))
                          .scalars())
    assert (alarm.source, alarm.condition, alarm.batch_number) == ("PROCESS", "OUT_OF_TREND", "T-8")
    assert "Nelson rule 3" in alarm.message and oot_events == ["qc.sig"]

    chart = """query($item: String!) { controlChart(specificationCode: "SPEC-ALB20", item: $item, last: 25) {
      item unit mean sigma plus3 minus3 specLow specHigh rulesVersion points { batchNumber value reported time rules }
    } }"""
    protein = (await qa(chart, {"item": "protein"}))["data"]["controlChart"]
    assert (protein["item"], protein["unit"], protein["specLow"], protein["specHigh"]) == ("Protein", "g/L", "190",
                                                                                          "210")
    assert protein["mean"] == pytest.approx(199.0) and protein["plus3"] == pytest.approx(199 + 3 * protein["sigma"])
    assert [p["batchNumber"] for p in protein["points"]] == batches
    assert [p["rules"] for p in protein["points"]] == [[]] * 7 + [["NELSON_3"]]
    ph = (await qa(chart, {"item": "pH"}))["data"]["controlChart"]
    assert [p["rules"] for p in ph["points"]] == [[]] * 8
    assert _code(await qa(chart, {"item": "Albumin"})) == "VALIDATION_FAILED"
    # QC-01: the specification, the test records, the OOS and the OOT records all lead to the batch.
    await _record(gql, signers, _entry("T-8", "Bacterial endotoxins", "0.5"))
    tests = await qa('{ batchTests(batchNumber: "T-8") { specificationCode results { item verdict } } }')
    assert tests["data"]["batchTests"][0]["specificationCode"] == "SPEC-ALB20"
    assert [o["item"] for o in await _oos_list(gql, "T-8")] == ["Bacterial endotoxins"]


@pytest.mark.req("QC-26")
async def test_capa_with_owner_due_date_and_effectiveness_check(env: Any) -> None:
    gql, signers, db = await _setup(env)
    oos_id = await _failing(gql, signers)
    due = (date.today() + timedelta(days=14)).isoformat()
    capa = {"kind": "CORRECTIVE", "action": "Requalify the pH meter and retrain on SOP-QC-031", "owner": "qc.sig",
            "dueDate": due, "oosId": oos_id}
    assert _code(await _send(gql, signers, "qc.sig", CREATE_CAPA, "createCapa", capa)) == "FORBIDDEN"
    for bad in (capa | {"deviationNumber": "DEV-1"}, capa | {"dueDate": "2020-01-01"}, capa | {"owner": "nobody"}):
        assert _code(await _send(gql, signers, "qa.sig", CREATE_CAPA, "createCapa", bad)) == "VALIDATION_FAILED"
    made = (await _send(gql, signers, "qa.sig", CREATE_CAPA, "createCapa", capa))["data"]["createCapa"]
    assert (made["status"], made["owner"], made["dueDate"], made["oosNumber"], made["overdue"]) == (
        "OPEN", "qc.sig", due, (await _oos_list(gql))[0]["number"], False)

    done = {"number": made["number"], "note": "meter requalified, certificate attached; 3 analysts retrained"}
    assert _code(await _send(gql, signers, "qcr.sig", COMPLETE_CAPA, "completeCapa", done)) == "FORBIDDEN"  # not owner
    check = {"number": made["number"], "result": "EFFECTIVE", "note": "no pH OOS in the next 20 batches"}
    assert _code(await _send(gql, signers, "qa.sig", CHECK_CAPA, "checkCapaEffectiveness", check,
                             "APPROVED")) == "CONFLICT"  # not done yet
    got = (await _send(gql, signers, "qc.sig", COMPLETE_CAPA, "completeCapa", done))["data"]["completeCapa"]
    assert (got["status"], got["doneBy"]) == ("DONE", "qc.sig")
    assert _code(await _send(gql, signers, "qc.sig", CHECK_CAPA, "checkCapaEffectiveness", check,
                             "APPROVED")) == "FORBIDDEN"
    weak = check | {"result": "NOT_EFFECTIVE", "note": "a second pH OOS on the same meter"}
    back = (await _send(gql, signers, "qa.sig", CHECK_CAPA, "checkCapaEffectiveness", weak, "APPROVED"))
    assert back["data"]["checkCapaEffectiveness"]["status"] == "OPEN"
    assert "errors" not in await _send(gql, signers, "qc.sig", COMPLETE_CAPA, "completeCapa", done)
    closed = (await _send(gql, signers, "qa.sig", CHECK_CAPA, "checkCapaEffectiveness", check, "APPROVED"))
    closed = closed["data"]["checkCapaEffectiveness"]
    assert (closed["status"], closed["effectiveness"], closed["checkedBy"], closed["checkNote"]) == (
        "CLOSED", "EFFECTIVE", "qa.sig", check["note"]) and closed["checkedAt"]

    # The owner does not check their own CAPA; a deviation's CAPA past its due date is listed as overdue.
    me = await gql.sign_in("qa.two")
    dev = await me("""mutation($input: RaiseDeviationInput!, $sig: SignatureInput!) {
      raiseDeviation(input: $input, signature: $sig) { number } }""", {
        "input": (d := {"title": "Cold room door", "description": "left open 20 min"}),
        "sig": signers.sign("qa.two", "raiseDeviation", d)})
    number = dev["data"]["raiseDeviation"]["number"]
    own = {"kind": "PREVENTIVE", "action": "Door alarm at 2 min", "owner": "qa.two", "dueDate": due,
           "deviationNumber": number}
    mine = (await _send(gql, signers, "qa.sig", CREATE_CAPA, "createCapa", own))["data"]["createCapa"]
    assert mine["deviationNumber"] == number
    assert "errors" not in await _send(gql, signers, "qa.two", COMPLETE_CAPA, "completeCapa",
                                       {"number": mine["number"], "note": "alarm set"})
    assert _code(await _send(gql, signers, "qa.two", CHECK_CAPA, "checkCapaEffectiveness",
                             check | {"number": mine["number"]}, "APPROVED")) == "SOD_VIOLATION"
    late = (await _send(gql, signers, "qa.sig", CREATE_CAPA, "createCapa", own | {"action": "Retrain"}))
    async with db.write(AuditContext("system", reason="test: time passes")) as s:
        await s.execute(update(Capa).where(Capa.number == late["data"]["createCapa"]["number"])
                        .values(due_date=date.today() - timedelta(days=3)))
    qa = await gql.sign_in("qa.sig")
    overdue = (await qa(f"{{ capas(overdueOnly: true) {{ {CAPA_FIELDS} }} }}"))["data"]["capas"]
    assert [(c["number"], c["overdue"]) for c in overdue] == [(late["data"]["createCapa"]["number"], True)]
    assert len((await qa("{ capas { number } }"))["data"]["capas"]) == 3
    async with db.read() as s:
        meanings = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "capa")
                                         .order_by(ESignature.id))).scalars())
    assert meanings[:5] == ["PERFORMED", "PERFORMED", "APPROVED", "PERFORMED", "APPROVED"]


@pytest.mark.req("QC-27")
async def test_the_investigation_pulls_batch_sample_analyst_instrument_method_reagents_and_environment(
        env: Any) -> None:
    gql, signers, db = await _setup(env)
    now = datetime.now(UTC)
    async with db.write(AuditContext("system", reason="test lab")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        sensor = Sensor(tag="R1-TT-01", name="Lab temperature", kind="temperature", unit="°C", room_id=room.id,
                        low_limit=18.0, high_limit=26.0)
        s.add(sensor)
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "B-OOS-1"))).scalar_one()
        s.add(Sample(code="S-OOS-1", kind="RELEASE", batch_id=batch.id, taken_at=now - timedelta(hours=2),
                     taken_by="qc.sig", storage_location="QC-FRIDGE-1"))
        await s.flush()
        s.add_all([SensorReading(sensor_id=sensor.id, source_time=now + timedelta(minutes=m), received_at=now,
                                 value=21.0 + m / 100, quality="GOOD") for m in (-30, -10, 10)])
        s.add(SensorReading(sensor_id=sensor.id, source_time=now - timedelta(hours=3), received_at=now, value=30.0,
                            quality="GOOD"))  # long before: not part of the test's environment
    rec = await _record(gql, signers, _entry("B-OOS-1", "pH", "8.0", entryMethod="INSTRUMENT", instrumentId="EQ-1"))
    result_id = rec["results"][0]["id"]
    async with db.write(AuditContext("qc.sig", reason="test: the sample the result used")) as s:
        sample = (await s.execute(select(Sample.id).where(Sample.code == "S-OOS-1"))).scalar_one()
        s.add(SampleEvent(sample_id=sample, kind="TESTED", at=now, by="qc.sig", test_result_id=result_id))
    async with db.write(AuditContext("system", reason="test: the reagent lot the result used")) as s:
        lot = ReagentLot(code="RG-1", kind="REAGENT", name="pH buffer 7.00", lot_number="L-77", supplier="Acme",
                         quantity=1.0, issued=0.0, unit="bottle", location="R1", conditions="15-25 °C",
                         expires_on=date.today() + timedelta(days=90), status="RELEASED", received_at=now,
                         received_by="qc.sig")
        s.add(lot)
        await s.flush()
        s.add(ReagentMovement(lot_id=lot.id, kind="USE", balance=1.0, at=now, by="qc.sig", used_for="test_result",
                              used_for_id=str(result_id)))
    oos_id = (await _oos_list(gql, "B-OOS-1"))[0]["id"]
    qa = await gql.sign_in("qa.sig")
    body = await qa("""query($id: Int!) { oos(id: $id) {
      oos { number analyst instrument method specificationCode specificationVersion item value limits testedAt }
      batch { batchNumber product status } samples { code kind takenBy storageLocation } testedSamples
      testRecordId testRecordReviewedBy rawValue rounding reagents { code name lotNumber expiresOn }
      roomCode environment { tag unit lowLimit highLimit points { time value } }
      methodDocument ootAlerts { rules } capas { number }
    } }""", {"id": oos_id})
    assert "errors" not in body, body
    inv = body["data"]["oos"]
    assert (inv["oos"]["analyst"], inv["oos"]["instrument"], inv["oos"]["method"], inv["oos"]["item"]) == (
        "qc.sig", "EQ-1", "ChP 2020 0631", "pH")
    assert (inv["oos"]["specificationCode"], inv["oos"]["specificationVersion"]) == ("SPEC-ALB20", 1)
    assert inv["batch"] == {"batchNumber": "B-OOS-1", "product": "Human Albumin 20%", "status": "IN_PROGRESS"}
    assert inv["samples"] == [{"code": "S-OOS-1", "kind": "RELEASE", "takenBy": "qc.sig",
                               "storageLocation": "QC-FRIDGE-1"}]
    assert inv["testedSamples"] == ["S-OOS-1"]
    assert (inv["testRecordId"], inv["rawValue"], inv["rounding"]) == (rec["id"], "8.0", "GB/T 8170-2008 DECIMALS 1")
    assert inv["roomCode"] == "R1"
    [env_series] = inv["environment"]
    assert (env_series["tag"], env_series["unit"], env_series["lowLimit"], env_series["highLimit"]) == (
        "R1-TT-01", "°C", 18.0, 26.0)
    assert [p["value"] for p in env_series["points"]] == [20.7, 20.9, 21.1]
    assert inv["reagents"] == [{"code": "RG-1", "name": "pH buffer 7.00", "lotNumber": "L-77",
                                "expiresOn": (date.today() + timedelta(days=90)).isoformat()}]
    assert inv["ootAlerts"] == [] and inv["capas"] == []
    assert inv["methodDocument"] is None  # "ChP 2020 0631" names no controlled document

    # A method that names a controlled document: the version in force when the test was done.
    async with db.write(AuditContext("system", reason="test: the ELISA SOP's versions")) as s:
        for version, superseded in ((1, now - timedelta(days=1)), (2, None), (3, None)):
            s.add(ControlledDocument(code="SOP-QC-101", version=version, title="HBsAg ELISA", category="SOP",
                                     status="SUPERSEDED" if superseded else "EFFECTIVE" if version == 2 else "APPROVED",
                                     change_note="v", body="x", content_sha256="0" * 64, roles=["qc_analyst"],
                                     effective_date=date.today() - timedelta(days=10), drafted_by="qa.two",
                                     drafted_at=now, made_effective_by="qa.sig" if version < 3 else None,
                                     superseded_at=superseded))
    await _record(gql, signers, _entry("B-OOS-1", "HBsAg", "reactive"))
    elisa = next(o for o in await _oos_list(gql, "B-OOS-1") if o["item"] == "HBsAg")
    assert (elisa["value"], elisa["limits"], elisa["method"]) == ("reactive", "reads 'negative'", "SOP-QC-101 ELISA")
    got = await qa("query($id: Int!) { oos(id: $id) { methodDocument } }", {"id": elisa["id"]})
    assert got["data"]["oos"]["methodDocument"] == "SOP-QC-101 v2"
    assert (await qa("query { oos(id: 999) { oos { id } } }"))["data"]["oos"] is None
    op = await gql.sign_in("op.one")
    assert _code(await op("query($id: Int!) { oos(id: $id) { oos { id } } }", {"id": oos_id})) == "FORBIDDEN"
    async with db.read() as s:
        assert (await s.execute(select(OosRecord.test_result_id).order_by(OosRecord.id))).scalars().first() == result_id
        assert (await s.execute(select(OotAlert))).first() is None
