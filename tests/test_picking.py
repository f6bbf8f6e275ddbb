"""Electronic plasma picking (PR-34, PR-35): a list generated from the units that may be pooled, oldest
first with where each lies; every unit scanned and matched against it; a pool charged from exactly its
picked units. The units are declared, received, tested, released and pooled through the API."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from records.audit import AuditContext, AuditEvent
from records.picking import PickingList
from records.plasma import PlasmaUnit
from tests.attack.signed_cases.base import World
from tests.attack.signed_cases.plasma import DONOR, STATION, _declared, _receipt, _tested, cold_store
from tests.signing_env import issue_token

ALBUMIN = "Human Albumin 20%"
# Donation number: days since collection. PU-A/B get pooled, PU-Q stays quarantined, PU-X is moved to a
# cold store without a temperature record; PU-LATER is the donor's later donation that lets QA release.
UNITS = {"PU-A": 100, "PU-B": 99, "PU-Q": 98, "PU-X": 97, "PU-C": 90, "PU-D": 85, "PU-E": 80, "PU-F": 78,
         "PU-LATER": 5}
LINES = ("position donationNumber materialCode donorCardNumber stationCode collectedOn unitStatus location "
         "coldStore picked pickedBy scanned picker")
LIST = f"code product requested status createdBy poolCode picked lines {{ {LINES} }}"


@pytest_asyncio.fixture
async def w(env: Any) -> World:
    world = World(*env)
    await cold_store(world)
    await _declared(world, UNITS)
    for i, n in enumerate(UNITS, start=1):
        await world.call("log.sig", "receivePlasmaUnit", {**_receipt(n), "storageLocation": f"CS1-R01-P{i:02d}"})
        await _tested(world, n)
    released = ["PU-A", "PU-B", "PU-X", "PU-C", "PU-D", "PU-E", "PU-F"]
    await world.call("qa.sig", "releasePlasma", {"donationNumbers": released}, "RELEASED")
    await world.call("log.sig", "chargePool", {"poolCode": "PL-OLD", "product": ALBUMIN,
                                                "donationNumbers": ["PU-A", "PU-B"]}, second=("sup.rsa", "VERIFIED"))
    async with world.db.write(AuditContext("test", reason="test: moved to a store without a record")) as s:
        (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == "PU-X"))).scalar_one(
            ).storage_location = "CS3-R01-P01"
    return world


async def _create(w: World, units: int, user: str = "log.sig") -> dict[str, Any]:
    return await w.send(user, "createPickingList", {"product": ALBUMIN, "units": units}, answer=LIST)


async def _pick(w: World, code: str, number: str, **extra: Any) -> dict[str, Any]:
    return await w.send("log.sig", "pickPlasmaUnit", {"listCode": code, "donationNumber": number, **extra},
                        answer=LIST)


def _refusal(body: dict[str, Any]) -> tuple[str, str | None]:
    ext = body["errors"][0]["extensions"]
    return ext["code"], ext.get("refusal")


async def _lists(w: World) -> int:
    async with w.db.read() as s:
        return int((await s.execute(select(func.count()).select_from(PickingList))).scalar_one())


@pytest.mark.req("PR-34", "PR-32")
async def test_a_list_takes_released_poolable_units_oldest_first_with_their_location(w: World) -> None:
    body = await _create(w, 3)
    made = body["data"]["createPickingList"]
    assert made["code"].startswith("PK-") and made["status"] == "OPEN" and made["createdBy"] == "log.sig"
    # Pooled (A, B), quarantined (Q) and unmonitored (X) units are older but not taken.
    assert [x["donationNumber"] for x in made["lines"]] == ["PU-C", "PU-D", "PU-E"]
    first = made["lines"][0]
    assert first == {**first, "position": 1, "donorCardNumber": DONOR, "stationCode": STATION, "unitStatus": "RELEASED",
                     "location": "CS1-R01-P05", "coldStore": "CS1", "picked": False, "pickedBy": None}
    assert first["materialCode"]
    # The units of an open list are reserved: one unit (F) is left, two are asked for.
    short = await _create(w, 2)
    assert _refusal(short) == ("CONFLICT", "NOT_ENOUGH_UNITS") and short["errors"][0]["extensions"]["available"] == 1
    assert await _lists(w) == 1
    assert _refusal(await _create(w, 0))[0] == "VALIDATION_FAILED"
    # Picking is the warehouse's: an operator reads lists but cannot make one.
    assert _refusal(await _create(w, 1, "op.one"))[0] == "FORBIDDEN"
    op = await w.gql.sign_in("op.one")
    seen = await op("query($c: String!) { pickingList(code: $c) { code lines { donationNumber } } }",
                    {"c": made["code"]})
    assert len(seen["data"]["pickingList"]["lines"]) == 3


@pytest.mark.req("PR-34", "PR-35")
async def test_each_unit_is_scanned_and_matched_and_an_unlisted_unit_is_refused_and_audited(w: World) -> None:
    code = (await _create(w, 3))["data"]["createPickingList"]["code"]
    done = (await _pick(w, code, "PU-D"))["data"]["pickPlasmaUnit"]
    line = next(x for x in done["lines"] if x["donationNumber"] == "PU-D")
    assert line["picked"] and line["pickedBy"] == "log.sig" and line["scanned"] is True and line["picker"] is None
    assert done["status"] == "OPEN" and done["picked"] == 1

    # The unit's own label carries its material code; an automated picker confirms it (PR-35).
    async with w.db.read() as s:
        label = (await s.execute(select(PlasmaUnit.material_code).where(PlasmaUnit.donation_number == "PU-E"))
                 ).scalar_one()
    done = (await _pick(w, code, label, picker="AUTO-PICKER-1"))["data"]["pickPlasmaUnit"]
    assert next(x for x in done["lines"] if x["donationNumber"] == "PU-E")["picker"] == "AUTO-PICKER-1"

    # A released unit that is not on the list is refused, and the refusal is in the audit trail.
    refused = await _pick(w, code, "PU-F")
    assert _refusal(refused) == ("CONFLICT", "NOT_ON_PICKING_LIST") and "PU-F" in refused["errors"][0]["message"]
    async with w.db.read() as s:
        events = (await s.execute(select(AuditEvent).where(AuditEvent.action == "PICK_REFUSED"))).scalars().all()
        f_status = (await s.execute(select(PlasmaUnit.status).where(PlasmaUnit.donation_number == "PU-F"))
                    ).scalar_one()
    assert len(events) == 1 and events[0].actor == "log.sig"
    assert events[0].changes == {**events[0].changes, "list": code, "scanned": "PU-F",
                                 "refusal": "NOT_ON_PICKING_LIST"}
    assert f_status == "RELEASED"
    # Scanned twice: the second is refused.
    assert _refusal(await _pick(w, code, "PU-D")) == ("CONFLICT", "ALREADY_PICKED")
    # A typed code is taken but flagged.
    done = (await _pick(w, code, "PU-C", scanned=False))["data"]["pickPlasmaUnit"]
    assert done["status"] == "PICKED" and done["picked"] == 3
    assert next(x for x in done["lines"] if x["donationNumber"] == "PU-C")["scanned"] is False
    assert _refusal(await _pick(w, code, "PU-C")) == ("CONFLICT", "LIST_NOT_OPEN")


@pytest.mark.req("PR-34")
async def test_a_unit_quarantined_after_the_list_was_made_is_refused(w: World) -> None:
    code = (await _create(w, 2))["data"]["createPickingList"]["code"]
    assert "errors" not in await _pick(w, code, "PU-C")
    await w.call("qa.sig", "deferDonor", {"cardNumber": DONOR, "status": "DEFERRED", "lookbackDays": 120,
                                          "reason": "anti-HCV reactive at a later donation"}, "APPROVED")
    refused = await _pick(w, code, "PU-D")
    assert _refusal(refused) == ("CONFLICT", "UNIT_NOT_RELEASED") and "BLOCKED" in refused["errors"][0]["message"]
    # The list is cancelled; its units are free again (here: none is released any more).
    body = await w.send("log.sig", "cancelPickingList", {"code": code, "reason": "donor deferred by lookback"},
                        answer="status cancelReason")
    assert body["data"]["cancelPickingList"] == {"status": "CANCELLED", "cancelReason": "donor deferred by lookback"}
    assert _refusal(await _pick(w, code, "PU-D")) == ("CONFLICT", "LIST_NOT_OPEN")


async def _charge(w: World, units: list[str], **extra: Any) -> dict[str, Any]:
    inp = {"poolCode": "PL-PK-1", "product": ALBUMIN, "donationNumbers": units, **extra}
    return await w.send("log.sig", "chargePool", inp, verifier="sup.rsa", answer="code status units")


@pytest.mark.req("PR-34")
async def test_a_pool_is_charged_from_exactly_the_picked_units_and_closes_the_list(w: World) -> None:
    code = (await _create(w, 3))["data"]["createPickingList"]["code"]
    for n in ("PU-C", "PU-D"):
        assert "errors" not in await _pick(w, code, n)
    # PU-E is on the list but not picked yet; PU-F is not on it.
    for units in (["PU-C", "PU-D", "PU-E"], ["PU-C", "PU-D", "PU-F"], ["PU-D", "PU-E"]):
        body = await _charge(w, units, pickingListCode=code)
        assert _refusal(body) == ("CONFLICT", "NOT_THE_PICKED_UNITS"), (units, body)
    wrong = await w.send("log.sig", "chargePool", {"poolCode": "PL-PK-1", "product": "IVIG", "pickingListCode": code,
                                                   "donationNumbers": ["PU-C", "PU-D"]}, verifier="sup.rsa")
    assert _refusal(wrong)[0] == "VALIDATION_FAILED"
    assert "errors" not in await _pick(w, code, "PU-E")
    done = await _charge(w, ["PU-C", "PU-D", "PU-E"], pickingListCode=code)
    assert done["data"]["chargePool"] == {"code": "PL-PK-1", "status": "CLOSED", "units": 3}
    me = await w.gql.sign_in("log.sig")
    closed = (await me("query($c: String!) { pickingList(code: $c) { status poolCode lines { unitStatus } } }",
                       {"c": code}))["data"]["pickingList"]
    assert closed == {"status": "CLOSED", "poolCode": "PL-PK-1", "lines": [{"unitStatus": "POOLED"}] * 3}
    listed = await me('{ pickingLists(status: CLOSED) { code } }')
    assert listed["data"]["pickingLists"] == [{"code": code}]
    assert _refusal(await w.send("log.sig", "cancelPickingList", {"code": code, "reason": "x"}))[0] == "CONFLICT"


async def test_a_station_partner_sees_no_picking_list(w: World) -> None:
    code = (await _create(w, 1))["data"]["createPickingList"]["code"]
    station = await issue_token(w.gql, w.signers, "st.sig", stations=[STATION])
    body = await station("query($c: String!) { pickingList(code: $c) { code } }", {"c": code})
    assert _refusal(body)[0] == "OUT_OF_SCOPE"
