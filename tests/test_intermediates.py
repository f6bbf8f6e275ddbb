"""Intermediate products (B.5): recorded by the phase that made them with a labelled code, put away in
registered locations only, sampled, taken out, charged into the next phase only when they are the
batch's own, the phase's, released and in date; expired ones never leave the store; every movement
is kept and the stock is queryable at once."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext
from records.base import utcnow
from records.genealogy import Intermediate
from records.plasma import Batch
from records.recipe import Recipe
from tests.attack.signed_cases.base import World
from tests.test_exchange import _export, _typed
from tests.test_phases import CHECKED, START, planned

RECIPE: dict[str, Any] = {
    "code": "FRAC-MR", "product": "Human Albumin 20%", "name": "Fractionation", "batchSize": 100,
    "batchUnit": "L", "changeNote": "first", "phases": [
        {"code": "FRAC", "name": "Fraction V precipitation", "unitProcedure": "Fractionation",
         "operation": "Precipitation", "equipmentClass": "tank", "instructions": "Precipitate."},
        {"code": "DISS", "name": "Dissolve paste", "unitProcedure": "Purification", "operation": "Dissolution",
         "equipmentClass": "tank", "instructions": "Dissolve.", "after": ["FRAC"],
         "materials": [{"code": "FV-PASTE", "name": "Fraction V paste", "quantity": 12, "unit": "kg",
                        "tolerancePct": 5}]}]}
PRODUCT = """code name materialCode batchNumber phaseCode amount remaining unit storageConditions expiresOn expired
  status location madeBy label { lines { label value } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _send(w: World, who: str, op: str, inp: dict[str, Any], meaning: str = "PERFORMED",
                verifier: str | None = None) -> Any:
    return await w.send(who, op, inp, meaning, verifier=verifier, answer=PRODUCT)


async def _start(w: World, phase: str, batch: str = "IM-1") -> Any:
    inp = {"batchNumber": batch, "phaseCode": phase, "equipmentCode": "EQ-1", "confirmed": CHECKED}
    me = await w.gql.sign_in("op.one")
    return await me(START, {"input": inp, "sig": w.signers.sign("op.one", "startPhase", inp)})


async def _frac_done(w: World) -> None:
    await planned(w, RECIPE, "IM-1")
    assert "errors" not in await _start(w, "FRAC")
    await w.call("op.one", "completePhase", {"batchNumber": "IM-1", "phaseCode": "FRAC"})


def _made(**more: Any) -> dict[str, Any]:
    return {"batchNumber": "IM-1", "phaseCode": "FRAC", "materialCode": "FV-PASTE", "name": "Fraction V paste",
            "amount": 12.0, "unit": "kg", "storageConditions": "-20 °C or colder",
            "expiresOn": (utcnow().date() + timedelta(days=30)).isoformat(), **more}


@pytest.mark.req("PR-22", "PR-23", "PR-24", "PR-25", "PR-54")
async def test_an_intermediate_is_stored_sampled_and_charged_only_where_the_system_allows(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _frac_done(w)
    today = utcnow().date().isoformat()
    for bad, code in ((_made(phaseCode="DISS"), "CONFLICT"), (_made(expiresOn=today), "VALIDATION_FAILED"),
                      (_made(amount=0), "VALIDATION_FAILED")):
        assert _code(await _send(w, "op.one", "recordIntermediate", bad)) == code, bad
    made = (await _send(w, "op.one", "recordIntermediate", _made()))["data"]["recordIntermediate"]
    code = made["code"]
    assert re.fullmatch(rf"IM{utcnow():%y%m}\d{{5}}", code) and made["status"] == "QUARANTINE"
    assert made["location"] is None and made["madeBy"] == "op.one"
    lines = {x["label"]: x["value"] for x in made["label"]["lines"]}
    assert lines["Storage"] == "-20 °C or colder" and lines["Expiry"] == _made()["expiresOn"]  # PR-23

    move = {"code": code, "kind": "STOCK_IN", "location": "CS-9"}
    assert _code(await _send(w, "op.one", "moveIntermediate", move)) == "VALIDATION_FAILED"  # not a registered room
    stored = (await _send(w, "op.one", "moveIntermediate", {**move, "location": "R1-S03"}))["data"]
    assert stored["moveIntermediate"]["location"] == "R1-S03"
    qa = await gql.sign_in("qa.sig")
    in_room = await qa('{ intermediates(location: "R1") { code location remaining } }')
    assert in_room["data"]["intermediates"] == [{"code": code, "location": "R1-S03", "remaining": 12.0}]
    sampled = await _send(w, "op.one", "moveIntermediate", {"code": code, "kind": "SAMPLE", "quantity": 0.1})
    assert sampled["data"]["moveIntermediate"]["remaining"] == pytest.approx(11.9)

    charge = {"code": code, "kind": "CHARGE", "quantity": 11.9, "batchNumber": "IM-1", "phaseCode": "DISS"}
    body = await _start(w, "DISS")
    assert _code(body) == "CONFLICT" and "not weighed or charged yet: FV-PASTE" in str(body), body
    body = await _send(w, "op.one", "moveIntermediate", charge, verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "QUARANTINE, not released" in str(body), body
    await w.call("qa.sig", "decideIntermediate", {"code": code, "decision": "RELEASED", "reason": "IPC passed"},
                 "APPROVED")
    body = await _send(w, "op.one", "moveIntermediate", charge, verifier="sup.rsa")
    assert _code(body) == "CONFLICT" and "in store at R1-S03: take it out first" in str(body), body
    assert "errors" not in await _send(w, "op.one", "moveIntermediate", {"code": code, "kind": "STOCK_OUT"})

    async with db.write(AuditContext("test", reason="a second batch of the recipe")) as s:
        recipe = (await s.execute(select(Recipe).where(Recipe.code == "FRAC-MR"))).scalar_one()
        s.add(Batch(batch_number="IM-2", product=recipe.product, status="PLANNED", recipe_id=recipe.id))
    for bad, words in (({**charge, "batchNumber": "IM-2"}, "belongs to batch IM-1, not IM-2"),
                       ({**charge, "phaseCode": "FRAC"}, "phase FRAC does not use FV-PASTE"),
                       ({**charge, "quantity": 12.5}, "has 11.9 kg left")):
        body = await _send(w, "op.one", "moveIntermediate", bad, verifier="sup.rsa")
        assert _code(body) == "CONFLICT" and words in str(body), (bad, body)
    assert _code(await _send(w, "op.one", "moveIntermediate", charge)) == "SIGNATURE_REQUIRED"
    assert _code(await _send(w, "op.one", "moveIntermediate", charge, verifier="op.one")) == "SOD_VIOLATION"
    body = await _send(w, "op.one", "moveIntermediate", charge, verifier="sup.rsa")
    assert body["data"]["moveIntermediate"]["remaining"] == pytest.approx(0), body
    assert "errors" not in await _start(w, "DISS")  # its material is charged: the phase may start

    moves = await qa('query($c: String!) { intermediateMovements(code: $c) { kind by reviewer location quantity '
                     'phaseCode } }', {"c": code})
    assert [(m["kind"], m["reviewer"]) for m in moves["data"]["intermediateMovements"]] == [
        ("STOCK_IN", None), ("SAMPLE", None), ("STOCK_OUT", None), ("CHARGE", "sup.rsa")]
    b5 = json.loads((await _export(w, "B.5", "IM-1"))["data"]["exportDataset"]["data"])
    _typed("B.5", b5)
    assert [(r["RKWZ"], r["RKR"], r["QYL"], r["CKR"], r["TLL"], r["FHR"]) for r in b5] == [
        ("R1-S03", "op.one", "", "", "", ""), ("", "", "0.1 kg", "", "", ""), ("", "", "", "op.one", "", ""),
        ("", "", "", "", "11.9 kg", "sup.rsa")]
    assert {r["ZJPPH"] for r in b5} == {f"IM-1 {code}"} and {r["ZLZT"] for r in b5} == {"RELEASED"}


@pytest.mark.req("PR-23")
async def test_an_expired_intermediate_is_flagged_and_never_leaves_the_store(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _frac_done(w)
    code = (await _send(w, "op.one", "recordIntermediate", _made()))["data"]["recordIntermediate"]["code"]
    assert "errors" not in await _send(w, "op.one", "moveIntermediate", {"code": code, "kind": "STOCK_IN",
                                                                        "location": "R1-S01"})
    await w.call("qa.sig", "decideIntermediate", {"code": code, "decision": "RELEASED", "reason": "ok"}, "APPROVED")
    async with db.write(AuditContext("test", reason="thirty days on")) as s:
        row = (await s.execute(select(Intermediate).where(Intermediate.code == code))).scalar_one()
        row.expires_on = date.today() - timedelta(days=1)
    qa = await gql.sign_in("qa.sig")
    listed = await qa('{ intermediates(batchNumber: "IM-1") { code expired location } }')
    assert listed["data"]["intermediates"] == [{"code": code, "expired": True, "location": "R1-S01"}]
    body = await _send(w, "op.one", "moveIntermediate", {"code": code, "kind": "STOCK_OUT"})
    assert _code(body) == "CONFLICT" and "does not leave the store" in str(body), body
    again = {"code": code, "decision": "REJECTED", "reason": "expired"}
    assert _code(await _send(w, "qa.sig", "decideIntermediate", again, "APPROVED")) == "CONFLICT"
    assert _code(await _send(w, "op.one", "decideIntermediate", again, "APPROVED")) == "FORBIDDEN"
