"""Instrument runs of plasma testing: a plate reader's ELISA export and a PCR run file imported with the raw
file kept and hashed, the cut-off computed from the controls, results written onto the units (through the
retest path: blocked at once, the station told, the lookback started) and pools; an invalid run kept with
its reason; bad files refused naming the line or well; the kept file reprocessed and compared (GP-03)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from demo.seed import seed_stations
from records.attachments import Attachment
from records.audit import AuditContext, AuditEvent
from records.instrument_run import InstrumentRun
from records.oos import OosRecord
from records.plasma import Donor, PlasmaUnit, Pool, RetestResult, StationNotice
from records.signature import ESignature

DATA = Path(__file__).parent / "data"
PLATE = (DATA / "elisa_plate.csv").read_bytes()
PCR = (DATA / "pcr_run.csv").read_bytes()
TODAY = datetime.now(UTC).date()
SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) { accepted } }"""
RECEIVE = """mutation($input: ReceivePlasmaUnitInput!, $sig: SignatureInput!) {
  receivePlasmaUnit(input: $input, signature: $sig) { unit { status } } }"""
WELL = "position content role target value ic ratio outcome"
RUN = (f"id kind instrumentId testItem kitLot analyst status invalidReason runLabel rawSha256 parser parserVersion "
       f"cutoff rawFile {{ sha256 filename contentType size data }} wells {{ {WELL} }} processings {{ number parser "
       f"parserVersion valid cutoff processedBy reason wells {{ {WELL} }} }} poolResults {{ poolKind poolCode units "
       f"test result outcome value reviewedBy }} reviewedBy")
IMPORT = f"""mutation($input: ImportInstrumentRunInput!, $sig: SignatureInput!) {{
  importInstrumentRun(input: $input, signature: $sig) {{ {RUN} }} }}"""
REPROCESS = f"""mutation($input: ReprocessInstrumentRunInput!, $sig: SignatureInput!) {{
  reprocessInstrumentRun(input: $input, signature: $sig) {{ {RUN} }} }}"""
REVIEW = f"""mutation($input: ReviewInstrumentRunInput!, $sig: SignatureInput!) {{
  reviewInstrumentRun(input: $input, signature: $sig) {{ {RUN} }} }}"""
COMPARE = """query($id: Int!, $v: String) { compareInstrumentRun(id: $id, parserVersion: $v) { runId parser
  parserVersion valid cutoff changed original { number parserVersion } wells { position content originalRatio
  originalOutcome ratio outcome changed } } }"""
GET = f"query($id: Int!) {{ instrumentRun(id: $id) {{ {RUN} }} }}"
POOL_TESTS = """query($c: String!) { poolTests(poolCode: $c) { poolKind poolCode units test result outcome value
  kitLot instrument analyst } }"""
RETESTS = """query($d: String!) { retests(donationNumber: $d) { test result method kitLot instrument source
  reviewedBy } }"""
UNITS = ("IT-U1", "IT-U2", "IT-U3", "IT-U4", "IT-U5", "IT-U6")


@pytest_asyncio.fixture
async def lab(env: Any) -> dict[str, Any]:
    """Six received units of six donors, and a closed production pool PL-IT-1."""
    gql, signers, db = env
    await seed_stations(db)
    log = await gql.sign_in("log.sig")
    units = [{"donationNumber": n, "donorCardNumber": f"IT-D{i}", "bloodType": "A",
              "collectedOn": (TODAY - timedelta(days=3)).isoformat(), "weightG": 600.0} for i, n in enumerate(UNITS)]
    inp = {"stationCode": "PS-N1", "shipmentCode": "SH-IT", "units": units}
    sig = signers.sign("log.sig", "submitPlasmaShipment", inp)
    assert "errors" not in await log(SUBMIT, {"input": inp, "sig": sig})
    for n in UNITS:
        r_in = {"stationCode": "PS-N1", "shipmentCode": "SH-IT", "scannedCode": n, "weightG": 600.0,
                "storageLocation": "CS1-R01-P01"}
        assert "errors" not in await log(RECEIVE, {"input": r_in, "sig": signers.sign("log.sig", "receivePlasmaUnit",
                                                                                     r_in)})
    async with db.write(AuditContext("system", reason="test pool")) as s:
        s.add(Pool(code="PL-IT-1", product="Human Albumin 20%", status="CLOSED"))
    return {"gql": gql, "signers": signers, "db": db}


def _input(data: bytes = PLATE, **more: Any) -> dict[str, Any]:
    return {"instrumentId": "EL-01", "kind": "ELISA", "testItem": "HBSAG", "kitLot": "KIT-HBS-2611",
            "filename": "plate-01.csv", "data": base64.b64encode(data).decode(), "parserVersion": "1"} | more


async def _send(lab: dict[str, Any], user: str, doc: str, op: str, inp: dict[str, Any],
                meaning: str = "PERFORMED") -> Any:
    me = await lab["gql"].sign_in(user)
    return await me(doc, {"input": inp, "sig": lab["signers"].sign(user, op, inp, meaning)})


async def _import(lab: dict[str, Any], inp: dict[str, Any], user: str = "qc.sig") -> Any:
    return await _send(lab, user, IMPORT, "importInstrumentRun", inp)


def _code(body: Any) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _count(db: Any, model: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def _status(db: Any, number: str) -> str:
    async with db.read() as s:
        return str((await s.execute(select(PlasmaUnit.status).where(PlasmaUnit.donation_number == number)))
                   .scalar_one())


@pytest.mark.req("QC-08")
async def test_a_reactive_well_blocks_its_unit_at_once_and_the_raw_file_is_kept(lab: dict[str, Any]) -> None:
    gql, db = lab["gql"], lab["db"]
    body = await _import(lab, _input())
    run = body["data"]["importInstrumentRun"]
    assert (run["kind"], run["instrumentId"], run["testItem"], run["kitLot"], run["analyst"], run["status"]) == (
        "ELISA", "EL-01", "HBSAG", "KIT-HBS-2611", "qc.sig", "IMPORTED")
    assert (run["parser"], run["parserVersion"], run["cutoff"], run["runLabel"]) == (
        "elisa-plate", "1", "0.130", "PLATE-20261205-01")
    # The raw file, byte for byte, with its SHA-256, downloadable from the run.
    assert run["rawSha256"] == hashlib.sha256(PLATE).hexdigest() == run["rawFile"]["sha256"]
    assert base64.b64decode(run["rawFile"]["data"]) == PLATE and run["rawFile"]["contentType"] == "text/csv"
    # The plate map: controls without an outcome; S/CO = OD / cut-off; REACTIVE from S/CO 1.
    wells = {w["position"]: w for w in run["wells"]}
    assert (wells["A1"]["role"], wells["A1"]["value"], wells["A1"]["outcome"]) == ("NC", "0.060", None)
    assert (wells["A7"]["content"], wells["A7"]["value"], wells["A7"]["ratio"], wells["A7"]["outcome"]) == (
        "IT-U2", "1.842", "14.169", "REACTIVE")
    assert (wells["A6"]["ratio"], wells["A6"]["outcome"]) == ("0.400", "NEGATIVE")
    assert "B1" not in wells  # unused wells are not in the map

    # The reactive unit is blocked at once, its station told, its donor deferred with the lookback started.
    assert await _status(db, "IT-U2") == "BLOCKED"
    assert await _status(db, "IT-U1") != "BLOCKED"
    async with db.read() as s:
        notices = list((await s.execute(select(StationNotice).order_by(StationNotice.id))).scalars())
        donor = (await s.execute(select(Donor).where(Donor.card_number == "IT-D1"))).scalar_one()
        signed = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "instrument_run")))
                      .scalars())
    assert [(n.kind, n.donation_number) for n in notices if n.kind == "UNQUALIFIED_UNIT"] == [
        ("UNQUALIFIED_UNIT", "IT-U2")]
    assert any(n.kind == "DONOR_DEFERRED" and n.donor_card_number == "IT-D1" for n in notices)
    assert donor.status == "DEFERRED" and signed == ["PERFORMED"]
    # Each reactive well opened an OOS record in the same write, naming the run and well it came from.
    async with db.read() as s:
        oos = {o.source: o for o in (await s.execute(select(OosRecord))).scalars()}
    assert set(oos) == {f"instrument_run:{run['id']}/A7", f"instrument_run:{run['id']}/A10"}
    a7 = oos[f"instrument_run:{run['id']}/A7"]
    assert (a7.subject_kind, a7.subject_code, a7.item, a7.status, a7.analyst, a7.instrument) == (
        "PLASMA_UNIT", "IT-U2", "HBSAG", "OPEN", "qc.sig", "EL-01")
    assert a7.value == "S/CO 14.169 (OD 1.842, cut-off 0.130)" and a7.method == "ELISA elisa-plate/1"
    assert oos[f"instrument_run:{run['id']}/A10"].subject_kind == "PRODUCTION_POOL"

    # The results went through the retest path: waiting for review, which confirms without a second notice.
    qa = await gql.sign_in("qa.sig")
    rows = (await qa(RETESTS, {"d": "IT-U2"}))["data"]["retests"]
    assert rows == [{"test": "HBSAG", "result": "REACTIVE", "method": f"ELISA run {run['id']}",
                     "kitLot": "KIT-HBS-2611", "instrument": "EL-01", "source": "PLANT", "reviewedBy": None}]
    review = await _send(lab, "qcr.sig", """mutation($input: ReviewRetestInput!, $sig: SignatureInput!) {
      reviewRetest(input: $input, signature: $sig) { test reviewedBy } }""", "reviewRetest",
                         {"donationNumber": "IT-U2"}, "REVIEWED")
    assert review["data"]["reviewRetest"] == [{"test": "HBSAG", "reviewedBy": "qcr.sig"}]
    assert await _count(db, StationNotice) == len(notices)

    # The production pool's result is kept with the pool; reactive, the pool is blocked and starts no batch.
    pool = (await qa(POOL_TESTS, {"c": "PL-IT-1"}))["data"]["poolTests"]
    assert pool == [{"poolKind": "PRODUCTION_POOL", "poolCode": "PL-IT-1", "units": [], "test": "HBSAG",
                     "result": "REACTIVE", "outcome": "REACTIVE", "value": "7.023", "kitLot": "KIT-HBS-2611",
                     "instrument": "EL-01", "analyst": "qc.sig"}]
    async with db.read() as s:
        assert (await s.execute(select(Pool.status).where(Pool.code == "PL-IT-1"))).scalar_one() == "BLOCKED"

    # A second person who did not import it reviews the run; the pool result is reviewed with it.
    both = await _send(lab, "qc.sig", REVIEW, "reviewInstrumentRun", {"runId": run["id"], "comment": "ok"},
                       "REVIEWED")
    assert _code(both) in ("FORBIDDEN", "SOD_VIOLATION")
    done = (await _send(lab, "qcr.sig", REVIEW, "reviewInstrumentRun", {"runId": run["id"], "comment": "controls "
                        "valid, plate map checked"}, "REVIEWED"))["data"]["reviewInstrumentRun"]
    assert (done["status"], done["reviewedBy"], done["poolResults"][0]["reviewedBy"]) == (
        "REVIEWED", "qcr.sig", "qcr.sig")


@pytest.mark.req("IT-23")
async def test_whoever_imported_a_run_cannot_review_it(lab: dict[str, Any]) -> None:
    run = (await _import(lab, _input(), user="qc.both"))["data"]["importInstrumentRun"]
    body = await _send(lab, "qc.both", REVIEW, "reviewInstrumentRun", {"runId": run["id"], "comment": "ok"},
                       "REVIEWED")
    assert _code(body) == "SOD_VIOLATION"
    async with lab["db"].read() as s:
        assert (await s.execute(select(InstrumentRun.status))).scalar_one() == "IMPORTED"


@pytest.mark.req("QC-08")
async def test_a_run_whose_controls_fail_is_kept_invalid_with_the_reason_and_writes_no_result(
        lab: dict[str, Any]) -> None:
    bad = PLATE.replace(b"A,0.060,0.062", b"A,0.150,0.062")
    run = (await _import(lab, _input(bad)))["data"]["importInstrumentRun"]
    assert (run["status"], run["invalidReason"], run["cutoff"]) == (
        "INVALID", "NC well A1: OD 0.150 is above 0.100", None)
    assert all(w["outcome"] is None for w in run["wells"])
    assert run["rawSha256"] == hashlib.sha256(bad).hexdigest()
    assert await _count(lab["db"], RetestResult) == 0
    assert await _status(lab["db"], "IT-U2") != "BLOCKED"
    weak = PLATE.replace(b"1.950,2.010", b"0.650,2.010")
    run = (await _import(lab, _input(weak)))["data"]["importInstrumentRun"]
    assert (run["status"], run["invalidReason"]) == ("INVALID", "PC well A4: OD 0.650 is below 0.800")
    # An invalid run waits for no review.
    body = await _send(lab, "qcr.sig", REVIEW, "reviewInstrumentRun", {"runId": run["id"], "comment": "ok"},
                       "REVIEWED")
    assert _code(body) == "CONFLICT"


@pytest.mark.req("QC-08", "IT-31")
async def test_bad_files_are_refused_naming_the_line_or_well_and_nothing_is_written(lab: dict[str, Any]) -> None:
    db = lab["db"]
    cases = {
        PLATE.replace(b"B,,,,,,,,,,,,\r\n", b"B,,,,\r\n"): "line 8: row B of the Layout block needs 12 values",
        PLATE.replace(b"1.842", b"1,842"): "line 17: row A of the OD block needs 12 values",
        PLATE.replace(b"1.842", b"high"): "well A7: 'high' is not a number",
        PLATE.replace(b"0.048,0.913", b",0.913"): "well A9: the layout names IT-U4 but the well has no OD",
        PLATE.replace(b"IT-U4", b"IT-U2"): "well A9: sample IT-U2 is already in well A7",
        PLATE.replace(b"IT-U4", b"NO-SUCH"): "well A9: NO-SUCH is no received plasma unit",
        PLATE.replace(b"Format,elisa-plate/1", b"Format,other/9"): "line 1: this is not a elisa-plate/1 file",
        PLATE.replace(b"Instrument,EL-01", b"Instrument,EL-99"): "the file is from instrument EL-99, not EL-01",
        b"\xff\xfe" + PLATE: "the file is not UTF-8 text",
        PCR.replace(b"A4,IT-U4,HCV,Undetermined", b"A4,IT-U4,HCV,-3"): "line 16: '-3' is not a number of zero",
    }
    for data, message in cases.items():
        kind = {"kind": "PCR", "testItem": "NAT", "instrumentId": "PCR-01"} if data.startswith(b"Format,pcr") else {}
        body = await _import(lab, _input(data, **kind))
        assert _code(body) == "VALIDATION_FAILED", (message, body)
        assert message in body["errors"][0]["message"], (message, body["errors"][0]["message"])
    huge = base64.b64encode(b"x" * (512 * 1024 + 1)).decode()
    for inp, message in ((_input() | {"data": "not base64!"}, "base64"), (_input(testItem="NAT"), "testItem"),
                         (_input(parserVersion="9"), "elisa-plate has versions 1, 2"),
                         (_input() | {"data": huge}, "1 byte to 512 KiB")):
        body = await _import(lab, inp)
        assert _code(body) == "VALIDATION_FAILED" and message in body["errors"][0]["message"], body
    # Nothing written, each refusal audited.
    for model in (InstrumentRun, Attachment, RetestResult):
        assert await _count(db, model) == 0
    async with db.read() as s:
        refused = (await s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "WRITE_REFUSED", AuditEvent.entity_id == "importInstrumentRun"))).scalar_one()
    assert refused == len(cases) + 4
    # A valid file then round-trips unchanged.
    run = (await _import(lab, _input()))["data"]["importInstrumentRun"]
    assert base64.b64decode(run["rawFile"]["data"]) == PLATE and run["rawFile"]["size"] == len(PLATE)


@pytest.mark.req("GP-03")
async def test_the_kept_raw_file_is_reprocessed_beside_the_signed_original(lab: dict[str, Any]) -> None:
    gql, db = lab["gql"], lab["db"]
    run = (await _import(lab, _input()))["data"]["importInstrumentRun"]
    qcr = await gql.sign_in("qcr.sig")
    # The same rule version reproduces the same outcomes from the kept file.
    same = (await qcr(COMPARE, {"id": run["id"], "v": "1"}))["data"]["compareInstrumentRun"]
    assert (same["valid"], same["cutoff"], same["changed"]) == (True, "0.130", [])
    assert all(not w["changed"] and w["ratio"] == w["originalRatio"] for w in same["wells"])
    # A newer version (a grey zone) shows the borderline well changed; nothing is written by comparing.
    newer = (await qcr(COMPARE, {"id": run["id"], "v": None}))["data"]["compareInstrumentRun"]
    assert (newer["parserVersion"], newer["original"]["parserVersion"], newer["changed"]) == ("2", "1", ["IT-U3"])
    a8 = next(w for w in newer["wells"] if w["position"] == "A8")
    assert (a8["content"], a8["ratio"], a8["originalOutcome"], a8["outcome"]) == (
        "IT-U3", "0.962", "NEGATIVE", "GREY_ZONE")
    assert await _status(db, "IT-U3") != "BLOCKED"

    # A reprocess needs a reason and an analyst's signature; confirmed, it adds a processing and keeps the original.
    body = await _send(lab, "qc.sig", REPROCESS, "reprocessInstrumentRun",
                       {"runId": run["id"], "parserVersion": "2", "reason": " "})
    assert _code(body) == "VALIDATION_FAILED"
    body = await _send(lab, "qcr.sig", REPROCESS, "reprocessInstrumentRun",
                       {"runId": run["id"], "parserVersion": "2", "reason": "grey zone per kit insert rev. 3"})
    assert _code(body) == "FORBIDDEN"
    again = (await _send(lab, "qc.sig", REPROCESS, "reprocessInstrumentRun",
                         {"runId": run["id"], "parserVersion": "2", "reason": "grey zone per kit insert rev. 3"})
             )["data"]["reprocessInstrumentRun"]
    assert (again["parserVersion"], again["status"], again["rawSha256"]) == ("2", "IMPORTED", run["rawSha256"])
    assert [(p["number"], p["parserVersion"], p["reason"]) for p in again["processings"]] == [
        (1, "1", "import"), (2, "2", "grey zone per kit insert rev. 3")]
    assert again["processings"][0]["wells"] == run["wells"]  # the signed original, unchanged
    assert await _status(db, "IT-U3") == "BLOCKED"
    async with db.read() as s:
        results = list((await s.execute(select(RetestResult.result).join(PlasmaUnit).where(
            PlasmaUnit.donation_number == "IT-U3").order_by(RetestResult.id))).scalars())
        signed = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "instrument_run")))
                      .scalars())
        raw = (await s.execute(select(Attachment))).scalar_one()
    assert results == ["NEGATIVE", "REACTIVE"] and signed == ["PERFORMED", "PERFORMED"]
    async with db.read() as s:
        sources = set((await s.execute(select(OosRecord.source))).scalars())
    assert sources == {f"instrument_run:{run['id']}/{w}" for w in ("A7", "A8", "A10")}  # A8: the grey zone
    assert hashlib.sha256(raw.data).hexdigest() == run["rawSha256"]
    # The same version again changes nothing of the outcomes.
    same = (await qcr(COMPARE, {"id": run["id"], "v": "2"}))["data"]["compareInstrumentRun"]
    assert same["changed"] == [] and same["original"]["number"] == 2


@pytest.mark.req("QC-08")
async def test_a_pcr_run_with_a_reactive_mini_pool_blocks_its_units(lab: dict[str, Any]) -> None:
    gql, db = lab["gql"], lab["db"]
    inp = _input(PCR, kind="PCR", testItem="NAT", instrumentId="PCR-01", kitLot="KIT-NAT-77", parserVersion=None,
                 filename="nat.csv", miniPools=[{"code": "MP-1", "donationNumbers": ["IT-U5", "IT-U6"]}])
    run = (await _import(lab, inp))["data"]["importInstrumentRun"]
    assert (run["kind"], run["parser"], run["parserVersion"], run["runLabel"]) == ("PCR", "pcr-run", "1",
                                                                                   "NAT-20261205-01")
    hcv = next(w for w in run["wells"] if w["position"] == "A3" and w["target"] == "HCV")
    assert (hcv["value"], hcv["ic"], hcv["outcome"]) == ("36.2", "30.2", "REACTIVE")
    assert {w["outcome"] for w in run["wells"] if w["content"] == "IT-U1"} == {"INVALID"}
    # The mini-pool's units are blocked and their station told; the negative unit is not; the IC failure
    # writes nothing (to be tested again).
    assert [await _status(db, n) for n in ("IT-U5", "IT-U6")] == ["BLOCKED", "BLOCKED"]
    assert await _status(db, "IT-U4") != "BLOCKED"
    qa = await gql.sign_in("qa.sig")
    assert (await qa(RETESTS, {"d": "IT-U1"}))["data"]["retests"] == []
    assert [r["result"] for r in (await qa(RETESTS, {"d": "IT-U4"}))["data"]["retests"]] == ["NEGATIVE"]
    pool = (await qa(POOL_TESTS, {"c": "MP-1"}))["data"]["poolTests"]
    assert pool == [{"poolKind": "MINI_POOL", "poolCode": "MP-1", "units": ["IT-U5", "IT-U6"], "test": "NAT",
                     "result": "REACTIVE", "outcome": "REACTIVE", "value": "36.2", "kitLot": "KIT-NAT-77",
                     "instrument": "PCR-01", "analyst": "qc.sig"}]
    async with db.read() as s:
        told = set((await s.execute(select(StationNotice.donation_number).where(
            StationNotice.kind == "UNQUALIFIED_UNIT"))).scalars())
    assert told == {"IT-U5", "IT-U6"}
    # A mini-pool the file does not test is refused.
    lost = inp | {"miniPools": [*inp["miniPools"], {"code": "MP-9", "donationNumbers": ["IT-U1", "IT-U4"]}]}
    body = await _import(lab, lost)
    assert _code(body) == "VALIDATION_FAILED" and "mini-pool MP-9 is in no well" in body["errors"][0]["message"]
    # A PCR run without its positive control is invalid.
    no_pc = PCR.replace(b"A2,PC,HCV,29.0", b"A2,PC,HCV,Undetermined")
    body = await _import(lab, inp | {"data": base64.b64encode(no_pc).decode()})
    assert "errors" not in body, body
    run = body["data"]["importInstrumentRun"]
    assert (run["status"], run["invalidReason"]) == ("INVALID", "PC well A2: HCV not detected")


@pytest.mark.req("IT-11")
async def test_only_qc_analysts_import_and_qc_qa_and_the_qp_read(lab: dict[str, Any]) -> None:
    for user in ("op.one", "qa.sig", "qcr.sig", "log.sig", "adm.sig"):
        assert _code(await _import(lab, _input(), user=user)) == "FORBIDDEN", user
    assert await _count(lab["db"], InstrumentRun) == 0
    run = (await _import(lab, _input()))["data"]["importInstrumentRun"]
    for user in ("qa.sig", "qp.sig", "qcr.sig"):
        me = await lab["gql"].sign_in(user)
        assert (await me(GET, {"id": run["id"]}))["data"]["instrumentRun"]["rawSha256"] == run["rawSha256"]
    for user in ("op.one", "log.sig"):
        me = await lab["gql"].sign_in(user)
        assert _code(await me(GET, {"id": run["id"]})) == "FORBIDDEN"
        assert _code(await me(POOL_TESTS, {"c": "PL-IT-1"})) == "FORBIDDEN"


@pytest.mark.req("QC-22")
async def test_a_run_on_an_expired_kit_lot_is_refused_and_a_used_kit_is_logged(lab: dict[str, Any]) -> None:
    from records.reagent import ReagentMovement
    from tests.test_reagents import _age, _released

    gql, signers, db = lab["gql"], lab["signers"], lab["db"]
    await _released(gql, signers, "KIT-HBS-2611", "TEST_KIT", quantity=10.0, unit="kits")
    await _age(db, "KIT-HBS-2611", expires_on=TODAY - timedelta(days=1))
    refused = await _import(lab, _input())
    assert _code(refused) == "CONFLICT" and "KIT-HBS-2611 expired on" in refused["errors"][0]["message"]
    assert await _count(db, InstrumentRun) == 0 and await _status(db, "IT-U2") != "BLOCKED"
    async with db.read() as s:
        logged = (await s.execute(select(AuditEvent).where(AuditEvent.action == "REAGENT_REFUSED"))).scalar_one()
    assert logged.changes["operation"] == "importInstrumentRun"

    await _age(db, "KIT-HBS-2611", expires_on=TODAY + timedelta(days=90))
    run = (await _import(lab, _input()))["data"]["importInstrumentRun"]
    async with db.read() as s:
        used = (await s.execute(select(ReagentMovement.used_for, ReagentMovement.used_for_id).where(
            ReagentMovement.kind == "USE"))).all()
    assert used == [("instrument_run", str(run["id"]))]
