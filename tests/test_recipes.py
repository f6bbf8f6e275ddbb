"""Master recipes (PR-40): versioned, drafted -> reviewed -> approved by three people with their
signatures; only one approved version at a time; a change is a new version, compared side by side."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext, AuditEvent
from records.plant import Room, Sensor
from records.signature import ESignature

FIELDS = "code version status product changeNote reviewedBy approvedBy phases { code after parameters { name tag } }"
DRAFT = f"""mutation($input: DraftRecipeInput!, $sig: SignatureInput!) {{
  draftRecipe(input: $input, signature: $sig) {{ {FIELDS} }} }}"""
REVIEW = f"""mutation($input: RecipeDecisionInput!, $sig: SignatureInput!) {{
  reviewRecipe(input: $input, signature: $sig) {{ {FIELDS} }} }}"""
APPROVE = f"""mutation($input: RecipeDecisionInput!, $sig: SignatureInput!) {{
  approveRecipe(input: $input, signature: $sig) {{ {FIELDS} }} }}"""

ALBUMIN: dict[str, Any] = {
    "code": "ALB-MR", "product": "Human albumin 20%", "name": "Albumin by cold ethanol fractionation",
    "batchSize": 3000, "batchUnit": "L", "changeNote": "first version",
    "phases": [
        {"code": "THAW", "name": "Plasma thawing", "unitProcedure": "Plasma preparation", "operation": "Thawing",
         "equipmentClass": "thawing_tank", "instructions": "Thaw the pooled plasma at 0-4 °C.",
         "materials": [{"code": "PLASMA", "name": "Source plasma", "quantity": 3000, "unit": "L",
                        "tolerancePct": 2}],
         "parameters": [{"name": "Plasma temperature", "unit": "°C", "low": 0, "high": 4, "tag": "TH-TT-201"},
                        {"name": "Heating medium temperature", "unit": "°C", "low": 20, "high": 37}]},
        {"code": "FR-I", "name": "Fraction I precipitation", "unitProcedure": "Fractionation",
         "operation": "Ethanol precipitation", "equipmentClass": "fractionation_tank", "after": ["THAW"],
         "instructions": "Add ethanol to 8 % at -3 °C, pH 7.2.", "signatures": ["PERFORMED", "VERIFIED"],
         "materials": [{"code": "ETOH95", "name": "Ethanol 95%", "quantity": 260, "unit": "L", "tolerancePct": 1}],
         "parameters": [{"name": "Reaction temperature", "unit": "°C", "low": -4, "high": -2},
                        {"name": "pH", "unit": "pH", "low": 7.0, "high": 7.4},
                        {"name": "Ethanol addition rate", "unit": "L/min", "low": 1, "high": 3}],
         "controls": [{"name": "Ethanol concentration", "method": "densitometry", "unit": "%", "low": 7.5,
                       "high": 8.5}],
         "yieldLowPct": 90, "yieldHighPct": 100, "output": 2900, "outputUnit": "L"},
    ],
}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _call(gql: Any, signers: Any, user: str, doc: str, op: str, inp: dict[str, Any], meaning: str) -> Any:
    me = await gql.sign_in(user)
    return await me(doc, {"input": inp, "sig": signers.sign(user, op, inp, meaning)})


async def _draft(gql: Any, signers: Any, inp: dict[str, Any], user: str = "sup.rsa") -> Any:
    return await _call(gql, signers, user, DRAFT, "draftRecipe", inp, "PERFORMED")


async def _review(gql: Any, signers: Any, version: int, user: str = "qa.two") -> Any:
    inp = {"code": "ALB-MR", "version": version, "comment": "matches the process validation report"}
    return await _call(gql, signers, user, REVIEW, "reviewRecipe", inp, "REVIEWED")


async def _approve(gql: Any, signers: Any, version: int, user: str = "qa.sig") -> Any:
    inp = {"code": "ALB-MR", "version": version, "comment": "approved for production"}
    return await _call(gql, signers, user, APPROVE, "approveRecipe", inp, "APPROVED")


async def thawing_sensor(db: Any) -> None:
    """The plasma temperature tag ALBUMIN's thawing phase reads."""
    async with db.write(AuditContext("test", reason="the thawing tank's sensor")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="TH-TT-201", name="Plasma temperature", kind="temperature", unit="°C", room_id=room.id,
                     low_limit=0, high_limit=4))


@pytest.mark.req("PR-40", "GP-02")
async def test_draft_review_approve_by_three_people_then_a_new_version_supersedes(env: Any) -> None:
    gql, signers, db = env
    await thawing_sensor(db)
    body = await _draft(gql, signers, ALBUMIN)
    got = body["data"]["draftRecipe"]
    assert (got["version"], got["status"]) == (1, "DRAFT")
    assert got["phases"][1] == {"code": "FR-I", "after": ["THAW"], "parameters": [
        {"name": "Reaction temperature", "tag": None}, {"name": "pH", "tag": None},
        {"name": "Ethanol addition rate", "tag": None}]}

    # The drafter cannot review; the reviewer cannot approve; an unreviewed draft is not approved.
    assert _code(await _review(gql, signers, 1, user="sup.rsa")) == "SOD_VIOLATION"
    assert _code(await _approve(gql, signers, 1)) == "CONFLICT"
    assert (await _review(gql, signers, 1))["data"]["reviewRecipe"]["status"] == "REVIEWED"
    assert _code(await _approve(gql, signers, 1, user="qa.two")) == "SOD_VIOLATION"
    v1 = (await _approve(gql, signers, 1))["data"]["approveRecipe"]
    assert (v1["status"], v1["reviewedBy"], v1["approvedBy"]) == ("APPROVED", "qa.two", "qa.sig")

    # A change is a new version; the approved one stays in force until the new one is approved.
    changed = copy.deepcopy(ALBUMIN)
    changed["changeNote"] = "pH range narrowed after the PQ campaign"
    changed["phases"][1]["parameters"][1].update(low=7.1, high=7.3)
    v2 = (await _draft(gql, signers, changed))["data"]["draftRecipe"]
    assert (v2["version"], v2["status"]) == (2, "DRAFT")
    sup = await gql.sign_in("sup.rsa")
    current = await sup('{ recipe(code: "ALB-MR") { version status } }')
    assert current["data"]["recipe"] == {"version": 1, "status": "APPROVED"}
    assert "errors" not in await _review(gql, signers, 2)
    assert "errors" not in await _approve(gql, signers, 2)
    listed = await sup('{ recipes(product: "Human albumin 20%") { version status } }')
    assert listed["data"]["recipes"] == [{"version": 2, "status": "APPROVED"}, {"version": 1, "status": "SUPERSEDED"}]

    diff = await sup('{ compareRecipes(code: "ALB-MR", fromVersion: 1, toVersion: 2) { differences { phase field '
                     'before after } } }')
    changes = diff["data"]["compareRecipes"]["differences"]
    assert [(d["phase"], d["field"]) for d in changes] == [("FR-I", "parameters")]
    assert changes[0]["before"][1]["low"] == 7.0 and changes[0]["after"][1]["low"] == 7.1

    async with db.read() as s:
        meanings = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "recipe")
                                         .order_by(ESignature.id))).scalars())
        refusals = list((await s.execute(select(AuditEvent.action).where(
            AuditEvent.entity == "recipe", AuditEvent.action == "SOD_VIOLATION"))).scalars())
    assert meanings == ["PERFORMED", "REVIEWED", "APPROVED", "PERFORMED", "REVIEWED", "APPROVED"]
    assert len(refusals) == 2


@pytest.mark.req("PR-40")
async def test_a_recipe_must_be_a_valid_sequence_with_sensible_limits(env: Any) -> None:
    gql, signers, db = env
    await thawing_sensor(db)

    def bad(edit: Any) -> dict[str, Any]:
        inp = copy.deepcopy(ALBUMIN)
        edit(inp)
        return inp

    cases = {
        "after a later phase": (bad(lambda i: i["phases"][0].update(after=["FR-I"])), "earlier phases"),
        "twice": (bad(lambda i: i["phases"][1].update(code="THAW")), "twice"),
        "limits": (bad(lambda i: i["phases"][0]["parameters"][0].update(low=5)), "below the high"),
        "no limits": (bad(lambda i: i["phases"][0]["parameters"][0].update(low=None, high=None)), "limit"),
        "tolerance": (bad(lambda i: i["phases"][0]["materials"][0].update(tolerancePct=150)), "tolerance"),
        "signatures": (bad(lambda i: i["phases"][0].update(signatures=["APPROVED"])), "signatures"),
        "yield": (bad(lambda i: i["phases"][1].update(yieldLowPct=99, yieldHighPct=90)), "yield"),
        "no phases": (bad(lambda i: i.update(phases=[])), "phases"),
        "no note": (bad(lambda i: i.update(changeNote=" ")), "changeNote"),
        "unknown tag": (bad(lambda i: i["phases"][0]["parameters"][0].update(tag="TH-TT-999")),
                        "tags the plant does not have: phase THAW Plasma temperature: TH-TT-999"),
    }
    for name, (inp, words) in cases.items():
        body = await _draft(gql, signers, inp)
        assert _code(body) == "VALIDATION_FAILED" and words in body["errors"][0]["message"], (name, body)
    # Only production supervisors draft.
    assert _code(await _draft(gql, signers, ALBUMIN, user="op.one")) == "FORBIDDEN"
