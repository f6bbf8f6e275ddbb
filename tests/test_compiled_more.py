"""More reads compiled to one SQL statement (issue 12): plasma units, material lots, samples and the
Relay connections of batches, alarms and the audit trail answer exactly what the normal path answers,
field for field, on SQLite and PostgreSQL, with the normal path's refusals, scope and cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest_asyncio
from graphql import get_operation_ast, parse
from sqlalchemy import select

import tests.test_compiled as base
from api.engine import compiled
from records.alarms import Alarm
from records.audit import AuditContext, AuditEvent
from records.db import Database
from records.materials import MaterialLot
from records.plant import Equipment, Room
from records.plasma import Batch, PlasmaStation, PlasmaUnit, Pool, Sample
from resolvers.compiled_reads import CATALOG
from schema.relay import decode_cursor, encode_cursor
from schema.root import build_schema
from tests.conftest import GQL
from tests.signing_env import issue_token

World = base.World
where = base.where
world = base.world  # the fixture: the app on SQLite and PostgreSQL, compiled answers counted

UNIT_ALL = """donationNumber materialCode bloodType collectedOn weightG status receivedAt storageLocation
  receivedWeightG receivedBy poolCode donorCardNumber station { code name province }"""
UNIT = f"query($n: String!) {{ plasmaUnit(donationNumber: $n) {{ __typename {UNIT_ALL} }} }}"
LOT_ALL = """code kind materialCode name lotNumber supplier supplierLot artworkVersion quantity remaining unit
  manufacturedOn expiresOn receivedAt receivedBy status decidedBy decidedAt decisionReason"""
LOT = f"query($c: String!) {{ materialLot(code: $c) {{ {LOT_ALL} }} }}"
LOTS = f"query($m: String, $s: MaterialStatus) {{ materialLots(materialCode: $m, status: $s) {{ {LOT_ALL} }} }}"
SAMPLE = "query($c: String!) { sample(code: $c) { __typename code kind status takenAt takenBy storageLocation } }"
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"
BATCHES = f"""query($f: BatchFilter, $first: Int, $after: String) {{ batches(filter: $f, first: $first, after: $after)
  {{ edges {{ cursor node {{ batchNumber product status startedAt expiryDate poolCodes recipeCode recipeVersion }} }}
     {PAGE} }} }}"""
ALARM_ALL = """id source condition priority state tag roomCode equipmentCode cameraCode message value limitValue peak
  beganAt raisedAt clearedAt acknowledgedAt acknowledgedBy handling batchNumber phaseCode"""
ALARMS = f"""query($a: Boolean, $f: AlarmFilter, $first: Int, $after: String) {{
  alarms(active: $a, filter: $f, first: $first, after: $after) {{ edges {{ cursor node {{ {ALARM_ALL} }} }}
  {PAGE} }} }}"""
AUDIT = f"""query($f: AuditFilter, $first: Int, $after: String) {{ auditTrail(filter: $f, first: $first, after: $after)
  {{ edges {{ cursor node {{ id occurredAt actor action entity entityId changes reason clientAddress hash prevHash }} }}
     {PAGE} }} }}"""


@pytest_asyncio.fixture
async def more(world: World) -> AsyncIterator[World]:
    await _records(world.db)
    yield world


async def _records(db: Database) -> None:
    """Lots (a tie on receipt time, decided and undecided, packaging), samples of a unit and a batch."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with db.write(AuditContext("system", reason="compiled read tests")) as s:
        for i, (kind, material, status, at) in enumerate([
                ("RAW_MATERIAL", "M-NACL", "QUARANTINE", t0), ("RAW_MATERIAL", "M-NACL", "RELEASED", t0),
                ("EXCIPIENT", "M-SUC", "REJECTED", t0 + timedelta(microseconds=250_000)),
                ("PACKAGING", "P-VIAL", "RELEASED", t0 - timedelta(days=3)),
                ("RAW_MATERIAL", "M-NACL", "RELEASED", t0 + timedelta(days=1))]):
            decided = status != "QUARANTINE"
            s.add(MaterialLot(code=f"ML-{i:03}", kind=kind, material_code=material, name=f"Material {i} µ",
                              lot_number=f"L{i}", supplier="Supplier", supplier_lot="SL" if i % 2 else None,
                              artwork_version="A3" if kind == "PACKAGING" else None, quantity=25.0 + i / 10,
                              remaining=0.1 * i, unit="kg", manufactured_on=date(2026, 1, 2) if i % 2 else None,
                              expires_on=date(2028, 1, 1), received_at=at, received_by="log.one", status=status,
                              decided_by="qa.one" if decided else None, decided_at=at + timedelta(hours=2) if decided
                              else None, decision_reason="ok" if decided else None))
        unit = (await s.execute(select(PlasmaUnit).order_by(PlasmaUnit.id))).scalars().first()
        batch = (await s.execute(select(Batch).order_by(Batch.id))).scalars().first()
        assert unit is not None and batch is not None
        s.add(Sample(code="S-UNIT", kind="RETAINED", plasma_unit_id=unit.id, taken_at=t0, taken_by="op.one",
                     storage_location="F-1", status="RETAINED"))
        s.add(Sample(code="S-BATCH", kind="IPC", batch_id=batch.id, taken_at=t0 + timedelta(microseconds=5),
                     taken_by="op.one", storage_location=None, status="DESTROYED"))
        rooms = (await s.execute(select(Room).order_by(Room.id))).scalars().all()
        eqs = (await s.execute(select(Equipment).order_by(Equipment.id))).scalars().all()
        states = ("ACTIVE", "ACKED", "CLEARED", "CLOSED")
        for i in range(13):
            at = t0 + timedelta(minutes=7 * i, microseconds=0 if i % 2 else 120_000)
            acked = states[i % 4] in ("ACKED", "CLOSED")
            s.add(Alarm(source=("LIMIT", "VIDEO", "EQUIPMENT")[i % 3], condition="HIGH" if i % 3 == 0 else "EVENT",
                        priority=("LOW", "MEDIUM", "HIGH", "CRITICAL")[i % 4], state=states[i % 4],
                        tag=f"T-{i}" if i % 3 == 0 else None, room_id=rooms[i % 2].id if i % 5 else None,
                        equipment_id=eqs[i % 3].id if i % 2 else None, camera_code="CAM-1" if i % 3 == 1 else None,
                        message=f"alarm {i} \"quoted\" °C", value=None if i % 4 == 3 else 8.1 + i / 3,
                        limit_value=8.0 if i % 3 == 0 else None, peak=-19.5 if i == 2 else None, began_at=at,
                        raised_at=at + timedelta(seconds=30),
                        cleared_at=at + timedelta(hours=1) if i % 4 >= 2 else None,
                        acknowledged_at=at + timedelta(minutes=5) if acked else None,
                        acknowledged_by="op.one" if acked else None, handling="checked" if acked else None,
                        batch_number=batch.batch_number if i % 4 == 1 else None,
                        phase_code="P1" if i % 4 == 1 else None))


async def same(w: World, gql: GQL, query: str, variables: dict[str, Any] | None = None,
               compiled_: bool = True) -> dict[str, Any]:
    """The compiled answer, asserted equal to the normal path's; `compiled_=False`: the query is asserted
    to take the normal path even with the catalog on."""
    if compiled_:
        fast, slow = await w.both(gql, query, variables)
    else:
        before = len(w.calls)
        fast = (await gql.post(query, variables)).json()
        assert len(w.calls) == before, "compiled: " + query
        w.engine.catalog = None
        slow = (await gql.post(query, variables)).json()
        w.engine.catalog = CATALOG
    assert fast == slow, where(fast, slow)
    answer: dict[str, Any] = fast
    return answer


async def _units(db: Database) -> list[tuple[str, str, int | None]]:
    """Every unit's donation number, station code and pool id."""
    async with db.read() as s:
        return [tuple(r) for r in (await s.execute(  # type: ignore[misc]
            select(PlasmaUnit.donation_number, PlasmaStation.code, PlasmaUnit.pool_id)
            .join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id).order_by(PlasmaUnit.id))).all()]


def _code(answer: dict[str, Any]) -> str | None:
    errors = answer.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


# --- plasma units ---------------------------------------------------------------------------------

async def test_plasma_units_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    units = await _units(more.db)
    pooled = next(u for u in units if u[2] is not None)
    loose = next(u for u in units if u[2] is None)
    for number in [pooled[0], loose[0], units[-1][0], "NO-SUCH-UNIT", "' OR 1=1 --"]:
        answer = await same(more, me, UNIT, {"n": number})
        assert "errors" not in answer
    assert answer["data"]["plasmaUnit"] is None
    answer = await same(more, me, UNIT, {"n": pooled[0]})
    assert answer["data"]["plasmaUnit"]["poolCode"] and answer["data"]["plasmaUnit"]["station"]["code"] == pooled[1]
    q = """query($n: String!) { u: plasmaUnit(donationNumber: $n) { t: __typename n: donationNumber
             s: station { __typename c: code code } station { name } w: weightG weightG } }"""
    answer = await same(more, me, q, {"n": pooled[0]})
    assert list(answer["data"]["u"]) == ["t", "n", "s", "station", "w", "weightG"]
    assert answer["data"]["u"]["s"]["__typename"] == "Station"


async def test_plasma_unit_refusals_and_scope(more: World) -> None:
    units = await _units(more.db)
    for who, code in (("op.one", "FORBIDDEN"), ("bridge.one", "FORBIDDEN")):
        me = await GQL(more.client).sign_in(who)
        assert _code(await same(more, me, UNIT, {"n": units[0][0]})) == code
    assert _code(await same(more, GQL(more.client), UNIT, {"n": units[0][0]})) == "UNAUTHENTICATED"
    async with more.db.read() as s:
        batches = (await s.execute(select(Batch).order_by(Batch.id))).scalars().all()
    station = units[0][1]
    tokens = [await issue_token(GQL(more.client), more.signers, "reg.one", stations=[station]),
              await issue_token(GQL(more.client), more.signers, "reg.one", products=[batches[0].product]),
              await issue_token(GQL(more.client), more.signers, "reg.one", batchNumbers=[batches[1].batch_number]),
              await issue_token(GQL(more.client), more.signers, "reg.one", distributors=["NOBODY"])]
    seen = refused = 0
    for token in tokens:
        for number, _, _ in [*units[::4], ("NO-SUCH-UNIT", "", None)]:
            answer = await same(more, token, UNIT, {"n": number})
            if "errors" in answer:
                assert _code(answer) == "OUT_OF_SCOPE" and answer["data"] == {"plasmaUnit": None}
                refused += 1
            else:
                seen += 1
    assert seen and refused


# --- material lots --------------------------------------------------------------------------------

async def test_material_lots_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("op.one")
    for code in ["ML-000", "ML-001", "ML-002", "ML-003", "NO-SUCH-LOT"]:
        answer = await same(more, me, LOT, {"c": code})
        assert "errors" not in answer
    assert answer["data"]["materialLot"] is None
    seen = set()
    lot_cases: list[dict[str, Any]] = [{}, {"m": "M-NACL"}, {"s": "RELEASED"}, {"m": "M-NACL", "s": "RELEASED"},
                                       {"m": ""}, {"m": None, "s": None}, {"m": "NONE"}]
    for variables in lot_cases:
        answer = await same(more, me, LOTS, variables)
        seen.add(tuple(x["code"] for x in answer["data"]["materialLots"]))
    assert ("ML-004", "ML-002", "ML-001", "ML-000", "ML-003") in seen  # newest first, ties by id
    assert ("ML-004", "ML-001") in seen and () in seen
    q = '{ lots: materialLots(status: QUARANTINE) { __typename c: code q: quantity r: remaining code } }'
    answer = await same(more, me, q)
    assert answer["data"]["lots"][0] == {"__typename": "MaterialLot", "c": "ML-000", "q": 25.0, "r": 0.0,
                                         "code": "ML-000"}


async def test_material_lot_refusals_and_bad_arguments(more: World) -> None:
    for who in ("audit.one", "bridge.one"):
        me = await GQL(more.client).sign_in(who)
        assert _code(await same(more, me, LOT, {"c": "ML-000"})) == "FORBIDDEN"
        assert _code(await same(more, me, LOTS)) == "FORBIDDEN"
    token = await issue_token(GQL(more.client), more.signers, "reg.one", products=["Albumin"])
    assert _code(await same(more, token, LOTS)) == "OUT_OF_SCOPE"
    me = await GQL(more.client).sign_in("op.one")
    bad = await same(more, me, LOTS, {"s": "LOST"}, compiled_=False)  # refused before execution
    assert bad["errors"] and "data" not in bad
    bad = await same(more, me, "{ materialLots(status: \"RELEASED\") { code } }", compiled_=False)
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


# --- samples --------------------------------------------------------------------------------------

async def test_samples_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    for code in ("S-UNIT", "S-BATCH", "NO-SUCH-SAMPLE"):
        answer = await same(more, me, SAMPLE, {"c": code})
        assert "errors" not in answer
    assert answer["data"]["sample"] is None
    answer = await same(more, me, "{ s: sample(code: \"S-BATCH\") { k: kind storageLocation t: takenAt } }")
    assert answer["data"]["s"] == {"k": "IPC", "storageLocation": None, "t": "2026-03-02T09:00:00.000005+00:00"}
    # The retention is computed in Python: the whole query runs the normal way.
    await same(more, me, "{ sample(code: \"S-UNIT\") { code retainUntil retentionBasis } }", compiled_=False)
    for who, code in (("bridge.one", "FORBIDDEN"), ("audit.one", "FORBIDDEN")):
        assert _code(await same(more, await GQL(more.client).sign_in(who), SAMPLE, {"c": "S-UNIT"})) == code
    token = await issue_token(GQL(more.client), more.signers, "reg.one", products=["Albumin"])
    assert _code(await same(more, token, SAMPLE, {"c": "S-UNIT"})) == "OUT_OF_SCOPE"


def test_fields_computed_in_python_fall_back() -> None:
    schema = build_schema()._schema
    for text, planned in [
        ("{ plasmaUnit(donationNumber: \"x\") { donationNumber station { code } } }", True),
        ("{ plasmaUnit(donationNumber: \"x\") { storage { location } } }", False),
        ("{ materialLot(code: \"x\") { code label { code } } }", False),
        ("{ materialLots { code } }", True),
        ("{ sample(code: \"x\") { retainUntil } }", False),
        ("{ plasmaUnit(donationNumber: \"x\") { station } }", False),  # invalid anyway: no selection
    ]:
        doc = parse(text)
        op = get_operation_ast(doc)
        assert op is not None
        assert (compiled.plan(schema, doc, op, CATALOG) is not None) == planned, text


async def test_pool_codes_are_read_fresh(more: World) -> None:
    """A unit moved into another pool reads so at once (nothing of an answer is kept)."""
    me = await GQL(more.client).sign_in("qa.one")
    units = await _units(more.db)
    number = next(u[0] for u in units if u[2] is None)
    async with more.db.write(AuditContext("system", reason="t")) as s:
        pool = (await s.execute(select(Pool).order_by(Pool.id))).scalars().first()
        unit = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == number))).scalar_one()
        assert pool is not None
        unit.pool_id = pool.id
        code = pool.code
    answer = await same(more, me, UNIT, {"n": number})
    assert answer["data"]["plasmaUnit"]["poolCode"] == code


# --- connections ----------------------------------------------------------------------------------

async def _walk(w: World, gql: GQL, query: str, root: str, variables: dict[str, Any], first: int) -> list[Any]:
    """Every page of a connection, `first` at a time, after the previous page's end cursor, each compared
    with the normal path's; the nodes' cursors in order."""
    cursors: list[Any] = []
    after = None
    while True:
        answer = await same(w, gql, query, {**variables, "first": first, "after": after})
        assert "errors" not in answer, answer
        page = answer["data"][root]
        edges, info = page["edges"], page["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None) and len(edges) <= first
        if edges:
            assert info["startCursor"] == edges[0]["cursor"] and info["endCursor"] == edges[-1]["cursor"]
        cursors += [e["cursor"] for e in edges]
        if not info["hasNextPage"]:
            return cursors
        after = info["endCursor"]


async def test_batches_pages_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    async with more.db.read() as s:
        batches = (await s.execute(select(Batch).order_by(Batch.id.desc()))).scalars().all()
    every = await _walk(more, me, BATCHES, "batches", {}, 2)
    assert every == [encode_cursor("batch", b.id) for b in batches]  # byte for byte the resolver's cursors
    assert [decode_cursor("batch", c) for c in await _walk(more, me, BATCHES, "batches", {}, 50)] == \
        [b.id for b in batches]
    product = batches[0].product
    for f in [{"product": product}, {"status": "PLANNED"}, {"batchNumber": batches[1].batch_number[:3]},
              {"batchNumber": "%"}, {"batchNumber": "_"}, {"product": "", "batchNumber": ""},
              {"product": product, "status": "RELEASED"}]:
        await _walk(more, me, BATCHES, "batches", {"f": f}, 3)
    for first in (0, 1, len(batches), 500, None):
        answer = await same(more, me, BATCHES, {"first": first})
        assert answer["data"]["batches"]["totalCount"] == len(answer["data"]["batches"]["edges"])
    q = """{ b: batches(first: 1) { __typename t: totalCount p: pageInfo { __typename n: hasNextPage }
             e: edges { __typename c: cursor c2: cursor n: node { __typename batchNumber } } } }"""
    answer = await same(more, me, q)
    assert list(answer["data"]["b"]) == ["__typename", "t", "p", "e"]
    assert answer["data"]["b"]["e"][0]["__typename"] == "BatchEdge"


async def test_batches_scoped_and_refused(more: World) -> None:
    async with more.db.read() as s:
        batches = (await s.execute(select(Batch).order_by(Batch.id))).scalars().all()
    tokens = [await issue_token(GQL(more.client), more.signers, "reg.one", products=[batches[0].product]),
              await issue_token(GQL(more.client), more.signers, "reg.one", batchNumbers=[batches[1].batch_number]),
              await issue_token(GQL(more.client), more.signers, "reg.one", stations=["NO-STATION"])]
    sizes = [len(await _walk(more, t, BATCHES, "batches", {}, 2)) for t in tokens]
    assert 0 < sizes[1] < sizes[0] < len(batches) and sizes[2] == 0
    for who, code in (("audit.one", "FORBIDDEN"), ("bridge.one", "FORBIDDEN")):
        answer = await same(more, await GQL(more.client).sign_in(who), BATCHES)
        assert _code(answer) == code and answer["data"] == {"batches": None}
    assert _code(await same(more, GQL(more.client), BATCHES)) == "UNAUTHENTICATED"


async def test_bad_page_arguments_get_the_normal_paths_errors(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    for query, root in ((BATCHES, "batches"), (ALARMS, "alarms"), (AUDIT, "auditTrail")):
        for variables in ({"first": -1}, {"first": 501}, {"after": "garbage"}, {"after": encode_cursor("other", 3)},
                          {"after": "YmF0Y2g6eA=="}, {"first": -1, "after": "garbage"}):
            answer = await same(more, me, query, variables)
            assert _code(answer) == "VALIDATION_FAILED" and answer["data"] == {root: None}, (root, variables)
        kind = {"batches": "batch", "alarms": "alarm", "auditTrail": "audit"}[root]
        answer = await same(more, me, query, {"after": encode_cursor(kind, 2**70)}, compiled_=False)
        assert "errors" not in answer or _code(answer) != "VALIDATION_FAILED"
        answer = await same(more, me, query, {"first": "x"}, compiled_=False)
        assert _code(answer) == "VALIDATION_FAILED" and "data" not in answer
    # A time without its zone runs the normal way (the UTC column refuses it), as does a field computed
    # in Python; times with a zone are compiled (tests/test_compiled_times.py).
    for query, f in ((BATCHES, {"startedFrom": "2026-01-01T00:00:00"}), (ALARMS, {"from": "2026-01-01T00:00:00"}),
                     (AUDIT, {"to": "2030-01-01T00:00:00"})):
        await same(more, me, query, {"f": f}, compiled_=False)
    await same(more, me, "{ alarms { edges { node { id affectedUnits } } } }", compiled_=False)


async def test_alarm_pages_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("op.one")
    async with more.db.read() as s:
        ids = list((await s.execute(select(Alarm.id).order_by(Alarm.id.desc()))).scalars())
        room = (await s.execute(select(Room.code).order_by(Room.id))).scalars().first()
    every = await _walk(more, me, ALARMS, "alarms", {}, 4)
    assert every == [encode_cursor("alarm", i) for i in ids]
    totals = set()
    cases: list[dict[str, Any]] = [
        {"a": True}, {"a": False}, {"f": {"active": True}}, {"a": False, "f": {"active": True}},
        {"f": {"roomCode": room}}, {"f": {"roomCode": "NO-ROOM"}}, {"f": {"priority": "HIGH"}},
        {"f": {"source": "VIDEO", "active": False}}, {"f": {"batchNumber": "NONE"}},
        {"f": {"roomCode": "", "batchNumber": ""}}]
    for variables in cases:
        cursors = await _walk(more, me, ALARMS, "alarms", variables, 2)
        answer = await same(more, me, ALARMS, {**variables, "first": 1})
        assert answer["data"]["alarms"]["totalCount"] == len(cursors)
        totals.add(len(cursors))
    assert len(totals) > 3 and 0 in totals
    answer = await same(more, me, "{ alarms(first: 3) { edges { node { __typename i: id value peak } } } }")
    assert [e["node"]["i"] for e in answer["data"]["alarms"]["edges"]] == ids[:3]
    for who, code in (("bridge.one", "FORBIDDEN"),):
        assert _code(await same(more, await GQL(more.client).sign_in(who), ALARMS)) == code
    token = await issue_token(GQL(more.client), more.signers, "reg.one", products=["Albumin"])
    assert _code(await same(more, token, ALARMS)) == "OUT_OF_SCOPE"


async def _denials(db: Database) -> list[tuple[str, dict[str, Any]]]:
    async with db.read() as s:
        return [(e.actor, e.changes) for e in (await s.execute(
            select(AuditEvent).where(AuditEvent.action == "ACCESS_DENIED").order_by(AuditEvent.id))).scalars()]


async def test_audit_trail_pages_and_its_own_refusals(more: World) -> None:
    me = await GQL(more.client).sign_in("audit.one")
    async with more.db.read() as s:
        total = len(list((await s.execute(select(AuditEvent.id))).scalars()))
        entity = (await s.execute(select(AuditEvent.entity).where(AuditEvent.entity == "alarm"))).scalars().first()
    every = await _walk(more, me, AUDIT, "auditTrail", {}, 100)
    assert len(every) == total > 100  # nothing is audited for reading it
    for f in [{"entity": entity}, {"entity": "alarm", "entityId": "1"}, {"actor": "system"},
              {"action": "ACCESS_DENIED"}, {"entity": "", "actor": ""}, {"actor": "nobody"}]:
        await _walk(more, me, AUDIT, "auditTrail", {"f": f}, 7)
    answer = await same(more, me, '{ a: auditTrail(first: 2, filter: {entity: "alarm"}) { edges { node { id i: id '
                                  'changes c: changes __typename } } totalCount } }')
    assert isinstance(answer["data"]["a"]["edges"][0]["node"]["id"], str)
    # A regulator's token reads its records' events the normal way (no scope filter in the catalog).
    token = await issue_token(GQL(more.client), more.signers, "reg.one", products=["Albumin"])
    scoped = await same(more, token, AUDIT, compiled_=False)
    assert "errors" not in scoped and {e["node"]["entity"] for e in scoped["data"]["auditTrail"]["edges"]} <= {
        "batch", "plasma_unit"}
    # A refusal is audited once per request, by either path; a regulator without a token is out of scope.
    before = await _denials(more.db)
    for who in ("op.one", "bridge.one"):
        assert _code(await same(more, await GQL(more.client).sign_in(who), AUDIT)) == "FORBIDDEN"
    assert _code(await same(more, await GQL(more.client).sign_in("reg.one"), AUDIT)) == "OUT_OF_SCOPE"
    after = (await _denials(more.db))[len(before):]
    assert [(a, c["object"]) for a, c in after] == [(who, "audit:trail") for who in
                                                   ("op.one", "op.one", "bridge.one", "bridge.one", "reg.one",
                                                    "reg.one")]
    assert after[0][1] == after[1][1] and after[4][1] == after[5][1] == {
        "object": "audit:trail", "action": "read", "reason": "out of scope"}
