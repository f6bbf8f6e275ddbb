"""The audit trail through a regulator's scoped token (issue 15): the events of the batches and plasma units
the token names and nothing else, counted and paged in the query; refusals as every scoped read's."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import and_, or_, select

from records.audit import AuditContext, AuditEvent
from records.db import Database
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Pool
from resolvers import audit
from resolvers.trace import TraceScope
from tests.conftest import GQL
from tests.signing_env import issue_token

TRAIL = """query($f: AuditFilter, $first: Int, $after: String) { auditTrail(filter: $f, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id entity entityId action } } } }"""
ALBUMIN, IVIG = "Human Albumin 20%", "Human Immunoglobulin"


async def _seed(db: Database) -> tuple[dict[str, int], dict[str, int]]:
    """Two stations, two batches each made from its own pool of units, and a unit in no pool; every row
    created (and the batches changed) through the audited unit of work. Returns the batch and unit row ids."""
    async with db.write(AuditContext("system", reason="audit scope test")) as s:
        st = {c: PlasmaStation(code=c, name=c, province="P", licence_number=f"L-{c}") for c in ("PS-A", "PS-B")}
        donors = {c: Donor(card_number=f"D-{c}", station=st[c], name="Donor", blood_type="A") for c in st}
        pools = {p: Pool(code=f"POOL-{p}", product=prod) for p, prod in (("A", ALBUMIN), ("B", IVIG))}
        s.add_all([Batch(batch_number="AS-A", product=ALBUMIN, pools=[pools["A"]]),
                   Batch(batch_number="AS-B", product=IVIG, pools=[pools["B"]])])
        for code, station, pool in (("U-A1", "PS-A", "A"), ("U-A2", "PS-A", "A"), ("U-B1", "PS-B", "B"),
                                    ("U-F", "PS-B", None)):
            s.add(PlasmaUnit(donation_number=code, donor=donors[station], station=st[station], blood_type="A",
                             collected_on=date(2026, 11, 1), weight_g=600.0, pool=pools[pool] if pool else None))
    async with db.write(AuditContext("system", reason="started")) as s:
        for b in (await s.execute(select(Batch))).scalars():
            b.status = "IN_PROGRESS"
    async with db.read() as s:
        batches = {b.batch_number: b.id for b in (await s.execute(select(Batch))).scalars()}
        units = {u.donation_number: u.id for u in (await s.execute(select(PlasmaUnit))).scalars()}
    return batches, units


@pytest_asyncio.fixture
async def plant(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    batches, units = await _seed(db)
    return {"gql": gql, "signers": signers, "db": db, "batches": batches, "units": units}


async def _events(db: Database, batches: list[int], units: list[int]) -> list[str]:
    """Ids (newest first) of the events of these batch and unit rows, straight from the table."""
    async with db.read() as s:
        rows = (await s.execute(select(AuditEvent.id).where(or_(
            and_(AuditEvent.entity == "batch", AuditEvent.entity_id.in_([str(i) for i in batches])),
            and_(AuditEvent.entity == "plasma_unit", AuditEvent.entity_id.in_([str(i) for i in units]))))
            .order_by(AuditEvent.id.desc()))).scalars()
        return [str(i) for i in rows]


async def _walk(client: GQL, f: dict[str, Any] | None = None, first: int = 2) -> tuple[list[str], set[int]]:
    """Every event id, page by page, and the totals each page reported."""
    ids: list[str] = []
    totals: set[int] = set()
    after = None
    while True:
        body = await client(TRAIL, {"f": f, "first": first, "after": after})
        assert "errors" not in body, body
        page = body["data"]["auditTrail"]
        ids += [e["node"]["id"] for e in page["edges"]]
        totals.add(page["totalCount"])
        if not page["pageInfo"]["hasNextPage"]:
            return ids, totals
        after = page["pageInfo"]["endCursor"]


async def _total(client: GQL, f: dict[str, Any]) -> int:
    body = await client(TRAIL, {"f": f})
    assert "errors" not in body, body
    assert len(body["data"]["auditTrail"]["edges"]) == body["data"]["auditTrail"]["totalCount"]
    return int(body["data"]["auditTrail"]["totalCount"])


async def _denials(db: Database) -> list[tuple[str, dict[str, Any]]]:
    async with db.read() as s:
        return [(e.actor, e.changes) for e in (await s.execute(
            select(AuditEvent).where(AuditEvent.action == "ACCESS_DENIED").order_by(AuditEvent.id))).scalars()]


@pytest.mark.req("IT-55")
async def test_a_regulator_scoped_to_one_batch_reads_that_batchs_trail_only(plant: dict[str, Any]) -> None:
    b, u = plant["batches"], plant["units"]
    regulator = await issue_token(plant["gql"], plant["signers"], "reg.one", batchNumbers=["AS-A"])
    expected = await _events(plant["db"], [b["AS-A"]], [u["U-A1"], u["U-A2"]])
    assert len(expected) == 4  # the batch created and started, its two units created
    ids, totals = await _walk(regulator)
    assert ids == expected and totals == {4}
    got = (await regulator(TRAIL, {"f": {"entity": "batch"}}))["data"]["auditTrail"]
    assert {(e["node"]["entityId"], e["node"]["action"]) for e in got["edges"]} == {
        (str(b["AS-A"]), "CREATE"), (str(b["AS-A"]), "UPDATE")}
    # Another batch, its units, the unit in no pool, people, settings, tokens and refusals: nothing, none counted.
    for f in ({"entity": "batch", "entityId": str(b["AS-B"])}, {"entity": "plasma_unit", "entityId": str(u["U-B1"])},
              {"entity": "plasma_unit", "entityId": str(u["U-F"])}, {"entity": "app_user"}, {"entity": "setting"},
              {"entity": "api_token"}, {"entity": "pool"}, {"entity": "donor"}, {"action": "SIGN_IN"},
              {"action": "ACCESS_DENIED"}, {"actor": "qa.sig"}):
        assert await _total(regulator, f) == 0, f
    assert await _total(regulator, {"entity": "batch", "entityId": str(b["AS-A"]), "action": "UPDATE"}) == 1
    # QA reads the whole trail, the other batch's included.
    qa = await plant["gql"].sign_in("qa.one")
    assert await _total(qa, {"entity": "batch", "entityId": str(b["AS-B"])}) == 2
    assert await _total(qa, {"entity": "app_user"}) > 0


@pytest.mark.req("IT-55")
async def test_a_product_or_station_scope_reads_the_events_of_what_it_sees(plant: dict[str, Any]) -> None:
    b, u = plant["batches"], plant["units"]
    by_product = await issue_token(plant["gql"], plant["signers"], "reg.one", products=[IVIG])
    ids, totals = await _walk(by_product, first=3)
    assert ids == await _events(plant["db"], [b["AS-B"]], [u["U-B1"]]) and totals == {len(ids)} == {3}
    # Units of its stations, pooled or not; no batch, whatever their units went into.
    by_station = await issue_token(plant["gql"], plant["signers"], "reg.one", stations=["PS-B"])
    ids, totals = await _walk(by_station)
    assert ids == await _events(plant["db"], [], [u["U-B1"], u["U-F"]]) and totals == {2}
    assert await _total(by_station, {"entity": "batch"}) == 0


@pytest.mark.req("IT-55")
async def test_the_scope_is_a_condition_of_the_statement_on_both_databases(db: Database) -> None:
    """The resolver on SQLite and PostgreSQL: pages and the total of a scoped read, keyset after a page."""
    b, u = await _seed(db)
    scope = TraceScope.of({"readOnly": True, "batchNumbers": ["AS-A"]})
    expected = [int(i) for i in await _events(db, [b["AS-A"]], [u["U-A1"], u["U-A2"]])]
    rows, more, total = await audit.page(db, audit.AuditQuery(), 3, None, scope)
    assert [r.id for r in rows] == expected[:3] and more and total == len(expected) == 4
    rows, more, total = await audit.page(db, audit.AuditQuery(), 3, rows[-1].id, scope)
    assert [r.id for r in rows] == expected[3:] and not more and total == 4
    by_station = TraceScope.of({"readOnly": True, "stations": ["PS-B"]})
    rows, _, total = await audit.page(db, audit.AuditQuery(entity="plasma_unit"), 10, None, by_station)
    assert sorted(int(r.entity_id or 0) for r in rows) == [u["U-B1"], u["U-F"]] and total == 2
    nothing = TraceScope.of({"readOnly": True, "distributors": ["DIST-01"]})
    assert (await audit.page(db, audit.AuditQuery(), 10, None, nothing))[2] == 0
    assert (await audit.page(db, audit.AuditQuery(entity="batch"), 10, None))[2] == 4  # unscoped: both batches


@pytest.mark.req("IT-11", "IT-55")
async def test_refused_audit_reads_are_audited_as_every_scoped_refusal(plant: dict[str, Any]) -> None:
    db = plant["db"]
    token = await issue_token(plant["gql"], plant["signers"], "reg.one", batchNumbers=["AS-A"])
    partner = await issue_token(plant["gql"], plant["signers"], "st.one", stations=["PS-A"])
    password = await plant["gql"].sign_in("reg.one")  # a regulator's own account names no record
    before = await _denials(db)
    chain = await token("{ verifyAuditChain { ok } }")
    assert chain["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE" and not any(chain["data"].values())
    for client, code in ((password, "OUT_OF_SCOPE"), (partner, "FORBIDDEN")):
        body = await client(TRAIL)
        assert body["errors"][0]["extensions"]["code"] == code and not any(body["data"].values()), body
    after = (await _denials(db))[len(before):]
    assert after == [
        ("reg.one", {"object": "audit:chain", "action": "read", "reason": "out of scope"}),
        ("reg.one", {"object": "audit:trail", "action": "read", "reason": "out of scope"}),
        ("st.one", {"object": "audit:trail", "action": "read", "roles": ["station_partner"]})]


async def test_the_audit_screen_is_listed_for_a_regulators_token_only(plant: dict[str, Any]) -> None:
    """Viewer.permissions (the navigation) follows the same decision: the trail, never the chain."""
    token = await issue_token(plant["gql"], plant["signers"], "reg.one", batchNumbers=["AS-A"])
    perms = set((await token("{ viewer { permissions } }"))["data"]["viewer"]["permissions"])
    assert "audit:trail:read" in perms and not {p for p in perms if p.startswith("audit:") and p != "audit:trail:read"}
    password = await plant["gql"].sign_in("reg.one")
    perms = set((await password("{ viewer { permissions } }"))["data"]["viewer"]["permissions"])
    assert not {p for p in perms if p.startswith("audit:")}
