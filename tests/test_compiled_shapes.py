"""Compiled reads (issue 12) take selections as graphql-core collects them: named and inline fragments
at any level, fields merged by response key in first-occurrence order, @include/@skip with literal
and variable conditions, and several root fields, with the normal path's answers, key order and
errors on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from graphql import get_operation_ast, parse
from sqlalchemy import select

import tests.test_compiled_more as more_tests
from api.engine import compiled
from records.plant import Equipment
from records.plasma import PlasmaUnit
from resolvers.compiled_reads import CATALOG
from schema.root import build_schema
from tests.conftest import GQL

World = more_tests.World
world = more_tests.world
more = more_tests.more
same = more_tests.same

NESTED = """query { plants { ...P rooms { code } } }
fragment P on Plant { id n: name rooms { name ...R } }
fragment R on Room { code equipment { ...E } e2: equipment { ... on Equipment { k: code } } }
fragment E on Equipment { code status __typename t: __typename sensors { ...S } }
fragment S on Sensor { tag value ... { unit } }"""
TWICE = """{ plants { ...P ...P rooms { ...R code ...R } } } fragment P on Plant { id rooms { ...R } }
fragment R on Room { code name }"""
MERGED = """{ plants { rooms { code } rooms { name equipment { code } } id rooms { equipment { status code } } }
  plants { name } }"""
ALARMS = """query($room: String) { alarms(active: true, first: 50, filter: {roomCode: $room}) { totalCount
  edges { node { ...AlarmFields } cursor ...AlarmFields2 } ...Info } }
fragment AlarmFields on Alarm { id source priority state roomCode message value raisedAt acknowledgedBy }
fragment AlarmFields2 on AlarmEdge { node { __typename a: id } }
fragment Info on AlarmConnection { pageInfo { hasNextPage endCursor } }"""
SWITCHED = """query($x: Boolean!, $y: Boolean = false) { plants { id name @include(if: $x)
  rooms @skip(if: $y) { code ... @include(if: $x) { name grade } ...R @skip(if: $x) } } }
fragment R on Room { areaCode polygon }"""


async def _equipment(w: World) -> str:
    async with w.db.read() as s:
        return str((await s.execute(select(Equipment.code).order_by(Equipment.id))).scalars().first())


async def test_fragments_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    answer = await same(more, me, NESTED)
    plant = answer["data"]["plants"][0]
    assert list(plant) == ["id", "n", "rooms"]
    assert list(plant["rooms"][0]) == ["name", "code", "equipment", "e2"]
    equipment = next(r for r in plant["rooms"] if r["equipment"])["equipment"][0]
    assert list(equipment) == ["code", "status", "__typename", "t", "sensors"] and equipment["t"] == "Equipment"
    answer = await same(more, me, TWICE)
    assert list(answer["data"]["plants"][0]) == ["id", "rooms"]
    assert list(answer["data"]["plants"][0]["rooms"][0]) == ["code", "name"]
    answer = await same(more, me, MERGED)
    assert list(answer["data"]["plants"][0]) == ["rooms", "id", "name"]
    assert list(answer["data"]["plants"][0]["rooms"][0]) == ["code", "name", "equipment"]
    for variables in ({}, {"room": "NO-ROOM"}):
        answer = await same(more, me, ALARMS, variables)
        assert list(answer["data"]["alarms"]) == ["totalCount", "edges", "pageInfo"]
    code = await _equipment(more)
    q = """query($c: String!) { e: equipment(code: $c) { ...E } } fragment E on Equipment { code
             ... on Equipment { k: kind status } roomCode }"""
    assert list((await same(more, me, q, {"c": code}))["data"]["e"]) == ["code", "k", "status", "roomCode"]


async def test_include_and_skip_are_evaluated_for_each_request(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    seen = []
    for variables in ({"x": True}, {"x": False}, {"x": True, "y": True}, {"x": False, "y": False}, {"x": True}):
        answer = await same(more, me, SWITCHED, variables)
        seen.append(list(answer["data"]["plants"][0]))
        rooms = answer["data"]["plants"][0].get("rooms")
        if rooms:
            assert list(rooms[0]) == (["code", "name", "grade"] if variables["x"] else ["code", "areaCode", "polygon"])
    assert seen[:3] == [["id", "name", "rooms"], ["id", "rooms"], ["id", "name"]]
    plan = more.engine._compiled(SWITCHED, None, CATALOG)
    assert set(plan.made) == {(True, False), (False, False), (True, True)}  # one plan per value, none baked in
    literal = '{ plants { id @skip(if: false) name @include(if: false) rooms @include(if: true) { code } } }'
    assert list((await same(more, me, literal))["data"]["plants"][0]) == ["id", "rooms"]
    # Nothing left to answer: graphql-core's empty data, the normal way.
    assert await same(more, me, "{ plants @skip(if: true) { id } }", compiled_=False) == {"data": {}}
    # A missing variable is graphql-core's error, the normal way.
    await same(more, me, "query($x: Boolean!) { plants { id @include(if: $x) } }", compiled_=False)


async def test_several_root_fields_answer_together(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    code = await _equipment(more)
    q = """query($c: String!) { plants { id } b: batches(first: 2) { totalCount edges { node { batchNumber } } }
             __typename e: equipment(code: $c) { code } none: equipment(code: "NO-SUCH") { code } plants { name } }"""
    answer = await same(more, me, q, {"c": code})
    assert list(answer["data"]) == ["plants", "b", "__typename", "e", "none"]
    assert answer["data"]["__typename"] == "Query" and answer["data"]["none"] is None
    assert list(answer["data"]["plants"][0]) == ["id", "name"]
    fast = await me.post(q, {"c": code})
    assert fast.content.startswith(b'{"data":{"plants":[')  # spliced, not parsed and written again


async def test_a_refused_root_field_is_null_beside_the_others(more: World) -> None:
    async with more.db.read() as s:
        unit = (await s.execute(select(PlasmaUnit.donation_number))).scalars().first()
    op = await GQL(more.client).sign_in("op.one")  # reads the plant and batches, not plasma units
    q = """query($n: String!) { plants { id } u: plasmaUnit(donationNumber: $n) { donationNumber } b: batch(
             batchNumber: "NO-SUCH") { status } }"""
    answer = await same(more, op, q, {"n": unit})
    assert answer["data"]["u"] is None and answer["data"]["plants"] and list(answer["data"]) == ["plants", "u", "b"]
    assert [e["path"] for e in answer["errors"]] == [["u"]] and more_tests._code(answer) == "FORBIDDEN"
    # A semantically non-null root field refused: null with its error, the plant still answered.
    answer = await same(more, op, "{ plants { id } auditTrail(first: 1) { totalCount } }")
    assert answer["data"]["auditTrail"] is None and answer["data"]["plants"]
    assert [e["path"] for e in answer["errors"]] == [["auditTrail"]] and more_tests._code(answer) == "FORBIDDEN"
    # Several refused: the normal way, whose errors come in the order the resolvers fail (either).
    bridge = await GQL(more.client).sign_in("bridge.one")
    two = '{ u: plasmaUnit(donationNumber: "x") { status } b: batch(batchNumber: "x") { status } }'
    before = len(more.calls)
    answer = (await bridge.post(two)).json()
    assert len(more.calls) == before and answer["data"] == {"u": None, "b": None}
    assert sorted(e["path"][0] for e in answer["errors"]) == ["b", "u"]
    # A scoped token: out of scope for the plant, its batches answered.
    token = await more_tests.issue_token(GQL(more.client), more.signers, "reg.one", products=["Albumin"])
    answer = await same(more, token, "{ batches { totalCount } plants { id } }")
    assert more_tests._code(answer) == "OUT_OF_SCOPE" and answer["data"]["plants"] is None
    assert answer["data"]["batches"]["totalCount"] >= 0
    answer = await same(more, token, '{ batches { totalCount } batch(batchNumber: "NO-SUCH") { status } }')
    assert more_tests._code(answer) == "OUT_OF_SCOPE" and answer["data"]["batch"] is None


def test_what_plans_and_what_falls_back() -> None:
    schema = build_schema()._schema
    for text, planned in [
        ("{ plants { ...F } } fragment F on Plant { id } fragment G on Room { code }", True),
        ("{ plants { ... @include(if: true) { id } } }", True),
        ("{ plants { ...F } } fragment F on Plant { id label }", False),  # not a field (invalid)
        ("{ plants { ...F } } fragment F on Plant @deprecated { id }", False),  # a directive on a fragment
        ("{ plants { id @deprecated } }", False),
        ("query($a: Boolean!, $b: Boolean!, $c: Boolean!, $d: Boolean!, $e: Boolean!) { plants { "
         "a: id @include(if: $a) b: id @include(if: $b) c: id @include(if: $c) d: id @include(if: $d) "
         "e: id @include(if: $e) } }", False),  # too many switches
        ("{ plants { id } viewer { username } }", False),
        ("{ __typename }", True),
        ("{ __schema { queryType { name } } plants { id } }", False),
        ("{ plants { id } sample(code: \"x\") { retainUntil } }", False),  # a field computed in Python
    ]:
        doc = parse(text)
        op = get_operation_ast(doc)
        assert op is not None
        assert (compiled.plan(schema, doc, op, CATALOG) is not None) == planned, text


def test_several_root_fields_are_one_frame() -> None:
    raw = compiled.RawFields("a", "[1]", more=(("b", '{"x":null}'), ("__typename", '"Query"')))
    assert json.loads(raw.body()) == {"data": {"a": [1], "b": {"x": None}, "__typename": "Query"}}
    assert json.loads(raw.frame("7")) == {"id": "7", "type": "next", "payload": json.loads(raw.body())}
