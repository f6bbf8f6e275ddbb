"""Test samples through their life (Appendix B.10-B.15): taken with a complete label (plasma: tube against
bag, bag intact), received in the lab, stored and watched by the cold room's sensor, used in a test with
its analyst and reviewer, the leftover disposed of; retained samples kept and reminded of; each step signed,
audited, and refused out of order with nothing written."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select, update

from demo.seed import seed_stations
from records.audit import AuditContext, AuditEvent
from records.plant import Area, Room, Sensor
from records.plasma import Batch, Donor, PlasmaShipment, PlasmaStation, PlasmaUnit, Pool, Sample, batch_pool
from records.readings import SensorReading
from records.sample_life import SampleEvent
from records.signature import ESignature
from resolvers.appendix_b import DATASETS
from tests.test_qc_records import _setup

SAMPLE_FIELDS = ("code kind status name sourceCode batchNumber donationNumber poolCode takenAt takenBy quantity unit "
                 "sampledFrom tubeCode bagIntact storageLocation conditions temperatureLow temperatureHigh remaining "
                 "expiryDate retainUntil retentionBasis history { kind at by quantity unit location conditions method "
                 "reason test { testRecordId batchNumber item reported verdict reviewedBy } } "
                 "storage { roomCode sensorTag excursions conforming reasons }")
RECORD = """mutation($input: RecordSampleInput!, $sig: SignatureInput!){ recordSample(input:$input, signature:$sig){
  code kind sourceCode label { lines { label value } } } }"""
STEP = {op: f"""mutation($input: {op[0].upper() + op[1:]}Input!, $sig: SignatureInput!){{ {op}(input:$input,
  signature:$sig){{ {SAMPLE_FIELDS} }} }}""" for op in ("receiveSample", "storeSample", "disposeSample",
                                                       "destroySample")}
TEST = """mutation($input: RecordTestResultInput!, $sig: SignatureInput!){ recordTestResult(input:$input,
  signature:$sig){ id results { id item } } }"""
REVIEW = """mutation($input: ReviewTestRecordInput!, $sig: SignatureInput!){ reviewTestRecord(input:$input,
  signature:$sig){ id status } }"""
ONE = f"query($c: String!) {{ sample(code: $c) {{ {SAMPLE_FIELDS} }} }}"
MANY = f"""query($d: String, $p: String, $b: String, $k: SampleKind) {{ samples(donationNumber: $d, poolCode: $p,
  batchNumber: $b, kind: $k) {{ {SAMPLE_FIELDS} }} }}"""
LABEL = "query($c: String!) { sampleLabel(code: $c) { lines { label value } code128Svg qrSvg } }"
DUE = f"query($n: Int!) {{ retainedSamplesDue(withinDays: $n) {{ daysLeft sample {{ {SAMPLE_FIELDS} }} }} }}"
EXPORT = """query($d: String!, $b: String) { exportDataset(dataset: $d, filter: {batchNumber: $b}, format: JSON) {
  count data } }"""


FORMAT = {"date": re.compile(r"^\d{8}$"), "datetime": re.compile(r"^\d{8}T\d{6}$")}


async def _exported(gql: Any, dataset: str, batch: str) -> list[dict[str, Any]]:
    """An Appendix B dataset of a batch, each row checked: every field present, in order, each value in its type."""
    rows: list[dict[str, Any]] = json.loads((await _query(gql, EXPORT, d=dataset, b=batch))["exportDataset"]["data"])
    fields = DATASETS[dataset].fields
    for r in rows:
        assert list(r) == [f.short for f in fields], r
        for f in fields:
            v = r[f.short]
            assert v == "" or (FORMAT[f.type].fullmatch(v) if f.type in FORMAT else isinstance(
                v, float if f.type == "float" else str)), (f.short, v)
    return rows


async def _send(gql: Any, signers: Any, user: str, doc: str, op: str, inp: dict[str, Any],
                meaning: str = "PERFORMED") -> Any:
    me = await gql.sign_in(user)
    return await me(doc, {"input": inp, "sig": signers.sign(user, op, inp, meaning)})


async def _step(gql: Any, signers: Any, op: str, inp: dict[str, Any], user: str = "qc.sig") -> Any:
    return await _send(gql, signers, user, STEP[op], op, inp)


def _code(body: Any) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["extensions"]["code"])


async def _query(gql: Any, doc: str, user: str = "qa.one", **variables: Any) -> Any:
    body = await (await gql.sign_in(user))(doc, variables)
    assert "errors" not in body, body
    return body["data"]


async def _count(db: Any, what: Any, *where: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(what).where(*where))).scalar_one())


async def _actions(db: Any, entity: str | None = None) -> list[str]:
    q = select(AuditEvent.action).order_by(AuditEvent.id)
    async with db.read() as s:
        return list((await s.execute(q.where(AuditEvent.entity == entity) if entity else q)).scalars())


@pytest_asyncio.fixture
async def lab(env: Any) -> Any:
    """Specifications and batches B-QC-1/2 (tests/test_qc_records.py), plasma units with their donors, a
    consignment, and a monitored 2-8 °C sample fridge room QF1."""
    gql, signers, db = await _setup(env)
    await seed_stations(db)
    async with db.write(AuditContext("system", reason="test sample data")) as s:
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        named = Donor(card_number="SL-1", station_id=st.id, name="Donor One", blood_type="A", status="ACTIVE")
        blank = Donor(card_number="SL-2", station_id=st.id, name=" ", blood_type="B", status="ACTIVE")
        shipment = PlasmaShipment(code="SH-SL-1", station_id=st.id, submitted_by="st.one",
                                  submitted_at=datetime.now(UTC), status="RECEIVED")
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        room = Room(area_id=area.id, code="QF1", name="QC sample fridges", grade="CNC",
                    polygon=[[0, 0], [1, 1], [0, 1]])
        s.add_all([named, blank, shipment, room])
        await s.flush()
        s.add(Sensor(tag="QF1-TT-101", name="Air", kind="temperature", unit="°C", room_id=room.id, high_limit=8.0,
                     low_limit=2.0))
        for number, donor, ship in (("SL-U1", named, shipment.id), ("SL-U2", blank, None)):
            s.add(PlasmaUnit(donation_number=number, donor_id=donor.id, station_id=st.id, blood_type=donor.blood_type,
                             collected_on=date(2026, 11, 20), weight_g=620, status="QUARANTINED", shipment_id=ship))
    return gql, signers, db


@pytest.mark.req("QC-02", "QC-18", "QC-19", "QC-20", "PR-27")
async def test_a_sample_from_sampling_to_disposal(lab: Any) -> None:
    gql, signers, db = lab
    release = {"sourceCode": "B-QC-1", "kind": "RELEASE", "quantity": 20, "unit": "mL", "pieces": 2,
               "conditions": "2-8 °C"}
    assert _code(await _send(gql, signers, "qc.sig", RECORD, "recordSample", release)) == "VALIDATION_FAILED"
    release["sampledFrom"] = "Final bulk, tank T-3 after sterile filtration"
    taken = (await _send(gql, signers, "qc.sig", RECORD, "recordSample", release))["data"]["recordSample"]
    code = taken["code"]
    assert {"label": "Batch number", "value": "B-QC-1"} in taken["label"]["lines"]
    assert {"label": "Taken at", "value": release["sampledFrom"]} in taken["label"]["lines"]

    # Out of order, by the wrong role, or with bad input: refused, nothing written.
    store = {"code": code, "location": "QF1-R01-P03", "conditions": "2-8 °C, protected from light",
             "temperatureLow": 2.0, "temperatureHigh": 8.0}
    dispose = {"code": code, "method": "Autoclaved, then clinical waste", "site": "QC waste room",
               "reason": "testing complete", "quantity": 15}
    assert _code(await _step(gql, signers, "storeSample", store)) == "CONFLICT"
    assert _code(await _step(gql, signers, "disposeSample", dispose)) == "CONFLICT"
    receive = {"code": code, "quantity": 20, "unit": "mL", "condition": "sealed, cold packs intact, 5 °C"}
    assert _code(await _step(gql, signers, "receiveSample", receive, user="op.one")) == "FORBIDDEN"
    assert _code(await _step(gql, signers, "receiveSample", receive | {"quantity": -1})) == "VALIDATION_FAILED"
    assert _code(await _step(gql, signers, "receiveSample", receive | {"code": "SP-NONE"})) == "NOT_FOUND"
    assert await _count(db, SampleEvent) == 1 and await _count(db, ESignature, ESignature.entity == "sample") == 1

    got = (await _step(gql, signers, "receiveSample", receive))["data"]["receiveSample"]
    assert (got["status"], got["history"][-1]["kind"], got["history"][-1]["by"]) == ("RECEIVED", "RECEIVED", "qc.sig")
    assert _code(await _step(gql, signers, "receiveSample", receive)) == "CONFLICT"
    stored = (await _step(gql, signers, "storeSample", store))["data"]["storeSample"]
    assert (stored["status"], stored["storageLocation"], stored["storage"]["sensorTag"]) == (
        "STORED", "QF1-R01-P03", "QF1-TT-101")

    # B.13: a test names the sample; the sample shows the test with its analyst and, once reviewed, reviewer.
    entry = {"batchNumber": "B-QC-1", "stage": "FINAL", "subjectCode": "ALB-20", "item": "pH", "value": "7.0",
             "sampleCode": code, "sampleAmount": 5}
    assert _code(await _send(gql, signers, "qc.sig", TEST, "recordTestResult",
                             entry | {"batchNumber": "B-QC-2"})) == "CONFLICT"  # not a sample of that batch
    record = (await _send(gql, signers, "qc.sig", TEST, "recordTestResult", entry))["data"]["recordTestResult"]
    reviewed = await _send(gql, signers, "qcr.sig", REVIEW, "reviewTestRecord",
                           {"recordId": record["id"], "comment": "checked"}, "REVIEWED")
    assert "errors" not in reviewed, reviewed
    seen = (await _query(gql, ONE, c=code))["sample"]
    tested = seen["history"][-1]
    assert (tested["kind"], tested["by"], tested["quantity"], seen["remaining"]) == ("TESTED", "qc.sig", 5.0, 15.0)
    assert tested["test"] == {"testRecordId": record["id"], "batchNumber": "B-QC-1", "item": "pH", "reported": "7.0",
                              "verdict": "PASS", "reviewedBy": "qcr.sig"}

    assert _code(await _step(gql, signers, "disposeSample", dispose, user="qcr.sig")) == "FORBIDDEN"
    gone = (await _step(gql, signers, "disposeSample", dispose))["data"]["disposeSample"]
    assert gone["status"] == "DISPOSED" and gone["history"][-1] == {
        "kind": "DISPOSED", "at": gone["history"][-1]["at"], "by": "qc.sig", "quantity": 15.0, "unit": "mL",
        "location": "QC waste room", "conditions": None, "method": "Autoclaved, then clinical waste",
        "reason": "testing complete", "test": None}
    for op, inp in (("disposeSample", dispose), ("receiveSample", receive), ("storeSample", store)):
        assert _code(await _step(gql, signers, op, inp)) == "CONFLICT", op
    assert _code(await _send(gql, signers, "qc.sig", TEST, "recordTestResult", entry | {"item": "Protein",
                                                                                          "value": "20"})) == "CONFLICT"

    # The whole history, in order, with who and when; each step signed PERFORMED and audited.
    history = (await _query(gql, ONE, c=code))["sample"]["history"]
    assert [h["kind"] for h in history] == ["TAKEN", "RECEIVED", "STORED", "TESTED", "DISPOSED"]
    assert [h["at"] for h in history] == sorted(h["at"] for h in history) and {h["by"] for h in history} == {"qc.sig"}
    assert history[0]["location"] == release["sampledFrom"]
    async with db.read() as s:
        sigs = (await s.execute(select(ESignature.operation, ESignature.meaning, ESignature.signer).where(
            ESignature.entity == "sample").order_by(ESignature.id))).all()
    assert [tuple(x) for x in sigs] == [(op, "PERFORMED", "qc.sig") for op in (
        "recordSample", "receiveSample", "storeSample", "disposeSample")]
    assert await _actions(db, "sample_event") == ["CREATE"] * 5
    assert (await _actions(db)).count("WRITE_REFUSED") == 11  # every refusal above but the two FORBIDDEN

    # PR-27: the batch's lot-release samples with their sampling time and step or location.
    listed = (await _query(gql, MANY, b="B-QC-1", k="RELEASE"))["samples"]
    assert [(x["code"], x["sampledFrom"], x["takenBy"]) for x in listed] == [(code, release["sampledFrom"], "qc.sig")]
    assert listed[0]["takenAt"] and (await _query(gql, MANY, b="B-QC-2", k="RELEASE"))["samples"] == []

    # Appendix B.10-B.14 under their short names: each step of the sample a record with its fields.
    b10, b11, b12, b13, b14 = [await _exported(gql, f"B.1{i}", "B-QC-1") for i in range(5)]
    assert [(r["YPMC"], r["PH"], r["QYJS"], r["QYL"], r["QYR"], r["YPCCTJ"]) for r in b10] == [
        ("Human Albumin 20% release sample", "B-QC-1", "2", "20 mL", "qc.sig", "2-8 °C")]
    assert [(r["YPL"], r["JSR"]) for r in b11] == [("20 mL", "qc.sig")] and b11[0]["JSSJ"]
    assert [(r["CFDD"], r["HJTJ"]) for r in b12] == [("QF1-R01-P03", "2-8 °C, protected from light; 2 to 8 °C")]
    assert [(r["JYXM"], r["JYYL"], r["JYJG"], r["JYRY"], r["FHRY"]) for r in b13] == [
        ("pH", "5 mL", "7.0 (PASS)", "qc.sig", "qcr.sig")] and b13[0]["JYSJ"] and b13[0]["ZLBZ"]
    assert [(r["SYL"], r["XHL"], r["ZT"], r["CZRY"], r["CZDD"], r["CZFF"]) for r in b14] == [
        ("15 mL", "15 mL", "DISPOSED", "qc.sig", "QC waste room", "Autoclaved, then clinical waste")]
    assert b14[0]["CZSJ"] and await _exported(gql, "B.14", "B-QC-2") == []


@pytest.mark.req("QC-14", "QC-15", "QC-16")
async def test_a_plasma_sample_is_checked_against_its_bag_and_labelled_in_full(lab: Any) -> None:
    gql, signers, db = lab
    inp = {"sourceCode": "SL-U1", "kind": "RETEST", "quantity": 4, "unit": "mL", "tubeCode": "SL-U1",
           "bagIntact": True}
    assert _code(await _send(gql, signers, "qc.sig", RECORD, "recordSample",
                             {k: v for k, v in inp.items() if k != "tubeCode"})) == "VALIDATION_FAILED"
    assert _code(await _send(gql, signers, "qc.sig", RECORD, "recordSample",
                             {k: v for k, v in inp.items() if k != "bagIntact"})) == "VALIDATION_FAILED"
    assert _code(await _send(gql, signers, "qc.sig", RECORD, "recordSample", inp | {"tubeCode": "SL-U9"})) == "CONFLICT"
    assert _code(await _send(gql, signers, "qc.sig", RECORD, "recordSample", inp | {"bagIntact": False})) == "CONFLICT"
    assert await _count(db, Sample) == 0 and await _count(db, SampleEvent) == 0
    async with db.read() as s:
        refusals = (await s.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.changes).where(
            AuditEvent.action.in_(("TUBE_MISMATCH", "BAG_NOT_INTACT"))).order_by(AuditEvent.id))).all()
    assert [(a, e, c["tube"], c["bagIntact"], c["by"]) for a, e, c in refusals] == [
        ("TUBE_MISMATCH", "plasma_unit", "SL-U9", True, "qc.sig"),
        ("BAG_NOT_INTACT", "plasma_unit", "SL-U1", False, "qc.sig")]

    # QC-15: a label lacking a field is not printed: SL-U2 has no batch (no consignment, no pool) and no donor name.
    body = await _send(gql, signers, "qc.sig", RECORD, "recordSample", inp | {"sourceCode": "SL-U2",
                                                                              "tubeCode": "SL-U2"})
    assert _code(body) == "VALIDATION_FAILED"
    assert "batch number" in body["errors"][0]["message"] and "donor" in body["errors"][0]["message"]
    assert await _count(db, Sample) == 0

    taken = (await _send(gql, signers, "qc.sig", RECORD, "recordSample", inp))["data"]["recordSample"]
    lines = {x["label"]: x["value"] for x in taken["label"]["lines"]}
    assert lines["Sample name"] and lines["Batch number"] == "SH-SL-1" and lines["By"] == "qc.sig"
    assert lines["Taken"].endswith("UTC") and (lines["Donor"], lines["Collected"]) == ("Donor One", "2026-11-20")
    assert lines["Plasma station"]
    printed = (await _query(gql, LABEL, c=taken["code"]))["sampleLabel"]
    assert printed["lines"] == taken["label"]["lines"] and "<svg" in printed["qrSvg"]
    seen = (await _query(gql, ONE, c=taken["code"]))["sample"]
    assert (seen["tubeCode"], seen["bagIntact"], seen["donationNumber"]) == ("SL-U1", True, "SL-U1")
    async with db.write(AuditContext("system", reason="test: the donor's name is lost")) as s:
        await s.execute(update(Donor).where(Donor.card_number == "SL-1").values(name=""))
    refused = await (await gql.sign_in("qa.one"))(LABEL, {"c": taken["code"]})
    assert _code(refused) == "VALIDATION_FAILED" and "donor" in refused["errors"][0]["message"]

    # QC-14: found by donation, by pool and by the batch made from that pool, with its history.
    async with db.write(AuditContext("system", reason="test pool")) as s:
        pool = Pool(code="PL-SL-1", product="Human Albumin 20%", status="CLOSED")
        s.add(pool)
        await s.flush()
        await s.execute(update(PlasmaUnit).where(PlasmaUnit.donation_number == "SL-U1").values(pool_id=pool.id))
        batch = (await s.execute(select(Batch.id).where(Batch.batch_number == "B-QC-2"))).scalar_one()
        await s.execute(insert(batch_pool).values(batch_id=batch, pool_id=pool.id))
    for variables in ({"d": "SL-U1"}, {"p": "PL-SL-1"}, {"b": "B-QC-2"}):
        found = (await _query(gql, MANY, **variables))["samples"]
        assert [(x["code"], x["poolCode"], [h["kind"] for h in x["history"]]) for x in found] == [
            (taken["code"], "PL-SL-1", ["TAKEN"])], variables
    assert (await _query(gql, MANY, d="SL-U2"))["samples"] == []
    b10 = await _exported(gql, "B.10", "B-QC-2")
    assert [(r["PH"], r["XJZXM"], r["KH"], r["XX"], r["CXJRQ"], r["XJZL"], r["QYL"]) for r in b10] == [
        ("PL-SL-1", "", "SL-1", "A", "20261120", "620 g", "4 mL")] and b10[0]["DCXJZMC"]
    assert _code(await (await gql.sign_in("qa.one"))(MANY, {})) == "VALIDATION_FAILED"


@pytest.mark.req("QC-17")
async def test_a_stored_sample_shows_its_cold_room_excursions(lab: Any) -> None:
    gql, signers, db = lab
    inp = {"sourceCode": "B-QC-1", "kind": "IPC", "quantity": 10, "unit": "mL"}
    code = (await _send(gql, signers, "qc.sig", RECORD, "recordSample", inp))["data"]["recordSample"]["code"]
    await _step(gql, signers, "receiveSample", {"code": code, "quantity": 10, "unit": "mL", "condition": "sealed"})
    store = {"code": code, "location": "QF1-R02-P01", "conditions": "2-8 °C", "temperatureLow": 2.0,
             "temperatureHigh": 8.0}
    assert _code(await _step(gql, signers, "storeSample", store | {"temperatureLow": 9.0})) == "VALIDATION_FAILED"
    assert _code(await _step(gql, signers, "storeSample", store | {"equipmentCode": "EQ-NONE"})) == "NOT_FOUND"
    stored = (await _step(gql, signers, "storeSample", store))["data"]["storeSample"]
    assert stored["storage"] == {"roomCode": "QF1", "sensorTag": "QF1-TT-101", "excursions": 0, "conforming": True,
                                 "reasons": []}
    now = datetime.now(UTC)
    async with db.write(AuditContext("system", reason="test readings")) as s:
        sensor = (await s.execute(select(Sensor.id).where(Sensor.tag == "QF1-TT-101"))).scalar_one()
        for dt, v in ((-60, 15.0), (1, 5.0), (2, 12.5), (3, 1.0), (4, 6.0)):  # the first before it was stored
            s.add(SensorReading(sensor_id=sensor, source_time=now + timedelta(seconds=dt), received_at=now, value=v,
                                quality="GOOD"))
    st = (await _query(gql, ONE, c=code))["sample"]["storage"]
    assert (st["excursions"], st["conforming"]) == (2, False)
    assert st["reasons"] == ["2 readings outside 2 to 8 °C while stored"]
    # Stored where no sensor watches: said so, not taken as conforming.
    moved = (await _step(gql, signers, "storeSample", store | {"location": "Bench shelf 4"}))["data"]["storeSample"]
    assert moved["storage"]["conforming"] is False and "no temperature sensor" in moved["storage"]["reasons"][0]


@pytest.mark.req("QC-21")
async def test_retained_samples_are_kept_and_reminded_of_before_their_retention_ends(lab: Any) -> None:
    gql, signers, db = lab
    today = datetime.now(UTC).date()
    async with db.write(AuditContext("system", reason="test expiry")) as s:
        await s.execute(update(Batch).where(Batch.batch_number == "B-QC-1").values(
            expiry_date=today - timedelta(days=365 - 10)))
    inp = {"sourceCode": "B-QC-1", "kind": "RETAINED", "quantity": 2, "unit": "vials", "pieces": 2,
           "sampledFrom": "Finished goods store, pallet 4", "conditions": "2-8 °C, protected from light"}
    code = (await _send(gql, signers, "qc.sig", RECORD, "recordSample", inp))["data"]["recordSample"]["code"]
    await _step(gql, signers, "receiveSample", {"code": code, "quantity": 2, "unit": "vials", "condition": "intact"})
    kept = (await _step(gql, signers, "storeSample", {"code": code, "location": "QF1-RS-01",
                                                     "conditions": "2-8 °C, protected from light"}))
    kept = kept["data"]["storeSample"]
    assert (kept["status"], kept["expiryDate"], kept["retainUntil"]) == (
        "RETAINED", (today - timedelta(days=355)).isoformat(), (today + timedelta(days=10)).isoformat())
    assert _code(await _step(gql, signers, "disposeSample", {"code": code, "method": "incinerated", "site": "QC",
                                                             "reason": "not needed"})) == "CONFLICT"
    destroy = {"code": code, "reason": "retention over"}
    assert _code(await _step(gql, signers, "destroySample", destroy)) == "CONFLICT"  # still under retention

    due = (await _query(gql, DUE, n=30))["retainedSamplesDue"]
    assert [(d["daysLeft"], d["sample"]["code"]) for d in due] == [(10, code)]
    b15 = due[0]["sample"]
    assert (b15["name"], b15["batchNumber"], b15["quantity"], b15["storageLocation"], b15["conditions"]) == (
        "Human Albumin 20% retained sample", "B-QC-1", 2.0, "QF1-RS-01", "2-8 °C, protected from light")
    assert "plus one year" in b15["retentionBasis"]
    rows = await _exported(gql, "B.15", "B-QC-1")
    assert [(r["YPMC"], r["PH"], r["SL"], r["LYDD"], r["BCTJ"]) for r in rows] == [
        ("Human Albumin 20% retained sample", "B-QC-1", 2.0, "QF1-RS-01", "2-8 °C, protected from light")]
    assert rows[0]["YXQ"] == f"{today - timedelta(days=355):%Y%m%d}" and rows[0]["LYQX"].startswith(
        f"until {today + timedelta(days=10)}")
    assert (await _query(gql, DUE, n=5))["retainedSamplesDue"] == []
    assert _code(await (await gql.sign_in("qa.one"))(DUE, {"n": -1})) == "VALIDATION_FAILED"

    # Once its retention has ended it is destroyed (PR-33's rule), and leaves the reminder.
    async with db.write(AuditContext("system", reason="test: retention ended")) as s:
        await s.execute(update(Batch).where(Batch.batch_number == "B-QC-1").values(
            expiry_date=today - timedelta(days=400)))
    assert (await _query(gql, DUE, n=0))["retainedSamplesDue"][0]["daysLeft"] == -35
    done = (await _step(gql, signers, "destroySample", destroy))["data"]["destroySample"]
    assert done["status"] == "DESTROYED" and done["history"][-1]["kind"] == "DESTROYED"
    assert (await _query(gql, DUE, n=30))["retainedSamplesDue"] == []
